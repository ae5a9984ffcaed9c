/**
 * The learner consumer: one execution result → checked against the worker's own task record → recorded once in
 * the KG and counted once in its profile. A shell around the lifecycle decider and the evidence rules:
 * decode → who sent it (subject) must be who it names → read the task record → decide `accept-result`
 * (only the agent that held that attempt; else dead-letter `unassigned result`) → bound the claim into evidence
 * (src/domain/evidence.ts) → KG recordExecution (idempotent by the evidence key) → profile CAS update unless the KG
 * says it already reached the cache → mark it applied (batched) → release the reservation → decide `complete` → ack.
 * Errors are not caught here: the consumer loop retries outages forever and dead-letters other errors after a
 * bounded number of deliveries, by error code.
 */
import type { JsMsg } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import type { KnowledgeGraph } from '../kg/knowledge-graph.js';
import type { Outcome } from '../bus/outcome.js';
import { ack, deadLetter } from '../bus/outcome.js';
import { agentIdOfResultSubject, agentIdOfTimeoutSubject } from '../bus/subjects.js';
import type { ExecutionRecord, ExecutionResult, TaskStateRecord } from '../domain/index.js';
import { ExecutionResultSchema, decode, holderOf, latestAttemptOf, toEvidence } from '../domain/index.js';
import type { AppliedMarks } from './applied-marks.js';
import type { CapacityService } from './capacity-service.js';
import type { WorkerMetrics } from './metrics.js';
import type { ProfileService } from './profile-service.js';
import type { StoredTaskState, TaskStateService } from './task-state-service.js';

export interface LearnerDeps {
  kg: KnowledgeGraph;
  marks: AppliedMarks;
  profiles: ProfileService;
  capacity: CapacityService;
  tasks: TaskStateService;
  metrics: WorkerMetrics;
  clock?: () => Date;
}

/** The dead-letter reason of a result that is not evidence of an assignment its agent held. */
export const UNASSIGNED_RESULT = 'unassigned result';

export function createLearner(deps: LearnerDeps) {
  const clock = deps.clock ?? (() => new Date());

  return async function handleResult(msg: JsMsg, parentLog: Logger): Promise<Outcome> {
    const decoded = decode(ExecutionResultSchema, msg.data);
    if (!decoded.ok) return deadLetter(`invalid execution result: ${decoded.reason}`);
    const result = decoded.value;
    const timeout = agentIdOfTimeoutSubject(msg.subject) !== null;
    const sender = agentIdOfTimeoutSubject(msg.subject) ?? agentIdOfResultSubject(msg.subject);
    if (sender !== result.agentId) {
      return deadLetter(
        `agentId mismatch: payload says ${JSON.stringify(result.agentId)} but it was published on ${msg.subject}`,
      );
    }
    const log = parentLog.child({
      executionId: result.executionId,
      taskId: result.taskId,
      agentId: result.agentId,
    });
    const now = clock();
    const receivedAt = new Date(Math.floor(msg.info.timestampNanos / 1e6));
    const stored = await deps.tasks.get(result.taskId);
    const attempt =
      result.attempt ?? (stored ? latestAttemptOf(stored.record, result.agentId) : undefined) ?? 0;
    const command = {
      type: 'accept-result' as const,
      agentId: result.agentId,
      attempt,
      receivedAt,
      timeout,
      at: now,
    };
    const { decision } = await deps.tasks.execute(result.taskId, command, stored);
    if (!decision.ok) {
      deps.metrics.results.inc({
        outcome: decision.rejection.code === 'superseded' ? 'superseded' : 'rejected',
      });
      if (decision.rejection.code === 'superseded') {
        log.info(
          { reason: decision.rejection.reason },
          'late result not counted: the timeout is the outcome',
        );
        return ack();
      }
      return deadLetter(UNASSIGNED_RESULT, decision.rejection.reason);
    }
    const evidence = evidenceOf(result, stored!.record, attempt, receivedAt, now);
    const learned = await learn(evidence);
    if (learned) countOutcome(deps.metrics, stored!.record, learned);
    await settleTask(result, stored!, attempt, now);
    deps.metrics.results.inc({ outcome: learned ? 'recorded' : 'duplicate' });
    log.debug(
      { success: (learned ?? evidence).success, attempt },
      learned ? 'result learned' : 'duplicate result',
    );
    return ack();
  };

  /**
   * Records the evidence and counts it in the profile once. Returns what was counted, or undefined when both had
   * happened already. When the KG already holds this key, the first write won there, and the profile counts that
   * one too: two deliveries with the same key (a result and the timeout of its attempt, say) racing here then
   * agree, so the profile always equals its rebuild from the KG.
   */
  async function learn(evidence: ExecutionRecord): Promise<ExecutionRecord | undefined> {
    const recorded = await deps.kg.recordExecution(evidence);
    let counted = evidence;
    if (recorded === 'existed') {
      if (await deps.kg.isProfileApplied(evidence.executionId)) return undefined;
      counted = (await deps.kg.getExecution(evidence.executionId)) ?? evidence;
    }
    // A key the KG held already may be in the profile already, beyond what the profile's state remembers.
    const applied =
      recorded === 'existed'
        ? await deps.profiles.applyRedelivered(counted, clock())
        : await deps.profiles.apply(counted, clock());
    deps.marks.add(evidence.executionId);
    // New to the KG, or new to the profile (a redelivery after a crash between the two): counted here. A repeat
    // that both had already (its mark not yet written) is a duplicate, in the metrics too.
    return recorded === 'created' || applied ? counted : undefined;
  }

  /**
   * Releases the agent's slot and completes the task if this agent holds it live. A task timed out on this agent
   * keeps its reservation: it is the reassigner's marker of unfinished work, which it releases itself.
   */
  async function settleTask(result: ExecutionResult, stored: StoredTaskState, attempt: number, now: Date) {
    const { record } = stored;
    if (record.status === 'timed-out' && record.attempt === attempt) return;
    await deps.capacity.release(result.agentId, result.taskId);
    const command = {
      type: 'complete' as const,
      agentId: result.agentId,
      attempt,
      success: result.success,
      at: now,
    };
    await deps.tasks.execute(result.taskId, command, stored);
  }
}

/** Per-policy outcome and spend, for A/B dashboards; the policy is the one of the assignment the agent held. */
function countOutcome(metrics: WorkerMetrics, record: TaskStateRecord, evidence: ExecutionRecord): void {
  // Policy is sticky per task, so the record's latest assignment names the policy of every attempt.
  const policy = record.assignment?.policy ?? 'unknown';
  metrics.outcomes.inc({ policy, outcome: evidence.success ? 'success' : 'failure' });
  if (evidence.costCents !== undefined && evidence.costCents > 0)
    metrics.spendCents.inc({ policy }, evidence.costCents);
}

function evidenceOf(
  result: ExecutionResult,
  record: TaskStateRecord,
  attempt: number,
  receivedAt: Date,
  now: Date,
): ExecutionRecord {
  const holder = holderOf(record, attempt)!;
  // Every attempt of a task has the task type the assigner decided for it.
  const taskType = record.assignment?.taskType ?? result.taskType;
  return toEvidence(result, { attempt, taskType, assignedAt: holder.assignedAt }, receivedAt, now);
}
