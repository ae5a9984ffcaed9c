/**
 * Issue 2 benchmark: the cost of the incremental learning path must not depend on history length.
 * ns/op for applyExecution, reading expertise, and rankAgents over 50 candidates, with 1,000 and 100,000 prior
 * executions per (agent, task type). Goal: cost at 100,000 within 1.2× of the cost at 1,000.
 */
import type {
  AgentCandidate,
  ExecutionData,
  ExpertiseState,
  LearningProfile,
  PolicyCandidate,
  PolicyContext,
} from '../src/index.js';
import {
  applyExecution,
  createExpertiseState,
  createPolicy,
  createRandom,
  DEFAULT_POLICY,
  expertiseFromState,
  MS_PER_DAY,
  rankAgents,
} from '../src/index.js';
import { measureSync, printTable } from './harness.js';
import type { ResultRow } from './results.js';
import { goalCells, resultRow } from './results.js';

const NOW = new Date('2026-06-15T12:00:00.000Z');
const CANDIDATES = 50;

function historyState(prior: number, seed: string): ExpertiseState {
  let state = createExpertiseState('coding');
  // Spread the history over 60 days so the window, the day buckets and the dedupe memory are all full.
  const step = (60 * MS_PER_DAY) / prior;
  for (let i = 0; i < prior; i += 1) {
    state = applyExecution(state, {
      executionId: `${seed}-${i}`,
      success: i % 4 !== 0,
      durationMs: 500 + (i % 1000),
      finishedAt: new Date(NOW.getTime() - 60 * MS_PER_DAY + i * step).toISOString(),
    });
  }
  return state;
}

function freshExecutions(count: number): ExecutionData[] {
  return Array.from({ length: count }, (_, i) => ({
    executionId: `new-${i}`,
    success: i % 3 !== 0,
    durationMs: 700,
    finishedAt: new Date(NOW.getTime() - (i % 5000) * 1000).toISOString(),
  }));
}

interface Row {
  op: string;
  at1k: number;
  at100k: number;
}

const CORE_GOAL = '≤ 1.2';

/** The `core` section: the learning core at 1k and 100k prior executions, then the cost of a policy decision. */
export function runLearningCoreBench(): ResultRow[] {
  const fresh = freshExecutions(4096);
  const results = new Map<number, { apply: number; read: number; rank: number }>();
  for (const prior of [1_000, 100_000]) {
    const state = historyState(prior, `p${prior}`);
    const states = Array.from({ length: CANDIDATES }, (_, i) =>
      i === 0 ? state : historyState(1_000, `c${i}`),
    );
    const profiles = new Map<string, LearningProfile>(
      states.map((s, i) => [
        `agent-${i}`,
        { agentId: `agent-${i}`, expertise: { coding: expertiseFromState(s, NOW) } },
      ]),
    );
    const candidates: AgentCandidate[] = states.map((_, i) => ({
      agentId: `agent-${i}`,
      successRate: 0.7,
      load: (i % 5) / 5,
    }));
    const apply = measureSync('applyExecution', (i) => applyExecution(state, fresh[i % fresh.length]!), {
      batch: 20_000,
    });
    const read = measureSync('expertiseFromState', () => expertiseFromState(state, NOW), { batch: 20_000 });
    const rank = measureSync('rankAgents(50)', () => rankAgents(candidates, 'coding', profiles), {
      batch: 5_000,
    });
    results.set(prior, { apply: apply.nsPerOp, read: read.nsPerOp, rank: rank.nsPerOp });
  }
  const small = results.get(1_000)!;
  const large = results.get(100_000)!;
  const rows: Row[] = [
    { op: 'applyExecution', at1k: small.apply, at100k: large.apply },
    { op: 'read expertise (expertiseFromState)', at1k: small.read, at100k: large.read },
    { op: 'rankAgents, 50 candidates', at1k: small.rank, at100k: large.rank },
  ];
  const resultRows = rows.map((r) =>
    resultRow(
      'core',
      r.op,
      { 'ns/op @1,000': r.at1k, 'ns/op @100,000': r.at100k },
      r.at100k / r.at1k,
      CORE_GOAL,
    ),
  );
  printTable(
    `Learning core: ns/op by prior executions per (agent, task type) — goal: 100k/1k ${CORE_GOAL}`,
    ['operation', 'ns/op @1,000', 'ns/op @100,000', 'ratio', 'goal', ''],
    rows.map((r, i) => [
      r.op,
      r.at1k,
      r.at100k,
      (r.at100k / r.at1k).toFixed(3),
      ...goalCells(resultRows[i]!),
    ]),
  );
  return [...resultRows, ...runPolicyBench()];
}

