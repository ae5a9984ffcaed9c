/**
 * Tasks waiting in-process for a free slot on any of some agents, woken by the changes of those agents' capacity
 * records instead of by a timer. On a change of agent A, as many waiters interested in A as A has free slots are
 * woken, oldest first; each tries again, and one that finds no room waits again until its own deadline. A woken
 * waiter's reservation is itself a change, so a burst of freed slots is taken up without waking every waiter for
 * each slot.
 *
 * A waiting task gives its handler's slot back to the consumer loop (`onPark`), so tasks that another agent could
 * take now are not queued behind it. At most `maxWaiting` wait at once (each is an unacknowledged message); one
 * over the limit is handed back with the consumer's backoff instead.
 */
export interface RoomWanted {
  agentId: string;
  maxConcurrent: number;
}

interface Waiter {
  limits: ReadonlyMap<string, number>;
  wake: (woken: boolean) => void;
}

export class RoomWaiters {
  private readonly waiting: Waiter[] = [];

  /**
   * @param inFlight the agent's reservations as this replica sees them (its own pending ones included).
   * @param maxWaiting how many may wait at once.
   */
  constructor(
    private readonly inFlight: (agentId: string) => number,
    private readonly maxWaiting = Number.POSITIVE_INFINITY,
  ) {}

  /**
   * Resolves true when one of the agents may have room; false after `timeoutMs`, or at once when that is ≤ 0 or
   * `maxWaiting` are already waiting. `onPark` is called when the wait begins, not when it is refused.
   */
  wait(wanted: readonly RoomWanted[], timeoutMs: number, onPark?: () => void): Promise<boolean> {
    if (wanted.length === 0 || timeoutMs <= 0 || this.waiting.length >= this.maxWaiting) {
      return Promise.resolve(false);
    }
    return new Promise<boolean>((resolve) => {
      const waiter: Waiter = {
        limits: new Map(wanted.map((w) => [w.agentId, w.maxConcurrent])),
        wake: (woken) => {
          clearTimeout(timer);
          resolve(woken);
        },
      };
      const timer = setTimeout(() => {
        this.remove(waiter);
        resolve(false);
      }, timeoutMs);
      this.waiting.push(waiter);
      onPark?.();
      // A slot may have freed between the look that found none and this wait.
      const roomy = wanted.find((w) => this.inFlight(w.agentId) < w.maxConcurrent);
      if (roomy) this.notify(roomy.agentId);
    });
  }

  /** The capacity record of `agentId` changed. */
  notify(agentId: string): void {
    let woken = 0;
    for (let i = 0; i < this.waiting.length;) {
      const waiter = this.waiting[i]!;
      const limit = waiter.limits.get(agentId);
      if (limit === undefined) {
        i += 1;
        continue;
      }
      // The waiters woken so far will each take a slot: only as many as are free.
      if (this.inFlight(agentId) + woken >= limit) return;
      this.waiting.splice(i, 1);
      woken += 1;
      waiter.wake(true);
    }
  }

  /** How many tasks are waiting (for metrics and tests). */
  get size(): number {
    return this.waiting.length;
  }

  private remove(waiter: Waiter): void {
    const index = this.waiting.indexOf(waiter);
    if (index >= 0) this.waiting.splice(index, 1);
  }
}
