/**
 * Capacity reservations in `vapora_capacity`, by compare-and-swap: whatever the number of replicas, an agent
 * never holds more reservations than its maxConcurrent. Loads for scoring come from the in-memory mirror.
 * Within one replica, writes to one agent's record are serialised, so local handlers do not waste round trips
 * colliding with each other; the first write is attempted against the mirror's revision, without a read.
 */
import { casUpdate } from '../bus/kv-cas.js';
import type { CapacityRecord } from '../domain/index.js';
import { inFlightCount, release, reserve } from '../domain/index.js';
import { KeyedMutex } from '../util/keyed-mutex.js';
import type { Stores } from './stores.js';

export type ReserveOutcome = 'reserved' | 'already-reserved' | 'full';

export class CapacityService {
  private readonly mutex = new KeyedMutex();

  constructor(
    private readonly stores: Stores,
    private readonly onCasConflict: () => void = () => undefined,
  ) {}

  inFlight(agentId: string): number {
    return inFlightCount(this.stores.capacity.get(agentId));
  }

  /** The agent holding a reservation for this task, per the mirror (used to resume after a crash). */
  holderOf(taskId: string): string | undefined {
    for (const [agentId, record] of this.stores.capacity.entries()) {
      if (Object.prototype.hasOwnProperty.call(record.inFlight, taskId)) return agentId;
    }
    return undefined;
  }

  reserve(agentId: string, taskId: string, maxConcurrent: number, now: Date): Promise<ReserveOutcome> {
    return this.mutex.run(agentId, async () => {
      let outcome: ReserveOutcome = 'full';
      await this.write(agentId, (current) => {
        const decision = reserve(current, agentId, taskId, maxConcurrent, now);
        outcome = decision.kind;
        return decision.kind === 'reserved' ? decision.next : undefined;
      });
      return outcome;
    });
  }

  /** Releases the task's slot on that agent; true when a slot was held. Idempotent. */
  release(agentId: string, taskId: string): Promise<boolean> {
    return this.mutex.run(agentId, () => this.write(agentId, (current) => release(current, taskId)));
  }

  private async write(
    agentId: string,
    update: (current: CapacityRecord | undefined) => CapacityRecord | undefined,
  ): Promise<boolean> {
    const result = await casUpdate<CapacityRecord>(this.stores.capacityKv, agentId, update, {
      onConflict: this.onCasConflict,
      known: this.stores.capacity.known(agentId),
    });
    if (result.written && result.value) this.stores.capacity.put(agentId, result.value, result.revision);
    return result.written;
  }
}
