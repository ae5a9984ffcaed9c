/**
 * Capacity reservations in `vapora_capacity`, by compare-and-swap: whatever the number of replicas, an agent
 * never holds more reservations than its maxConcurrent. Loads for scoring come from the in-memory mirror.
 */
import { casUpdate } from '../bus/kv-cas.js';
import type { CapacityRecord } from '../domain/index.js';
import { inFlightCount, release, reserve } from '../domain/index.js';
import type { Stores } from './stores.js';

export type ReserveOutcome = 'reserved' | 'already-reserved' | 'full';

export class CapacityService {
  constructor(
    private readonly stores: Stores,
    private readonly onCasConflict: () => void = () => undefined,
  ) {}

  inFlight(agentId: string): number {
    return inFlightCount(this.stores.capacity.get(agentId));
  }

  async reserve(agentId: string, taskId: string, maxConcurrent: number, now: Date): Promise<ReserveOutcome> {
    let outcome: ReserveOutcome = 'full';
    const result = await casUpdate<CapacityRecord>(
      this.stores.capacityKv,
      agentId,
      (current) => {
        const decision = reserve(current, agentId, taskId, maxConcurrent, now);
        outcome = decision.kind;
        return decision.kind === 'reserved' ? decision.next : undefined;
      },
      { onConflict: this.onCasConflict },
    );
    if (result.written && result.value) this.stores.capacity.put(agentId, result.value, result.revision);
    return outcome;
  }

  /** Releases the task's slot on that agent; true when a slot was held. Idempotent. */
  async release(agentId: string, taskId: string): Promise<boolean> {
    const result = await casUpdate<CapacityRecord>(
      this.stores.capacityKv,
      agentId,
      (current) => release(current, taskId),
      { onConflict: this.onCasConflict },
    );
    if (result.written && result.value) this.stores.capacity.put(agentId, result.value, result.revision);
    return result.written;
  }
}
