/** Prometheus metrics of one worker replica (prom-client, own registry so tests can run several workers). */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface WorkerMetrics {
  registry: Registry;
  assignments: Counter<'policy' | 'mode'>;
  outcomes: Counter<'policy' | 'outcome'>;
  spendCents: Counter<'policy'>;
  decisionsUnlogged: Counter;
  results: Counter<'outcome'>;
  deadLetters: Counter<'origin'>;
  casRetries: Counter<'bucket'>;
  unassignable: Counter;
  reassignments: Counter;
  timeouts: Counter<'why'>;
  retries: Counter<'consumer'>;
  decisionSeconds: Histogram;
  ingestionSeconds: Histogram;
}

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export function createMetrics(options: { defaultMetrics?: boolean } = {}): WorkerMetrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'vapora_' });
  const registers = [registry];
  return {
    registry,
    assignments: new Counter({
      name: 'vapora_assignments_total',
      help: 'Assignments published, by decision policy and mode (learned, load-fallback).',
      labelNames: ['policy', 'mode'],
      registers,
    }),
    outcomes: new Counter({
      name: 'vapora_outcomes_total',
      help: 'Execution outcomes learned, by the policy that made the assignment and outcome (success, failure).',
      labelNames: ['policy', 'outcome'],
      registers,
    }),
    spendCents: new Counter({
      name: 'vapora_spend_cents_total',
      help: 'Cost reported by learned executions (cents), by the policy that made the assignment.',
      labelNames: ['policy'],
      registers,
    }),
    decisionsUnlogged: new Counter({
      name: 'vapora_decisions_unlogged_total',
      help: 'Assignments whose decision could not be written to kg_decisions (KG unavailable); replay skips them.',
      registers,
    }),
    results: new Counter({
      name: 'vapora_results_total',
      help: 'Execution results processed, by outcome (recorded, duplicate).',
      labelNames: ['outcome'],
      registers,
    }),
    deadLetters: new Counter({
      name: 'vapora_dead_letters_total',
      help: 'Messages sent to the dead-letter stream, by origin consumer.',
      labelNames: ['origin'],
      registers,
    }),
    casRetries: new Counter({
      name: 'vapora_cas_retries_total',
      help: 'KV compare-and-swap conflicts retried, by bucket.',
      labelNames: ['bucket'],
      registers,
    }),
    unassignable: new Counter({
      name: 'vapora_unassignable_total',
      help: 'Tasks given up as unassignable after the maximum wait.',
      registers,
    }),
    reassignments: new Counter({
      name: 'vapora_reassignments_total',
      help: 'Assignments made again after a timeout or a lost agent.',
      registers,
    }),
    timeouts: new Counter({
      name: 'vapora_assignment_timeouts_total',
      help: 'Assignments taken back, by why (timeout, agent-gone).',
      labelNames: ['why'],
      registers,
    }),
    retries: new Counter({
      name: 'vapora_retries_total',
      help: 'Messages handed back for a later retry, by consumer.',
      labelNames: ['consumer'],
      registers,
    }),
    decisionSeconds: new Histogram({
      name: 'vapora_decision_seconds',
      help: 'Task arrival handling time up to the acknowledged assignment publish.',
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    ingestionSeconds: new Histogram({
      name: 'vapora_ingestion_seconds',
      help: 'Execution result handling time: KG write, profile update, capacity release.',
      buckets: LATENCY_BUCKETS,
      registers,
    }),
  };
}
