/**
 * Capacity reservations of one agent, as stored in the `vapora_capacity` bucket. Pure transitions; the worker
 * applies them with compare-and-swap so that replicas together never exceed `maxConcurrent`.
 * Each reservation carries its deadline: past it, the assignment has timed out and is reassigned.
 */
export interface Reservation {
  /** ISO time the reservation was made. */
  at: string;
  /** ISO time after which the assignment counts as timed out. */
  deadline: string;
}

export interface CapacityRecord {
  agentId: string;
  /** taskId → reservation. */
  inFlight: Record<string, Reservation>;
}

export type ReserveResult =
  | { kind: 'reserved'; next: CapacityRecord }
  | { kind: 'already-reserved' }
  | { kind: 'full'; inFlight: number };

export function emptyCapacity(agentId: string): CapacityRecord {
  return { agentId, inFlight: {} };
}

/**
 * Counts memoised per `inFlight` object: records are replaced, never changed in place, and every decision reads the
 * count of every candidate (a record holds up to maxConcurrent reservations).
 */
const counts = new WeakMap<object, number>();

export function inFlightCount(record: CapacityRecord | undefined): number {
  if (!record) return 0;
  let count = counts.get(record.inFlight);
  if (count === undefined) {
    count = Object.keys(record.inFlight).length;
    counts.set(record.inFlight, count);
  }
  return count;
}

/** Reserves a slot for `taskId` until `at + timeoutMs`; idempotent (a task holds at most one slot per agent). */
export function reserve(
  record: CapacityRecord | undefined,
  agentId: string,
  taskId: string,
  maxConcurrent: number,
  at: Date,
  timeoutMs: number,
): ReserveResult {
  const current = record ?? emptyCapacity(agentId);
  if (Object.prototype.hasOwnProperty.call(current.inFlight, taskId)) return { kind: 'already-reserved' };
  const count = inFlightCount(current);
  if (count >= maxConcurrent) return { kind: 'full', inFlight: count };
  const reservation: Reservation = {
    at: at.toISOString(),
    deadline: new Date(at.getTime() + timeoutMs).toISOString(),
  };
  const inFlight = copyWithout(current.inFlight, undefined);
  inFlight[taskId] = reservation;
  return { kind: 'reserved', next: { agentId, inFlight } };
}

/** Releases the slot of `taskId`; undefined when there is nothing to release (idempotent). */
export function release(record: CapacityRecord | undefined, taskId: string): CapacityRecord | undefined {
  if (!record || !Object.prototype.hasOwnProperty.call(record.inFlight, taskId)) return undefined;
  return { agentId: record.agentId, inFlight: copyWithout(record.inFlight, taskId) };
}

/**
 * A copy of the reservations without `taskId`. A record holds up to maxConcurrent entries, so the copy is in V8's
 * dictionary mode; a loop over its own keys copies it about five times as fast as object spread or rest (≈ 11 vs
 * 53–70 µs at 200).
 */
function copyWithout(
  inFlight: Record<string, Reservation>,
  taskId: string | undefined,
): Record<string, Reservation> {
  // No prototype: a task id may be any subject token, "__proto__" included, and must stay a plain own key.
  const copy = Object.create(null) as Record<string, Reservation>;
  // Own keys only (Object.keys): a property someone added to Object.prototype is not a reservation.
  for (const id of Object.keys(inFlight)) if (id !== taskId) copy[id] = inFlight[id]!;
  return copy;
}

/**
 * Reservations whose assignment must be taken back: past the deadline, or every one of an agent that is gone
 * (no registration, or a heartbeat older than the timeout).
 */
export function expiredReservations(
  record: CapacityRecord,
  now: Date,
  agentAlive: boolean,
): { taskId: string; reservation: Reservation; why: 'timeout' | 'agent-gone' }[] {
  const expired: { taskId: string; reservation: Reservation; why: 'timeout' | 'agent-gone' }[] = [];
  for (const [taskId, reservation] of Object.entries(record.inFlight)) {
    if (!agentAlive) expired.push({ taskId, reservation, why: 'agent-gone' });
    else if (Date.parse(reservation.deadline) <= now.getTime())
      expired.push({ taskId, reservation, why: 'timeout' });
  }
  return expired;
}
