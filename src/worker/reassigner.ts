/**
 * Takes back assignments whose result did not arrive in time, or whose agent is gone, and asks for a new one.
 * Every replica sweeps its capacity mirror; exactly one wins the compare-and-swap that moves the task state to
 * `timed-out`, and every step after it may be repeated (one reassign per attempt, evidence keys), so a crash
 * midway is finished by the next sweep. The reassignment itself is a message: the task re-published on
 * vapora.tasks.arrived with `Vapora-Attempt: n+1`, which the assigner handles like an arrival but never gives to an
 * agent it timed out on.
 * A late result from the first agent is still recorded; it cannot release capacity twice (reservations are per
 * task and agent) or trigger a second reassignment (the task state has moved on).
 */
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { Subjects } from '../bus/subjects.js';
import type { ExecutionResult, Reservation, TaskStateRecord } from '../domain/index.js';
import { expiredReservations, holderOf, isLive } from '../domain/index.js';
import { REASSIGN_ATTEMPT_HEADER } from './assigner.js';
import type { CapacityService } from './capacity-service.js';
import { DeliveryCheck } from './delivery-check.js';
import type { WorkerMetrics } from './metrics.js';
import type { Stores } from './stores.js';
import type { TaskStateService } from './task-state-service.js';

export interface ReassignerDeps {
  js: JetStreamClient;
  stores: Stores;
  capacity: CapacityService;
  tasks: TaskStateService;
  metrics: WorkerMetrics;
  log: Logger;
  heartbeatTimeoutMs: number;
  timeoutCountsAsFailure: boolean;
  intervalMs: number;
  /** Epoch ms of the last NATS reconnect (0 if none): agents could not heartbeat while this replica was cut off. */
  lastReconnectAt?: () => number;
  /** Whether the registry mirror is current (read since the last disconnect): agents are judged only then. */
  registryCurrent?: () => boolean;
  /** Asks the server whether assignments were delivered; absent: every assignment counts as delivered. */
  jsm?: JetStreamManager;
  clock?: () => Date;
}

/** A reservation this old is compared with its task (delivery, leftovers), at most this often. */
const DELIVERY_CHECK_AFTER_MS = 1_000;
const DELIVERY_CHECK_EVERY_MS = 5_000;

/** A reservation with no task state is an assigner mid-decision; only this old is it an orphan of a crash. */
const ORPHAN_AFTER_MS = 60_000;
/** Do not call an agent gone on a reservation younger than this: another replica's mirror may be a bit behind. */
const AGENT_GONE_GRACE_MS = 5_000;

export const SYNTHETIC_HEADER = 'Vapora-Synthetic';

export class Reassigner {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly clock: () => Date;
  private readonly delivery: DeliveryCheck | undefined;
  /** `<taskId>.<agentId>` → when this replica last compared that reservation with its task. */
  private readonly checked = new Map<string, number>();

  constructor(private readonly deps: ReassignerDeps) {
    this.clock = deps.clock ?? (() => new Date());
    this.delivery = deps.jsm ? new DeliveryCheck({ js: deps.js, jsm: deps.jsm, log: deps.log }) : undefined;
  }

