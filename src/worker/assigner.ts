/**
 * The assigner consumer: one arrived task → at most one live assignment.
 *
 * decode → (existing state? finish or acknowledge it) → task type → eligible agents (registry + capacity mirrors)
 * → chooseAgent on cached profiles → write-ahead `assigning` → reserve capacity (CAS) → publish the assignment
 * (Nats-Msg-Id `<taskId>.<attempt>`, awaited) → `assigned` → ack. No eligible agent: retry with backoff until
 * `unassignableAfterMs` after the task entered the stream, then publish vapora.tasks.unassignable.
 */
import type { JetStreamClient, JsMsg } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Outcome } from '../bus/outcome.js';
import { ack, backoffMs, deadLetter, retry } from '../bus/outcome.js';
import { Subjects } from '../bus/subjects.js';
import type {
  AgentDecision,
  Assignment,
  TaskArrived,
  TaskStateRecord,
  Unassignable,
} from '../domain/index.js';
import {
  TaskArrivedSchema,
  chooseAgent,
  decode,
  extractTaskType,
  findEligibleAgents,
  newTaskState,
  transition,
} from '../domain/index.js';
import type { CapacityService } from './capacity-service.js';
import type { WorkerMetrics } from './metrics.js';
import type { ProfileService } from './profile-service.js';
import type { Stores } from './stores.js';
import type { StoredTaskState, TaskStateService } from './task-state-service.js';

export interface AssignerDeps {
  js: JetStreamClient;
  stores: Stores;
  profiles: ProfileService;
  capacity: CapacityService;
  tasks: TaskStateService;
  metrics: WorkerMetrics;
  unassignableAfterMs: number;
  heartbeatTimeoutMs: number;
  useRecency: boolean;
  clock?: () => Date;
}

/** Longest pause between two looks for an eligible agent. */
const MAX_WAIT_RETRY_MS = 5_000;

