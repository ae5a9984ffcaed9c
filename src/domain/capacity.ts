/**
 * Capacity reservations of one agent, as stored in the `vapora_capacity` bucket. Pure transitions; the worker
 * applies them with compare-and-swap so that replicas together never exceed `maxConcurrent`.
 */
export interface CapacityRecord {
  agentId: string;
  /** taskId → ISO time the reservation was made. */
  inFlight: Record<string, string>;
}

export type ReserveResult =
  | { kind: 'reserved'; next: CapacityRecord }
  | { kind: 'already-reserved' }
  | { kind: 'full'; inFlight: number };

export function emptyCapacity(agentId: string): CapacityRecord {
  return { agentId, inFlight: {} };
}

export function inFlightCount(record: CapacityRecord | undefined): number {
  return record ? Object.keys(record.inFlight).length : 0;
}

/** Reserves a slot for `taskId`; idempotent (a task holds at most one slot per agent). */
export function reserve(
  record: CapacityRecord | undefined,
  agentId: string,
  taskId: string,
  maxConcurrent: number,
  at: Date,
): ReserveResult {
  const current = record ?? emptyCapacity(agentId);
  if (Object.prototype.hasOwnProperty.call(current.inFlight, taskId)) return { kind: 'already-reserved' };
  const count = inFlightCount(current);
  if (count >= maxConcurrent) return { kind: 'full', inFlight: count };
  return {
    kind: 'reserved',
    next: { agentId, inFlight: { ...current.inFlight, [taskId]: at.toISOString() } },
  };
}

/** Releases the slot of `taskId`; undefined when there is nothing to release (idempotent). */
export function release(record: CapacityRecord | undefined, taskId: string): CapacityRecord | undefined {
  if (!record || !Object.prototype.hasOwnProperty.call(record.inFlight, taskId)) return undefined;
  const { [taskId]: _released, ...rest } = record.inFlight;
  return { agentId: record.agentId, inFlight: rest };
}
