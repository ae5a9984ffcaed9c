/** Tasks waiting in-process for a slot: woken by capacity changes, as many as there are free slots, oldest first. */
import { describe, expect, it } from '@jest/globals';
import { RoomWaiters } from '../../src/util/room-waiters.js';

const settled = async <T>(p: Promise<T>): Promise<T | 'pending'> =>
  Promise.race([p, new Promise<'pending'>((r) => setTimeout(() => r('pending'), 20))]);

describe('RoomWaiters', () => {
  it('wakes as many waiters as the agent has free slots, oldest first, and no one who waits for another agent', async () => {
    const inFlight = new Map([
      ['a', 3],
      ['b', 1],
    ]);
    const room = new RoomWaiters((id) => inFlight.get(id) ?? 0);
    const first = room.wait([{ agentId: 'a', maxConcurrent: 3 }], 5_000);
    const onB = room.wait([{ agentId: 'b', maxConcurrent: 1 }], 5_000);
    const second = room.wait(
      [
        { agentId: 'b', maxConcurrent: 1 },
        { agentId: 'a', maxConcurrent: 3 },
      ],
      5_000,
    );
    const third = room.wait([{ agentId: 'a', maxConcurrent: 3 }], 5_000);
    expect(room.size).toBe(4);

    room.notify('a'); // a change that freed nothing (another replica reserved)
    expect(await settled(first)).toBe('pending');

    inFlight.set('a', 1); // two slots free on a
    room.notify('a');
    expect(await settled(first)).toBe(true);
    expect(await settled(second)).toBe(true);
    expect(await settled(third)).toBe('pending');
    expect(await settled(onB)).toBe('pending');
    expect(room.size).toBe(2);
  });

  it('gives up at the deadline, and at once without a deadline or an agent to wait for', async () => {
    const room = new RoomWaiters(() => 1);
    await expect(room.wait([{ agentId: 'a', maxConcurrent: 1 }], 30)).resolves.toBe(false);
    await expect(room.wait([{ agentId: 'a', maxConcurrent: 1 }], 0)).resolves.toBe(false);
    await expect(room.wait([], 1_000)).resolves.toBe(false);
    expect(room.size).toBe(0);
  });

  it('does not sleep through a slot that freed before the wait began', async () => {
    const room = new RoomWaiters(() => 0);
    await expect(settled(room.wait([{ agentId: 'a', maxConcurrent: 1 }], 5_000))).resolves.toBe(true);
  });

  it('lets at most maxWaiting wait at once: one more is handed back at once, and a freed place is taken again', async () => {
    const inFlight = new Map([['a', 1]]);
    const room = new RoomWaiters((id) => inFlight.get(id) ?? 0, 2);
    const full = [{ agentId: 'a', maxConcurrent: 1 }];
    const first = room.wait(full, 5_000);
    const second = room.wait(full, 5_000);
    await expect(settled(room.wait(full, 5_000))).resolves.toBe(false);
    expect(room.size).toBe(2);
    inFlight.set('a', 0);
    room.notify('a');
    expect(await settled(first)).toBe(true);
    expect(await settled(second)).toBe('pending');
    inFlight.set('a', 1);
    const third = room.wait(full, 5_000);
    expect(room.size).toBe(2);
    inFlight.set('a', 0);
    room.notify('a');
    expect(await settled(second)).toBe(true);
    expect(await settled(third)).toBe('pending');
  });

  it('calls onPark when a wait begins, not when it is refused', async () => {
    const room = new RoomWaiters(() => 1, 1);
    const parked: string[] = [];
    const full = [{ agentId: 'a', maxConcurrent: 1 }];
    const waiting = room.wait(full, 5_000, () => parked.push('first'));
    await expect(room.wait(full, 5_000, () => parked.push('second'))).resolves.toBe(false);
    await expect(room.wait(full, 0, () => parked.push('third'))).resolves.toBe(false);
    expect(parked).toEqual(['first']);
    expect(await settled(waiting)).toBe('pending');
  });
});