export function createAssigner(deps: AssignerDeps) {
  const clock = deps.clock ?? (() => new Date());

  return async function handleTask(msg: JsMsg, parentLog: Logger): Promise<Outcome> {
    const decoded = decode(TaskArrivedSchema, msg.data);
    if (!decoded.ok) {
      deps.metrics.deadLetters.inc({ origin: 'assigner' });
      return deadLetter(`invalid task: ${decoded.reason}`);
    }
    const task = decoded.value;
    const log = parentLog.child({ taskId: task.taskId });
    const existing = await deps.tasks.get(task.taskId);
    if (existing && existing.record.status !== 'assigning') return finishExisting(existing.record, log);

    const now = clock();
    const taskType = task.taskType ?? extractTaskType(task.title, task.description);
    const registrations = [...deps.stores.agents.entries()].map(([, registration]) => registration);
    const { eligible, rejected } = findEligibleAgents({
      task,
      taskType,
      agents: registrations,
      inFlight: (agentId) => deps.capacity.inFlight(agentId),
      successRate: (agentId) => deps.profiles.overallSuccessRate(agentId),
      now,
      heartbeatTimeoutMs: deps.heartbeatTimeoutMs,
    });
    if (eligible.length === 0) return noEligibleAgent(msg, task, taskType, rejected, existing, log);

    const profiles = deps.profiles.profilesFor(
      eligible.map((agent) => agent.agentId),
      taskType,
      now,
    );
    const decision = chooseAgent(taskType, eligible, profiles, { useRecency: deps.useRecency, now })!;
    const chosen = eligible.find((agent) => agent.agentId === decision.agentId)!;

    // Write-ahead: claim the task for the chosen agent before touching capacity.
    let claimRevision: number | null;
    let claim: TaskStateRecord;
    if (existing) {
      if (existing.record.agentId && existing.record.agentId !== chosen.agentId) {
        await deps.capacity.release(existing.record.agentId, task.taskId);
      }
      claim = transition(existing.record, 'assigning', now, { agentId: chosen.agentId });
      claimRevision = await deps.tasks.write(claim, existing.revision);
    } else {
      claim = newTaskState(task.taskId, firstSeenAt(msg), now, chosen.agentId);
      claimRevision = await deps.tasks.write(claim);
    }
    if (claimRevision === null) return retry(100, 'another replica is assigning this task');

    const reserved = await deps.capacity.reserve(chosen.agentId, task.taskId, chosen.maxConcurrent, now);
    if (reserved === 'full') {
      log.debug({ agentId: chosen.agentId }, 'capacity taken by another replica; deciding again');
      return retry(50 + Math.random() * 200, `${chosen.agentId} became full`);
    }

    const assignment = buildAssignment(task, taskType, decision, deps.useRecency, claim.attempt, now);
    const h = headers();
    h.set('Vapora-Task-Id', task.taskId);
    await deps.js.publish(Subjects.assignment(chosen.agentId), JSON.stringify(assignment), {
      msgID: `${task.taskId}.${claim.attempt}`,
      headers: h,
    });
    const assigned = transition(claim, 'assigned', clock(), { assignment }, decision.mode);
    if ((await deps.tasks.write(assigned, claimRevision)) === null) {
      log.warn('task state moved while assigning; the assignment stands');
    }
    deps.metrics.assignments.inc({ mode: assignment.policy });
    log.info({ agentId: chosen.agentId, mode: decision.mode, score: assignment.score.final }, 'assigned');
    return ack();
  };

  async function finishExisting(record: TaskStateRecord, log: Logger): Promise<Outcome> {
    if (record.status === 'assigned' && record.assignment && record.agentId) {
      // A redelivery after a crash between publish and ack: publish again under the same id, which JetStream
      // deduplicates within the stream's duplicate window.
      await deps.js.publish(Subjects.assignment(record.agentId), JSON.stringify(record.assignment), {
        msgID: `${record.taskId}.${record.attempt}`,
      });
      log.debug({ status: record.status }, 'task already assigned');
    }
    return ack();
  }

  async function noEligibleAgent(
    msg: JsMsg,
    task: TaskArrived,
    taskType: string,
    rejected: { agentId: string; why: string }[],
    existing: StoredTaskState | null,
    log: Logger,
  ): Promise<Outcome> {
    const now = clock();
    const seen = firstSeenAt(msg);
    const why =
      rejected.length === 0
        ? 'no agent is registered'
        : `no eligible agent among ${rejected.length}: ${rejected
            .slice(0, 10)
            .map((r) => `${r.agentId} (${r.why})`)
            .join(', ')}`;
    if (now.getTime() - seen.getTime() < deps.unassignableAfterMs) {
      deps.metrics.retries.inc({ consumer: 'assigner' });
      return retry(Math.min(MAX_WAIT_RETRY_MS, backoffMs(msg.info.deliveryCount)), why);
    }
    if (existing?.record.agentId) await deps.capacity.release(existing.record.agentId, task.taskId);
    const event: Unassignable = {
      taskId: task.taskId,
      reason: `${why}; gave up after ${Math.round(deps.unassignableAfterMs / 1000)}s`,
      taskType,
      firstSeenAt: seen.toISOString(),
      givenUpAt: now.toISOString(),
      task,
    };
    await deps.js.publish(Subjects.tasksUnassignable, JSON.stringify(event), {
      msgID: `unassignable-${task.taskId}`,
    });
    const record: TaskStateRecord = existing
      ? transition(existing.record, 'unassignable', now, {}, event.reason)
      : {
          taskId: task.taskId,
          status: 'unassignable',
          attempt: 0,
          firstSeenAt: event.firstSeenAt,
          updatedAt: event.givenUpAt,
          history: [{ at: event.givenUpAt, status: 'unassignable', note: event.reason }],
        };
    await deps.tasks.write(record, existing?.revision);
    deps.metrics.unassignable.inc();
    log.warn({ reason: event.reason }, 'unassignable');
    return ack();
  }
}

/** When the task entered the stream: the same for every replica and every redelivery. */
function firstSeenAt(msg: JsMsg): Date {
  return new Date(Math.floor(msg.info.timestampNanos / 1e6));
}

function buildAssignment(
  task: TaskArrived,
  taskType: string,
  decision: AgentDecision,
  useRecency: boolean,
  attempt: number,
  now: Date,
): Assignment {
  const { chosen } = decision;
  return {
    taskId: task.taskId,
    agentId: decision.agentId,
    taskType,
    policy: decision.mode === 'load-fallback' ? 'load-fallback' : useRecency ? 'learned-recency' : 'learned',
    score: {
      base: chosen.baseScore,
      expertise: chosen.expertiseScore,
      confidence: chosen.confidence,
      final: chosen.finalScore,
    },
    ranking: decision.ranking.map(({ hasData: _hasData, ...score }) => score),
    reasoning: decision.reasoning,
    assignedAt: now.toISOString(),
    attempt,
    task,
  };
}
