/** Capacity reservations: reserve, release and what the reassigner takes back, as pure transitions. */
import type { CapacityRecord } from '../../src/domain/index.js';
import { expiredReservations, inFlightCount, release, reserve } from '../../src/domain/index.js';
import { NOW } from './given.js';

const TIMEOUT_MS = 60_000;
const at = (offsetMs: number) => new Date(NOW.getTime() + offsetMs);

/** Given an agent holding these tasks (each reserved at NOW). */
function holding(...taskIds: string[]): CapacityRecord {
  return (
    taskIds.reduce<CapacityRecord | undefined>((record, taskId) => {
      const r = reserve(record, 'a1', taskId, 100, NOW, TIMEOUT_MS);
      if (r.kind !== 'reserved') throw new Error(`setup: ${taskId} not reserved`);
      return r.next;
    }, undefined) ?? { agentId: 'a1', inFlight: {} }
  );
}

describe('reserve', () => {
  it('reserves a slot on an agent without a record, with its deadline one timeout later', () => {
    expect(reserve(undefined, 'a1', 't1', 2, NOW, TIMEOUT_MS)).toEqual({
      kind: 'reserved',
      next: {
        agentId: 'a1',
        inFlight: { t1: { at: NOW.toISOString(), deadline: at(TIMEOUT_MS).toISOString() } },
      },
    });
  });

  it('is idempotent: a task already holding a slot gets no second one, even when the agent is full', () => {
    const record = holding('t1', 't2');
    expect(reserve(record, 'a1', 't1', 2, at(5), TIMEOUT_MS)).toEqual({ kind: 'already-reserved' });
  });

  it('refuses a reservation at maxConcurrent and grants it one below', () => {
    expect(reserve(holding('t1', 't2'), 'a1', 't3', 2, NOW, TIMEOUT_MS)).toEqual({
      kind: 'full',
      inFlight: 2,
    });
    const granted = reserve(holding('t1'), 'a1', 't3', 2, NOW, TIMEOUT_MS);
    expect(granted.kind).toBe('reserved');
    expect(granted.kind === 'reserved' && inFlightCount(granted.next)).toBe(2);
  });

  it('never changes the record it was given (the CAS loop may retry against it)', () => {
    const record = holding('t1');
    const before = structuredClone(record);
    reserve(record, 'a1', 't2', 2, NOW, TIMEOUT_MS);
    expect(record).toEqual(before);
  });

  it('treats a task id like "constructor" as an ordinary key, not as an inherited property', () => {
    expect(reserve(holding(), 'a1', 'constructor', 1, NOW, TIMEOUT_MS).kind).toBe('reserved');
  });

  it('keeps a task id "__proto__" as a reservation of its own, through reserve, JSON and release', () => {
    const record = holding('t1', '__proto__', 't2');
    expect(inFlightCount(record)).toBe(3);
    const stored = JSON.parse(JSON.stringify(record)) as CapacityRecord;
    expect(Object.keys(stored.inFlight).sort()).toEqual(['__proto__', 't1', 't2']);
    expect(reserve(stored, 'a1', '__proto__', 5, NOW, TIMEOUT_MS)).toEqual({ kind: 'already-reserved' });
    const released = release(stored, '__proto__')!;
    expect(Object.keys(released.inFlight).sort()).toEqual(['t1', 't2']);
    expect(Object.keys(release(released, 't1')!.inFlight)).toEqual(['t2']);
  });
});

describe('release', () => {
  it('frees exactly the released task and keeps the others', () => {
    const next = release(holding('t1', 't2'), 't1');
    expect(next).toEqual({ agentId: 'a1', inFlight: { t2: holding('t2').inFlight['t2'] } });
    expect(inFlightCount(next)).toBe(1);
  });

  it('returns undefined (nothing to write) for a task not held, or without a record', () => {
    expect(release(holding('t1'), 't9')).toBeUndefined();
    expect(release(undefined, 't1')).toBeUndefined();
  });

  it('makes room for a new reservation on a full agent', () => {
    const full = holding('t1', 't2');
    expect(reserve(full, 'a1', 't3', 2, NOW, TIMEOUT_MS).kind).toBe('full');
    expect(reserve(release(full, 't1'), 'a1', 't3', 2, NOW, TIMEOUT_MS).kind).toBe('reserved');
  });
});

describe('expiredReservations', () => {
  const ids = (list: ReturnType<typeof expiredReservations>) => list.map((e) => `${e.taskId}:${e.why}`);

  it('takes back nothing from a live agent before the deadline', () => {
    expect(expiredReservations(holding('t1', 't2'), at(TIMEOUT_MS - 1), true)).toEqual([]);
  });

  it('takes back a reservation of a live agent from its deadline on (inclusive)', () => {
    const record = holding('t1');
    const later = reserve(record, 'a1', 't2', 100, at(10_000), TIMEOUT_MS);
    if (later.kind !== 'reserved') throw new Error('setup');
    expect(ids(expiredReservations(later.next, at(TIMEOUT_MS), true))).toEqual(['t1:timeout']);
    expect(ids(expiredReservations(later.next, at(TIMEOUT_MS + 10_000), true))).toEqual([
      't1:timeout',
      't2:timeout',
    ]);
  });

  it('takes back every reservation of an agent that is gone, whatever the deadlines', () => {
    const expired = expiredReservations(holding('t1', 't2'), NOW, false);
    expect(ids(expired)).toEqual(['t1:agent-gone', 't2:agent-gone']);
    expect(expired[0]!.reservation).toEqual({
      at: NOW.toISOString(),
      deadline: at(TIMEOUT_MS).toISOString(),
    });
  });
});