/** 1,000 executions over 60 days with a success rate and a price of their own per (agent, type). */
function policyHistory(taskType: string, variant: number): ExpertiseState {
  let state = createExpertiseState(taskType);
  const step = (60 * MS_PER_DAY) / 1_000;
  const period = 3 + (variant % 5);
  for (let i = 0; i < 1_000; i += 1) {
    state = applyExecution(state, {
      executionId: `${taskType}-${variant}-${i}`,
      success: i % period !== 0,
      durationMs: 500 + (i % 1000),
      finishedAt: new Date(NOW.getTime() - 60 * MS_PER_DAY + i * step).toISOString(),
      costCents: 2 + (variant % 9),
    });
  }
  return state;
}

/**
 * Issue 9: the cost of one decision by each policy over 50 candidates whose profiles carry incremental states for
 * three task types (1,000 prior executions each), against the seed formula on the same candidates. Profiles are
 * reused between decisions, as the worker's profile cache reuses decoded states.
 */
export function runPolicyBench(): ResultRow[] {
  const types = ['coding', 'review', 'testing'];
  const profiles = new Map<string, LearningProfile>();
  for (let i = 0; i < CANDIDATES; i += 1) {
    const agentId = `agent-${i}`;
    const states = Object.fromEntries(types.map((t, k) => [t, policyHistory(t, i * 3 + k)]));
    const expertise = Object.fromEntries(types.map((t) => [t, expertiseFromState(states[t]!, NOW)]));
    profiles.set(agentId, { agentId, expertise, states });
  }
  const candidates: PolicyCandidate[] = Array.from({ length: CANDIDATES }, (_, i) => ({
    agentId: `agent-${i}`,
    successRate: 0.7,
    maxConcurrent: 5,
    inFlight: i % 5,
    load: (i % 5) / 5,
  }));
  const ctx: PolicyContext = { taskType: 'coding', candidates, profiles, now: NOW, random: createRandom(1) };
  const policies = [
    ['seed formula (policy seed)', createPolicy('seed')],
    [`policy.choose (${DEFAULT_POLICY})`, createPolicy(DEFAULT_POLICY)],
    ['policy.choose (cost-aware)', createPolicy('cost-aware', { budgetCentsPerTask: 5 })],
  ] as const;
  const measured = policies.map(([op, policy]) => ({
    op,
    // The worker records every decision's propensity, so the bench reads it too (it is computed on first read).
    ns: measureSync(op, () => policy.choose(ctx)?.propensity, { batch: 500 }).nsPerOp,
  }));
  const seedNs = measured[0]!.ns;
  // The project sets no bound on a policy's cost relative to the seed formula: the rows carry no goal.
  const rows = measured.map((m) => resultRow('core', m.op, { 'ns/op': m.ns }, m.ns / seedNs, null));
  printTable(
    'policy.choose, 50 candidates ÷ seed formula (profiles with states for 3 task types)',
    ['decision', 'ns/op', '÷ seed formula', 'goal'],
    rows.map((r) => [r.metric, r.values['ns/op']!, r.ratio!.toFixed(2), goalCells(r)[0]]),
  );
  return rows;
}
