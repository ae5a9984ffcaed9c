/**
 * The assigner consumer: one arrived task → one assignment, across replicas and crashes. A shell around the pure
 * lifecycle decider: decode → read → decide (arrive) → choose and reserve → decide (assign) → compare-and-swap →
 * publish → outcome.
 * - The task record decides which replica's assignment stands (KV create for attempt 1, compare-and-swap after).
 * - A redelivery after a crash resumes: it prefers the agent that already holds a reservation for the task, and
 *   when the record already exists it re-publishes that assignment under the same id (JetStream drops the copy).
 * - A task that was decided already (a duplicate, or a later replica losing the race) releases what it reserved.
 * - Every able agent full: wait in-process for a slot (bounded), then retry with backoff.
 * - No eligible agent: retry with backoff until `unassignableAfterMs` after the task entered the stream, then give
 *   up (give-up.ts).
 */
import type { JetStreamClient, JsMsg } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import type { HandlerSlot } from '../bus/consumer-loop.js';
import type { Outcome } from '../bus/outcome.js';
import { ack, backoffMs, deadLetter, retry } from '../bus/outcome.js';
import type { TaskArrived } from '../domain/index.js';
import { TaskArrivedSchema, decode, extractTaskType, isLive } from '../domain/index.js';
import { buildAssignment, publishAssignment } from './assignment-message.js';
import type { CapacityService } from './capacity-service.js';
import type { Choice } from './choose-and-reserve.js';
import { chooseAndReserve, confirmedEligibleFor } from './choose-and-reserve.js';
import { createGiveUp } from './give-up.js';
import type { KnowledgeGraph } from '../kg/knowledge-graph.js';
import type { WorkerMetrics } from './metrics.js';
import { recordDecision } from './decision-log.js';
import type { PolicyRouter } from './policy-router.js';
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
  /** AGENTS as a set, when configured: only these agents are offered tasks. */
  roster?: ReadonlySet<string> | undefined;
  policies: PolicyRouter;
  kg: KnowledgeGraph;
  clock?: () => Date;
}

export { RANKING_IN_ASSIGNMENT } from './assignment-message.js';

/** Header of a reassignment request (a task re-published by the reassigner): the attempt it asks for. */
export const REASSIGN_ATTEMPT_HEADER = 'Vapora-Attempt';

/**
 * A decision younger than this is re-published when met again: covers a redelivery after a crash (ack_wait is
 * 30 s) and stays inside JetStream's 2-minute duplicate window, where the copy is dropped.
 */
const REPUBLISH_WITHIN_MS = 90_000;

/** Longest pause between two looks for an agent with room. */
const MAX_WAIT_RETRY_MS = 5_000;

/** Longest a task waits in-process for a slot on a full fleet before it is handed back (it holds a handler). */
export const HOLD_FOR_ROOM_MS = 2_000;

