/**
 * The learner consumer: one execution result → recorded once in the KG, counted once in its profile. A shell
 * around the lifecycle decider:
 * decode → subject/payload agentId must agree (else dead-letter: an agent must not report as another)
 * → KG recordExecution (idempotent by executionId) → profile CAS update unless the KG says it already reached
 * the cache → mark it applied in the KG (batched) → release the capacity reservation → decide `complete` on the
 * task record and write it → ack.
 * Errors are not caught here: the consumer loop retries outages forever and dead-letters other errors after a
 * bounded number of deliveries, by error code.
 */
import type { JsMsg } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import type { KnowledgeGraph } from '../kg/knowledge-graph.js';
import type { Outcome } from '../bus/outcome.js';
import { ack, deadLetter } from '../bus/outcome.js';
import { agentIdOfResultSubject } from '../bus/subjects.js';
import type { ExecutionResult } from '../domain/index.js';
import { ExecutionResultSchema, decode, holderOf } from '../domain/index.js';
import type { AppliedMarks } from './applied-marks.js';
import type { CapacityService } from './capacity-service.js';
import type { WorkerMetrics } from './metrics.js';
import type { ProfileService } from './profile-service.js';
import type { TaskStateService } from './task-state-service.js';

export interface LearnerDeps {
  kg: KnowledgeGraph;
  marks: AppliedMarks;
  profiles: ProfileService;
  capacity: CapacityService;
  tasks: TaskStateService;
  metrics: WorkerMetrics;
  clock?: () => Date;
}

export function createLearner(deps: LearnerDeps) {
  const clock = deps.clock ?? (() => new Date());

  return async function handleResult(msg: JsMsg, parentLog: Logger): Promise<Outcome> {
    const decoded = decode(ExecutionResultSchema, msg.data);
    if (!decoded.ok) return deadLetter(`invalid execution result: ${decoded.reason}`);
    const execution = decoded.value;
    const subjectAgent = agentIdOfResultSubject(msg.subject);
    if (subjectAgent !== execution.agentId) {
      return deadLetter(
        `agentId mismatch: payload says ${JSON.stringify(execution.agentId)} but it was published on ${msg.subject}`,
      );
    }
    const log = parentLog.child({
      executionId: execution.executionId,
      taskId: execution.taskId,
      agentId: execution.agentId,
    });
    const recorded = await deps.kg.recordExecution(execution);
    const alreadyApplied = recorded === 'existed' && (await deps.kg.isProfileApplied(execution.executionId));
    if (!alreadyApplied) {
      await deps.profiles.apply(execution, clock());
      deps.marks.add(execution.executionId);
    }
    await settleTask(execution);
    deps.metrics.results.inc({ outcome: alreadyApplied ? 'duplicate' : 'recorded' });
    log.debug({ recorded, success: execution.success }, 'result processed');
    return ack();
  };

  /**
   * Releases the agent's slot and completes the task if this agent holds it live. A task timed out on this agent
   * keeps its reservation: it is the reassigner's marker of unfinished work, which it releases itself.
   */
  async function settleTask(execution: ExecutionResult): Promise<void> {
    const stored = await deps.tasks.get(execution.taskId);
    const record = stored?.record;
    const attempt = execution.attempt ?? record?.attempt ?? 0;
    const held = record !== undefined && holderOf(record, attempt)?.agentId === execution.agentId;
    if (held && record.status === 'timed-out' && record.attempt === attempt) return;
    await deps.capacity.release(execution.agentId, execution.taskId);
    if (!held) return;
    const command = {
      type: 'complete' as const,
      agentId: execution.agentId,
      attempt,
      success: execution.success,
      at: clock(),
    };
    await deps.tasks.execute(execution.taskId, command, stored);
  }
}
