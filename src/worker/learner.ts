/**
 * The learner consumer: one execution result → recorded once in the KG, counted once in its profile.
 *
 * decode → subject/payload agentId must agree (else dead-letter: an agent must not report as another)
 * → KG recordExecution (idempotent by executionId) → profile CAS update unless the KG says it already reached
 * the cache → mark it applied in the KG (batched) → release the capacity reservation → task completed → ack.
 * A KG or KV failure is retried with backoff; the message is never acknowledged before all of that holds.
 */
import type { JsMsg } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import type { KnowledgeGraph } from '../kg/knowledge-graph.js';
import type { Outcome } from '../bus/outcome.js';
import { ack, backoffMs, deadLetter, retry } from '../bus/outcome.js';
import { agentIdOfResultSubject } from '../bus/subjects.js';
import type { ExecutionResult } from '../domain/index.js';
import { ExecutionResultSchema, decode, isLive, transition } from '../domain/index.js';
import type { AppliedMarks } from './applied-marks.js';
import type { CapacityService } from './capacity-service.js';
import type { WorkerMetrics } from './metrics.js';
import type { ProfileService } from './profile-service.js';
import type { TaskStateService } from './task-state-service.js';

/** Test-only hooks to inject crashes at the critical points; never set from configuration. */
export interface LearnerFaults {
  afterKgWrite?: (execution: ExecutionResult) => void | Promise<void>;
}

export interface LearnerDeps {
  kg: KnowledgeGraph;
  marks: AppliedMarks;
  profiles: ProfileService;
  capacity: CapacityService;
  tasks: TaskStateService;
  metrics: WorkerMetrics;
  clock?: () => Date;
  faults?: LearnerFaults;
}

/** After this many failed deliveries of a well-formed result, an unexpected error sends it to the DLQ. */
export const MAX_UNEXPECTED_FAILURES = 10;

export function createLearner(deps: LearnerDeps) {
  const clock = deps.clock ?? (() => new Date());

  return async function handleResult(msg: JsMsg, parentLog: Logger): Promise<Outcome> {
    const decoded = decode(ExecutionResultSchema, msg.data);
    if (!decoded.ok) {
      deps.metrics.deadLetters.inc({ origin: 'learner' });
      return deadLetter(`invalid execution result: ${decoded.reason}`);
    }
    const execution = decoded.value;
    const subjectAgent = agentIdOfResultSubject(msg.subject);
    if (subjectAgent !== execution.agentId) {
      deps.metrics.deadLetters.inc({ origin: 'learner' });
      return deadLetter(
        `agentId mismatch: payload says ${JSON.stringify(execution.agentId)} but it was published on ${msg.subject}`,
      );
    }
    const log = parentLog.child({
      executionId: execution.executionId,
      taskId: execution.taskId,
      agentId: execution.agentId,
    });
    try {
      const recorded = await deps.kg.recordExecution(execution);
      await deps.faults?.afterKgWrite?.(execution);
      const alreadyApplied =
        recorded === 'existed' && (await deps.kg.isProfileApplied(execution.executionId));
      if (!alreadyApplied) {
        await deps.profiles.apply(execution, clock());
        deps.marks.add(execution.executionId);
      }
      await settleTask(execution);
      deps.metrics.results.inc({ outcome: alreadyApplied ? 'duplicate' : 'recorded' });
      log.debug({ recorded, success: execution.success }, 'result processed');
      return ack();
    } catch (err) {
      const attempts = msg.info.deliveryCount;
      const message = err instanceof Error ? err.message : String(err);
      deps.metrics.retries.inc({ consumer: 'learner' });
      if (isUnexpected(err) && attempts >= MAX_UNEXPECTED_FAILURES) {
        deps.metrics.deadLetters.inc({ origin: 'learner' });
        return deadLetter(`processing failed ${attempts} times`, message);
      }
      log.warn({ err: message, attempts }, 'result not processed yet; will retry');
      return retry(backoffMs(attempts), message);
    }
  };

  /**
   * Releases the agent's slot and completes the task if this agent holds it live. A task timed out on this agent
   * keeps its reservation: it is the reassigner's marker of unfinished work, which it releases itself.
   */
  async function settleTask(execution: ExecutionResult): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const stored = await deps.tasks.get(execution.taskId);
      const mine = stored !== null && stored.record.agentId === execution.agentId;
      if (mine && stored.record.status === 'timed-out') return;
      await deps.capacity.release(execution.agentId, execution.taskId);
      // Only the agent that holds the task live completes it: a late result from a timed-out agent does not.
      if (!mine || !isLive(stored.record)) return;
      const next = transition(
        stored.record,
        'completed',
        clock(),
        {},
        execution.success ? 'succeeded' : 'failed',
      );
      if ((await deps.tasks.write(next, stored.revision)) !== null) return;
    }
  }
}

/** Outages (KG down, NATS reconnecting, timeouts) are expected and retried forever; anything else is a bug. */
function isUnexpected(err: unknown): boolean {
  if (!(err instanceof Error)) return true;
  const name = `${err.name} ${(err as { code?: unknown }).code ?? ''} ${err.message}`;
  return !/KG_UNAVAILABLE|KgUnavailable|timeout|TimeoutError|disconnect|closed|connection|503|no responders/i.test(
    name,
  );
}