export function createAssigner(deps: AssignerDeps) {
  const clock = deps.clock ?? (() => new Date());
  const { noEligibleAgent, abandon } = createGiveUp(deps, clock, (current, log) =>
    settleDecided(current, log),
  );

  return async function handleTask(msg: JsMsg, parentLog: Logger, slot?: HandlerSlot): Promise<Outcome> {
    const decoded = decode(TaskArrivedSchema, msg.data);
    if (!decoded.ok) return deadLetter(`invalid task: ${decoded.reason}`);
    const attempt = attemptOf(msg);
    const log = parentLog.child({ taskId: decoded.value.taskId, attempt });

    // Attempt 1 is decided against "no record yet" (the KV create checks it); a reassignment reads the record.
    const known = attempt > 1 ? await deps.tasks.get(decoded.value.taskId) : null;
    const arrived = await deps.tasks.execute(
      decoded.value.taskId,
      { type: 'arrive', attempt, at: clock() },
      known,
    );
    // A reassignment request is a claim anyone allowed to publish tasks could make: the task and its type come from
    // the worker's own record of attempt 1, never from the request's body.
    const recorded = known?.record.assignment;
    const task = recorded?.task ?? decoded.value;
    const taskType = recorded?.taskType ?? task.taskType ?? extractTaskType(task.title, task.description);
    if (!arrived.decision.ok) {
      const { rejection } = arrived.decision;
      if (rejection.code !== 'attempts-exhausted') return settleDecided(arrived.state, log);
      return abandon(msg, task, taskType, rejection.reason, arrived.state, log);
    }

    const found = await findRoom(msg, task, taskType, known, log, () => slot?.release());
    if (found.kind !== 'chosen') return found;
    const { choice, now } = found;

    const assignment = buildAssignment(task, taskType, choice.decision, attempt, now);
    const command =
      attempt === 1
        ? {
            type: 'assign' as const,
            assignment,
            firstSeenAt: firstSeenAt(msg),
            at: now,
            note: choice.decision.mode,
          }
        : { type: 'reassign' as const, assignment, at: now, note: choice.decision.mode };
    const written = await deps.tasks.execute(task.taskId, command, known);
    if (!written.decision.ok) {
      // Keep the reservation only if the record says this agent holds the task now (a redelivery of the decision
      // that wrote it, or another attempt's decision that picked the same agent and shares the reservation). A task
      // resent while its record is timed out, or a repeated request that decided on a stale record (the task has
      // moved on, even completed), reserved a slot nobody else would release.
      const current = written.state?.record;
      const ours = current !== undefined && isLive(current) && current.agentId === choice.agentId;
      if (!ours && choice.reserved === 'reserved') await deps.capacity.release(choice.agentId, task.taskId);
      return settleDecided(written.state, log);
    }
    await publishAssignment(deps.js, assignment);
    await recordDecision(deps, assignment, choice.candidates, log);
    deps.metrics.assignments.inc({ policy: assignment.policy, mode: choice.decision.mode });
    if (attempt > 1) deps.metrics.reassignments.inc();
    log.info({ agentId: choice.agentId, policy: assignment.policy, mode: choice.decision.mode }, 'assigned');
    return ack();
  };

  /**
   * Eligibility, then the policy's choice with its reservation. While every agent able to take the task is full,
   * the task waits here for a slot, woken by capacity changes, for at most HOLD_FOR_ROOM_MS: a backlog then drains
   * at the agents' pace instead of in waves of redeliveries. While it waits, its handler's slot serves other tasks
   * (`onPark`). After that it is handed back with backoff, or given up when no live agent could take it.
   */
  async function findRoom(
    msg: JsMsg,
    task: TaskArrived,
    taskType: string,
    known: StoredTaskState | null,
    log: Logger,
    onPark: () => void,
  ): Promise<{ kind: 'chosen'; choice: Choice; now: Date } | Outcome> {
    const holdUntil = Date.now() + HOLD_FOR_ROOM_MS;
    for (;;) {
      const now = clock();
      const eligibility = await confirmedEligibleFor(deps, {
        task,
        taskType,
        record: known?.record ?? null,
        now,
        redelivered: msg.info.deliveryCount > 1,
      });
      if (eligibility.eligible.length === 0 && eligibility.holder === undefined) {
        const full = eligibility.rejected.flatMap((r) =>
          r.busy && r.maxConcurrent !== undefined
            ? [{ agentId: r.agentId, maxConcurrent: r.maxConcurrent }]
            : [],
        );
        if (await deps.capacity.waitForRoom(full, holdUntil - Date.now(), onPark)) continue;
        return noEligibleAgent(msg, task, taskType, eligibility.rejected, known, log);
      }
      const timeoutMs = task.timeoutMs ?? deps.assignmentTimeoutMs;
      const choice = await chooseAndReserve(deps, {
        eligibility,
        taskId: task.taskId,
        taskType,
        now,
        timeoutMs,
        log,
      });
      if (choice) return { kind: 'chosen', choice, now };
      if (await deps.capacity.waitForRoom(eligibility.eligible, holdUntil - Date.now(), onPark)) continue;
      return retry(
        Math.min(MAX_WAIT_RETRY_MS, backoffMs(msg.info.deliveryCount, MAX_WAIT_RETRY_MS, 50)),
        'every candidate filled up',
      );
    }
  }

  /**
   * The task was decided elsewhere (or earlier): ack. If the decision is recent, the delivery that made it may have
   * crashed before publishing, so publish it again under the same id (JetStream drops the copy); an old decision
   * met again (a producer re-sending a task hours later) is not re-sent to the agent.
   */
  async function settleDecided(current: StoredTaskState | null, log: Logger): Promise<Outcome> {
    const record = current?.record;
    const recent =
      record !== undefined && clock().getTime() - Date.parse(record.updatedAt) < REPUBLISH_WITHIN_MS;
    const live = record !== undefined && isLive(record);
    if (recent && live && record.assignment) await publishAssignment(deps.js, record.assignment);
    log.debug({ status: record?.status }, 'task already decided');
    return ack();
  }
}

/** Which assignment of the task a message asks for: 1 for an arrival, n for a reassignment request. */
function attemptOf(msg: JsMsg): number {
  const header = Number(msg.headers?.get(REASSIGN_ATTEMPT_HEADER) ?? '1');
  return Number.isInteger(header) && header >= 1 ? header : 1;
}

/** When the task entered the stream: the same for every replica and every redelivery. */
export function firstSeenAt(msg: JsMsg): Date {
  return new Date(Math.floor(msg.info.timestampNanos / 1e6));
}