  start(): void {
    const tick = () => {
      if (this.stopped) return;
      this.running = this.sweep()
        .catch((err: unknown) => this.deps.log.warn({ err }, 'reassignment sweep failed; will try again'))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.deps.intervalMs);
        });
    };
    this.timer = setTimeout(tick, this.deps.intervalMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One pass over every reservation this replica can see. */
  async sweep(): Promise<void> {
    const now = this.clock();
    // Right after an outage every heartbeat looks old: give agents a full heartbeat timeout to report again. And
    // a registry mirror that is behind (cut off, resynchronising) cannot tell a live agent from a gone one.
    const judgeAgents =
      now.getTime() - (this.deps.lastReconnectAt?.() ?? 0) > this.deps.heartbeatTimeoutMs &&
      (this.deps.registryCurrent?.() ?? true);
    const held = new Set<string>();
    for (const [agentId, record] of [...this.deps.stores.capacity.entries()]) {
      const alive = !judgeAgents || (await this.isAlive(agentId, now));
      for (const taskId of Object.keys(record.inFlight)) held.add(taskId);
      const expired = expiredReservations(record, now, alive);
      for (const { taskId, reservation, why } of expired) {
        if (this.stopped) return;
        const age = now.getTime() - Date.parse(reservation.at);
        if (why === 'agent-gone' && age < AGENT_GONE_GRACE_MS) continue;
        await this.takeBack(agentId, taskId, why, reservation, now);
      }
      const taken = new Set(expired.map((e) => e.taskId));
      for (const [taskId, reservation] of Object.entries(record.inFlight)) {
        if (this.stopped) return;
        if (taken.has(taskId)) continue;
        await this.audit(agentId, taskId, reservation, now).catch((err: unknown) =>
          this.deps.log.warn({ err, agentId, taskId }, 'reservation check failed; will try again'),
        );
      }
    }
    this.delivery?.retain(held);
    for (const id of this.checked.keys()) {
      if (!held.has(id.slice(0, id.lastIndexOf('.')))) this.checked.delete(id);
    }
  }

  /**
   * Alive per the registry mirror; a verdict of "gone" is confirmed against the bucket first (the mirror may be
   * behind it), by the worker's receive time of the last heartbeat, never the agent's clock.
   */
  private async isAlive(agentId: string, now: Date): Promise<boolean> {
    const fresh = (registration: { heartbeatAt: string } | undefined) =>
      registration !== undefined &&
      now.getTime() - Date.parse(registration.heartbeatAt) <= this.deps.heartbeatTimeoutMs;
    if (fresh(this.deps.stores.agents.get(agentId))) return true;
    return fresh(await this.deps.stores.agents.refresh(agentId));
  }

  /**
   * Before the deadline, every reservation is compared with its task, at most every few seconds:
   * - a task that is over (completed, given up) frees a reservation left behind — one a server that lost its last
   *   writes brought back, say — which would otherwise make an idle agent look full until the deadline;
   * - so does a task that is live with another agent (a decision that lost the write of the record, or crashed);
   * - an assignment the agent has not received is checked on the server (which also re-sends it if it was lost);
   *   once delivered, the task record says so, and only then can a timeout be charged.
   */
  private async audit(agentId: string, taskId: string, reservation: Reservation, now: Date): Promise<void> {
    if (now.getTime() - Date.parse(reservation.at) < DELIVERY_CHECK_AFTER_MS) return;
    const key = `${taskId}.${agentId}`;
    const last = this.checked.get(key);
    if (last !== undefined && now.getTime() - last < DELIVERY_CHECK_EVERY_MS) return;
    this.checked.set(key, now.getTime());
    const stored = await this.deps.tasks.get(taskId);
    const record = stored?.record;
    if (!stored || !record) return;
    if (record.status === 'completed' || record.status === 'unassignable') {
      if (await this.deps.capacity.release(agentId, taskId)) {
        this.deps.log.warn({ agentId, taskId, status: record.status }, 'released a leftover reservation');
      }
      return;
    }
    const live = isLive(record);
    if (live && record.agentId !== agentId) {
      // The task is live with another agent: this is the reservation of a decision that lost the write of the
      // record (or crashed before it). Nobody else would release it before its deadline.
      if (await this.deps.capacity.release(agentId, taskId)) {
        this.deps.log.warn({ agentId, taskId, holder: record.agentId }, 'released a leftover reservation');
      }
      return;
    }
    if (!this.delivery || !live || !record.assignment) return;
    if (holderOf(record, record.attempt)?.deliveredAt !== undefined) return;
    if ((await this.delivery.check(record.assignment, now)) !== 'delivered') return;
    await this.deps.tasks.execute(taskId, { type: 'deliver', attempt: record.attempt, at: now }, stored);
  }

  /** Whether the attempt's assignment reached its agent: recorded, or confirmed by the server now. */
  private async wasDelivered(record: TaskStateRecord): Promise<boolean> {
    if (!this.delivery || !record.assignment) return true;
    if (holderOf(record, record.attempt)?.deliveredAt !== undefined) return true;
    // An error (an outage) fails this take-back: the next sweep asks again rather than charging on a guess.
    return (await this.delivery.check(record.assignment, this.clock())) === 'delivered';
  }

  private async takeBack(
    agentId: string,
    taskId: string,
    why: 'timeout' | 'agent-gone',
    reservation: Reservation,
    now: Date,
  ): Promise<void> {
    const { tasks, capacity, log } = this.deps;
    const stored = await tasks.get(taskId);
    if (!stored) {
      if (now.getTime() - Date.parse(reservation.at) >= ORPHAN_AFTER_MS) {
        log.warn({ agentId, taskId }, 'releasing an orphaned reservation (no task state)');
        await capacity.release(agentId, taskId);
      }
      return;
    }
    const attempt = stored.record.attempt;
    const countsAsFailure = this.deps.timeoutCountsAsFailure;
    // No penalty without delivery: an assignment the agent never received is taken back uncharged.
    const live = isLive(stored.record);
    const delivered = !live || stored.record.agentId !== agentId || (await this.wasDelivered(stored.record));
    const reason = delivered ? why : ('undelivered' as const);
    const command = { type: 'time-out' as const, agentId, attempt, why: reason, countsAsFailure, at: now };
    const { decision, state } = await tasks.execute(taskId, command, stored);
    if (!decision.ok || !state) {
      // The task moved on (completed, reassigned elsewhere): this reservation is a leftover.
      await capacity.release(agentId, taskId);
      return;
    }
    if (decision.events.length > 0) {
      this.deps.metrics.timeouts.inc({ why: reason });
      log.warn({ agentId, taskId, attempt, why: reason }, 'assignment taken back; requesting reassignment');
    }
    // Every step from here may be repeated (one reassign per attempt, evidence keys), so a crash midway is finished
    // by the next sweep.
    await this.requestReassignment(state.record);
    if (holderOf(state.record, attempt)?.charged === true) {
      await this.reportTimeout(state.record, agentId, reservation, now);
    }
    // Released here, not left to the learner: the next sweep must not see it and publish the requests again
    // after JetStream's duplicate window has passed.
    await capacity.release(agentId, taskId);
  }

  /**
   * No message id: a producer could publish one it guessed (`<taskId>.reassign.2`) first, and JetStream would drop
   * this request as its duplicate. A repeat (a crash before the release, two replicas sweeping at once) is harmless
   * instead: only one `reassign` per attempt can be written to the record; a repeat that arrives later is settled as
   * already decided, one handled at the same time reserves, loses the write and releases.
   */
  private async requestReassignment(record: TaskStateRecord): Promise<void> {
    const task = record.assignment?.task;
    if (!task) return;
    const h = headers();
    h.set(REASSIGN_ATTEMPT_HEADER, String(record.attempt + 1));
    await this.deps.js.publish(Subjects.taskArrived, JSON.stringify(task), { headers: h });
  }

  /**
   * The timeout as a failed execution of that agent, through the learner like any result (KG, profile), on the
   * worker's own subject. No message id: one the agent could guess, it could publish first and have JetStream
   * drop this one; the learner's evidence key makes repeats count once instead.
   */
  private async reportTimeout(record: TaskStateRecord, agentId: string, reservation: Reservation, now: Date) {
    const result: ExecutionResult = {
      executionId: `timeout-${record.attempt}`,
      taskId: record.taskId,
      agentId,
      taskType: record.assignment?.taskType ?? 'general',
      attempt: record.attempt,
      success: false,
      durationMs: Math.max(0, now.getTime() - Date.parse(reservation.at)),
      startedAt: reservation.at,
      finishedAt: now.toISOString(),
      error: 'timeout',
    };
    const h = headers();
    h.set(SYNTHETIC_HEADER, 'timeout');
    await this.deps.js.publish(Subjects.timeout(agentId), JSON.stringify(result), { headers: h });
  }
}
