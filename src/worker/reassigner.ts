/**
 * Takes back assignments whose result did not arrive in time, or whose agent is gone, and asks for a new one.
 * Every replica sweeps its capacity mirror; exactly one wins the compare-and-swap that moves the task state to
 * `timed-out`, and every step after it is idempotent (message ids), so a crash midway is finished by the next
 * sweep. The reassignment itself is a message: the task re-published on vapora.tasks.arrived with
 * `Vapora-Attempt: n+1`, which the assigner handles like an arrival but never gives to an agent it timed out on.
 * A late result from the first agent is still recorded; it cannot release capacity twice (reservations are per
 * task and agent) or trigger a second reassignment (the task state has moved on).
 */
import type { JetStreamClient } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { Subjects } from '../bus/subjects.js';
import type { ExecutionResult, Reservation, TaskStateRecord } from '../domain/index.js';
import { expiredReservations, holderOf } from '../domain/index.js';
import { REASSIGN_ATTEMPT_HEADER } from './assigner.js';
import type { CapacityService } from './capacity-service.js';
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
  clock?: () => Date;
}

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

  constructor(private readonly deps: ReassignerDeps) {
    this.clock = deps.clock ?? (() => new Date());
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
    // Right after an outage every heartbeat looks old: give agents a full heartbeat timeout to report again.
    const judgeAgents = now.getTime() - (this.deps.lastReconnectAt?.() ?? 0) > this.deps.heartbeatTimeoutMs;
    for (const [agentId, record] of [...this.deps.stores.capacity.entries()]) {
      const alive = !judgeAgents || this.isAlive(agentId, now);
      for (const expired of expiredReservations(record, now, alive)) {
        if (this.stopped) return;
        const age = now.getTime() - Date.parse(expired.reservation.at);
        if (expired.why === 'agent-gone' && age < AGENT_GONE_GRACE_MS) continue;
        await this.takeBack(agentId, expired.taskId, expired.why, expired.reservation, now);
      }
    }
  }

  private isAlive(agentId: string, now: Date): boolean {
    const registration = this.deps.stores.agents.get(agentId);
    return (
      registration !== undefined &&
      now.getTime() - Date.parse(registration.heartbeatAt) <= this.deps.heartbeatTimeoutMs
    );
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
    const command = { type: 'time-out' as const, agentId, attempt, why, countsAsFailure, at: now };
    const { decision, state } = await tasks.execute(taskId, command, stored);
    if (!decision.ok || !state) {
      // The task moved on (completed, reassigned elsewhere): this reservation is a leftover.
      await capacity.release(agentId, taskId);
      return;
    }
    if (decision.events.length > 0) {
      this.deps.metrics.timeouts.inc({ why });
      log.warn({ agentId, taskId, attempt, why }, 'assignment taken back; requesting reassignment');
    }
    // Every step from here is idempotent (message ids), so a crash midway is finished by the next sweep.
    await this.requestReassignment(state.record);
    if (holderOf(state.record, attempt)?.charged === true) {
      await this.reportTimeout(state.record, agentId, reservation, now);
    }
    // Released here, not left to the learner: the next sweep must not see it and publish the requests again
    // after JetStream's duplicate window has passed.
    await capacity.release(agentId, taskId);
  }

  private async requestReassignment(record: TaskStateRecord): Promise<void> {
    const task = record.assignment?.task;
    if (!task) return;
    const next = record.attempt + 1;
    const h = headers();
    h.set(REASSIGN_ATTEMPT_HEADER, String(next));
    await this.deps.js.publish(Subjects.taskArrived, JSON.stringify(task), {
      headers: h,
      msgID: `${record.taskId}.reassign.${next}`,
    });
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
