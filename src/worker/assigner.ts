/**
 * The assigner consumer: one arrived task → one assignment, across replicas and crashes.
 *
 * decode → task type → eligible agents (registry and capacity mirrors) → chooseAgent on cached profiles →
 * reserve capacity (CAS) → create the task state `assigned` (KV create: exactly one writer wins) → publish the
 * assignment (Nats-Msg-Id `<taskId>.<attempt>`, awaited) → ack.
 * - A redelivery after a crash resumes: it prefers the agent that already holds a reservation for the task, and
 *   when the state already exists it re-publishes that assignment under the same id (JetStream drops the copy).
 * - A task that was decided already (a duplicate, or a later replica losing the race) releases what it reserved.
 * - No eligible agent: retry with backoff until `unassignableAfterMs` after the task entered the stream, then
 *   publish vapora.tasks.unassignable.
 */
import type { JetStreamClient, JsMsg } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Outcome } from '../bus/outcome.js';
import { ack, backoffMs, deadLetter, retry } from '../bus/outcome.js';
import { Subjects } from '../bus/subjects.js';
import type {
  AgentDecision,
  AgentRegistration,
  Assignment,
  EligibleAgent,
  TaskArrived,
  Unassignable,
} from '../domain/index.js';
import {
  TaskArrivedSchema,
  chooseAgent,
  decode,
  extractTaskType,
  findEligibleAgents,
  isLive,
  newTaskState,
  timedOutAgents,
  transition,
  unassignableTaskState,
} from '../domain/index.js';
import type { CapacityService, ReserveOutcome } from './capacity-service.js';
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
  assignmentTimeoutMs: number;
  heartbeatTimeoutMs: number;
  useRecency: boolean;
  clock?: () => Date;
}

/** How many ranked candidates an assignment carries. */
export const RANKING_IN_ASSIGNMENT = 10;

/** Header of a reassignment request (a task re-published by the reassigner): the attempt it asks for. */
export const REASSIGN_ATTEMPT_HEADER = 'Vapora-Attempt';

/**
 * A decision younger than this is re-published when met again: covers a redelivery after a crash (ack_wait is
 * 30 s) and stays inside JetStream's 2-minute duplicate window, where the copy is dropped.
 */
