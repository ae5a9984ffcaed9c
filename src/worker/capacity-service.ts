/**
 * Capacity reservations in `vapora_capacity`, by compare-and-swap: whatever the number of replicas, an agent
 * never holds more reservations than its maxConcurrent. Loads for scoring come from the in-memory mirror.
 * Within one replica, operations on one agent's record are group-committed: a burst of reservations for the agent
 * that ranks first costs one write per batch, not one per task.
 */
import { KvGroupCommit } from '../bus/kv-group-commit.js';
import type { RoomWanted } from '../util/room-waiters.js';
import { RoomWaiters } from '../util/room-waiters.js';
import type { CapacityRecord } from '../domain/index.js';
import { inFlightCount, release, reserve } from '../domain/index.js';
import type { Stores } from './stores.js';

export type ReserveOutcome = 'reserved' | 'already-reserved' | 'full';

export class CapacityService {
  private readonly commits: KvGroupCommit<CapacityRecord>;
  /**
   * Reservations this replica has started but not finished. Counting them as load makes concurrent decisions
   * spread over agents instead of all picking the one that ranks first.
   */
  private readonly pending = new Map<string, number>();
  /** Tasks waiting for a slot, woken by capacity changes seen in the mirror (this replica's and others'). */
  private readonly room: RoomWaiters;

  /** @param maxWaiting how many tasks may wait for a slot at once (`waitForRoom`), each an unacknowledged message. */
  constructor(
    private readonly stores: Stores,
    onCasConflict: () => void = () => undefined,
    maxWaiting = Number.POSITIVE_INFINITY,
  ) {
    this.room = new RoomWaiters((agentId) => this.inFlight(agentId), maxWaiting);
    this.commits = new KvGroupCommit<CapacityRecord>(stores.capacityKv, {
      onConflict: onCasConflict,
      known: (agentId) => stores.capacity.known(agentId),
      onWritten: (agentId, value, revision) => stores.capacity.put(agentId, value, revision),
    });
    stores.capacity.onChange((agentId) => this.room.notify(agentId));
  }

  /**
   * Waits until one of these full agents may have a free slot (true), or for at most `timeoutMs` (false). A task
   * that waits here instead of being handed back with a delay takes a slot as soon as it frees. `onPark` runs when
   * the wait begins (the caller gives its handler slot back then).
   */
  waitForRoom(wanted: readonly RoomWanted[], timeoutMs: number, onPark?: () => void): Promise<boolean> {
    return this.room.wait(wanted, timeoutMs, onPark);
  }

  /** Reservations held (per the mirror) plus those this replica is making right now. */
  inFlight(agentId: string): number {
    return inFlightCount(this.stores.capacity.get(agentId)) + (this.pending.get(agentId) ?? 0);
  }

  /** The agent holding a reservation for this task, per the mirror (used to resume after a crash). */
  holderOf(taskId: string, exclude: ReadonlySet<string> = new Set()): string | undefined {
    for (const [agentId, record] of this.stores.capacity.entries()) {
      if (exclude.has(agentId)) continue;
      if (Object.prototype.hasOwnProperty.call(record.inFlight, taskId)) return agentId;
    }
    return undefined;
  }

  async reserve(
    agentId: string,
    taskId: string,
    maxConcurrent: number,
    now: Date,
    timeoutMs: number,
  ): Promise<ReserveOutcome> {
    this.pending.set(agentId, (this.pending.get(agentId) ?? 0) + 1);
    try {
      return await this.commits.run(agentId, (current) => {
        const decision = reserve(current, agentId, taskId, maxConcurrent, now, timeoutMs);
        return { next: decision.kind === 'reserved' ? decision.next : undefined, result: decision.kind };
      });
    } finally {
      const left = (this.pending.get(agentId) ?? 1) - 1;
      if (left > 0) this.pending.set(agentId, left);
      else this.pending.delete(agentId);
    }
  }

  /** Releases the task's slot on that agent; true when a slot was held. Idempotent. */
  release(agentId: string, taskId: string): Promise<boolean> {
    return this.commits.run(agentId, (current) => {
      const next = release(current, taskId);
      return { next, result: next !== undefined };
    });
  }
}