const REPUBLISH_WITHIN_MS = 90_000;

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
    const attempt = attemptOf(msg);
    const log = parentLog.child({ taskId: task.taskId, attempt });
    const now = clock();

    // A reassignment request (attempt > 1) continues the task's state: only from timed-out, at the next attempt.
    let previous: StoredTaskState | null = null;
    if (attempt > 1) {
      previous = await deps.tasks.get(task.taskId);
      if (!previous || previous.record.status !== 'timed-out' || previous.record.attempt !== attempt - 1) {
        return settleDecided(previous, log);
      }
    }

    const taskType = task.taskType ?? extractTaskType(task.title, task.description);
    const excluded = previous ? timedOutAgents(previous.record) : new Set<string>();
    const registrations = [...deps.stores.agents.entries()].map(([, registration]) => registration);
    const { eligible, rejected } = findEligibleAgents({
      task,
      taskType,
      agents: registrations,
      inFlight: (agentId) => deps.capacity.inFlight(agentId),
      successRate: (agentId) => deps.profiles.overallSuccessRate(agentId),
      now,
      heartbeatTimeoutMs: deps.heartbeatTimeoutMs,
      exclude: excluded,
    });

    // A redelivery may find its own reservation from an earlier, interrupted delivery: resume with that agent.
    const holder = msg.info.deliveryCount > 1 ? deps.capacity.holderOf(task.taskId, excluded) : undefined;
    const holderRegistration = holder ? registrations.find((r) => r.agentId === holder) : undefined;
    let candidates: EligibleAgent[] = holderRegistration ? [candidateOf(holderRegistration)] : eligible;
    if (candidates.length === 0) return noEligibleAgent(msg, task, taskType, rejected, previous, log);

    // Concurrent decisions (here and in other replicas) can fill the chosen agent first: decide again without it.
    const timeoutMs = task.timeoutMs ?? deps.assignmentTimeoutMs;
    let decision: AgentDecision | undefined;
    let chosen: EligibleAgent | undefined;
    let reserved: ReserveOutcome = 'full';
    while (candidates.length > 0) {
      const ids = candidates.map((agent) => agent.agentId);
      decision = chooseAgent(taskType, candidates, deps.profiles.profilesFor(ids, taskType), {
        useRecency: deps.useRecency,
        now,
      })!;
      const pick = candidates.find((agent) => agent.agentId === decision!.agentId)!;
      chosen = pick;
      reserved = await deps.capacity.reserve(pick.agentId, task.taskId, pick.maxConcurrent, now, timeoutMs);
      if (reserved !== 'full') break;
      log.debug({ agentId: pick.agentId }, 'agent filled up meanwhile; deciding again without it');
      candidates = candidates.filter((agent) => agent.agentId !== pick.agentId);
    }
    if (reserved === 'full' || !decision || !chosen) {
      deps.metrics.retries.inc({ consumer: 'assigner' });
      return retry(
        Math.min(MAX_WAIT_RETRY_MS, backoffMs(msg.info.deliveryCount, MAX_WAIT_RETRY_MS, 50)),
        'every candidate filled up',
      );
    }

    const assignment = buildAssignment(task, taskType, decision, deps.useRecency, attempt, now);
    // The task state decides which assignment stands: create (first attempt) or compare-and-swap (reassignment).
    const written = previous
      ? await deps.tasks.write(
          transition(
            previous.record,
            'reassigned',
            now,
            { agentId: chosen.agentId, attempt, assignment },
            decision.mode,
          ),
          previous.revision,
        )
      : await deps.tasks.write(newTaskState(firstSeenAt(msg), now, assignment, decision.mode));
    if (written === null) {
      const current = await deps.tasks.get(task.taskId);
      const ours = current !== null && isLive(current.record) && current.record.agentId === chosen.agentId;
      if (!ours && reserved === 'reserved') await deps.capacity.release(chosen.agentId, task.taskId);
      return settleDecided(current, log);
    }
    await publishAssignment(assignment);
    deps.metrics.assignments.inc({ mode: assignment.policy });
    if (attempt > 1) deps.metrics.reassignments.inc();
    log.info({ agentId: chosen.agentId, mode: decision.mode, score: assignment.score.final }, 'assigned');
    return ack();
  };

  /**
   * The task was decided elsewhere (or earlier): ack. If the decision is recent, the delivery that made it may have
   * crashed before publishing, so publish it again under the same id (JetStream drops the copy); an old decision
   * met again (a producer re-sending a task hours later) is not re-sent to the agent.
   */
  async function settleDecided(current: StoredTaskState | null, log: Logger): Promise<Outcome> {
    const recent =
      current !== null && clock().getTime() - Date.parse(current.record.updatedAt) < REPUBLISH_WITHIN_MS;
    if (current && recent && isLive(current.record) && current.record.assignment) {
      await publishAssignment(current.record.assignment);
    }
    log.debug({ status: current?.record.status }, 'task already decided');
    return ack();
  }

  function candidateOf(registration: AgentRegistration): EligibleAgent {
    const inFlight = deps.capacity.inFlight(registration.agentId);
    return {
      agentId: registration.agentId,
      successRate: deps.profiles.overallSuccessRate(registration.agentId),
      load: Math.min(1, inFlight / registration.maxConcurrent),
      maxConcurrent: registration.maxConcurrent,
      inFlight,
    };
  }

  async function publishAssignment(assignment: Assignment): Promise<void> {
    const h = headers();
    h.set('Vapora-Task-Id', assignment.taskId);
    await deps.js.publish(Subjects.assignment(assignment.agentId), JSON.stringify(assignment), {
      msgID: `${assignment.taskId}.${assignment.attempt}`,
      headers: h,
    });
  }

  async function noEligibleAgent(
    msg: JsMsg,
    task: TaskArrived,
    taskType: string,
    rejected: { agentId: string; why: string }[],
    previous: StoredTaskState | null,
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
    const current = previous ?? (await deps.tasks.get(task.taskId));
    if (current && current.record.status !== 'timed-out') return settleDecided(current, log); // decided meanwhile
    const event: Unassignable = {
      taskId: task.taskId,
      reason: `${why}; gave up after ${Math.round(deps.unassignableAfterMs / 1000)}s`,
      taskType,
      firstSeenAt: seen.toISOString(),
      givenUpAt: now.toISOString(),
      task,
    };
    // Event first, state second: a failed publish is retried by the redelivery, which still sees no final state.
    await deps.js.publish(Subjects.tasksUnassignable, JSON.stringify(event), {
      msgID: `unassignable-${task.taskId}`,
    });
    const record = current
      ? transition(current.record, 'unassignable', now, {}, event.reason)
      : unassignableTaskState(task.taskId, seen, now, event.reason);
    if ((await deps.tasks.write(record, current?.revision)) === null) return retry(100, 'task state moved');
    deps.metrics.unassignable.inc();
    log.warn({ reason: event.reason }, 'unassignable');
    return ack();
  }
}

/** Which assignment of the task a message asks for: 1 for an arrival, n for a reassignment request. */
function attemptOf(msg: JsMsg): number {
  const header = Number(msg.headers?.get(REASSIGN_ATTEMPT_HEADER) ?? '1');
  return Number.isInteger(header) && header >= 1 ? header : 1;
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
    // The top of the ranking explains the decision; all of it would make every assignment grow with the fleet.
    ranking: decision.ranking.slice(0, RANKING_IN_ASSIGNMENT).map(({ hasData: _hasData, ...score }) => score),
    reasoning: decision.reasoning,
    assignedAt: now.toISOString(),
    attempt,
    task,
  };
}
