/**
 * Group commit for hot KV keys: operations on one key queue up, and each round applies every queued operation to
 * the current value in order and writes the result with ONE compare-and-swap. Many small updates to one key (one
 * agent's capacity record receiving a burst of reservations) then cost one round trip per batch instead of one
 * per update, and a lost race with another replica retries the whole batch against the new value.
 * Two hooks serve values that are costly to build: `initial` supplies the starting value of a key never written
 * (read from elsewhere, e.g. a rebuild), and `finish` derives the expensive parts of a value once per write
 * instead of once per operation.
 */
import type { KV } from '@nats-io/kv';
import type { CasOptions } from './kv-cas.js';
import { casUpdate } from './kv-cas.js';

/** One attempt at writing a batch: a new object per attempt, so operations can keep per-round notes (WeakMap). */
export interface GroupRound {
  /** The key holds no value and this round writes the one `initial` supplied. */
  readonly created: boolean;
}

/** One queued operation: given the value so far, the value after it (undefined: unchanged) and its result. */
export type GroupOp<T, R> = (current: T | undefined, round: GroupRound) => { next: T | undefined; result: R };

interface Queued<T> {
  op: GroupOp<T, unknown>;
  resolve: (result: unknown) => void;
  reject: (err: unknown) => void;
}

export interface GroupCommitOptions<T> {
  onConflict?: () => void;
  /** What this replica last saw for the key (value and revision), to skip the read on the first attempt. */
  known?: (key: string) => { value: T | undefined; revision: number };
  /** Called with each value this replica wrote and its revision. */
  onWritten?: (key: string, value: T, revision: number) => void;
  /** The starting value of a key that holds none; a value it returns is written even if no operation changes it. */
  initial?: (key: string) => Promise<T | undefined>;
  /** Applied once to a round's final value before it is written (operations may leave derived fields stale). */
  finish?: (value: T) => T;
}

export class KvGroupCommit<T> {
  private readonly queues = new Map<string, Queued<T>[]>();

  constructor(
    private readonly kv: KV,
    private readonly options: GroupCommitOptions<T> = {},
  ) {}

  run<R>(key: string, op: GroupOp<T, R>): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const queue = this.queues.get(key);
      const entry: Queued<T> = { op, resolve: resolve as (r: unknown) => void, reject };
      if (queue) {
        queue.push(entry);
        return;
      }
      this.queues.set(key, [entry]);
      void this.drain(key);
    });
  }

  private async drain(key: string): Promise<void> {
    for (;;) {
      const batch = this.queues.get(key) ?? [];
      if (batch.length === 0) {
        this.queues.delete(key);
        return;
      }
      // New operations queue behind this round and go in the next one.
      this.queues.set(key, []);
      let results: unknown[] = [];
      try {
        const casOptions: CasOptions<T> = {
          ...(this.options.onConflict ? { onConflict: this.options.onConflict } : {}),
          ...(this.options.known ? { known: this.options.known(key) } : {}),
        };
        const written = await casUpdate<T>(
          this.kv,
          key,
          async (current) => {
            // Recomputed on every attempt: a conflict means the starting value changed.
            results = [];
            let value = current;
            let created = false;
            if (value === undefined && this.options.initial) {
              value = await this.options.initial(key);
              created = value !== undefined;
            }
            let changed = created;
            const round: GroupRound = { created };
            for (const { op } of batch) {
              const { next, result } = op(value, round);
              results.push(result);
              if (next !== undefined) {
                value = next;
                changed = true;
              }
            }
            if (!changed || value === undefined) return undefined;
            return this.options.finish ? this.options.finish(value) : value;
          },
          casOptions,
        );
        // Also a value read and left as it was: the mirror may be behind it (a write whose reply was lost).
        if (written.value !== undefined && written.revision > 0) {
          this.options.onWritten?.(key, written.value, written.revision);
        }
        batch.forEach((entry, i) => entry.resolve(results[i]));
      } catch (err) {
        for (const entry of batch) entry.reject(err);
      }
    }
  }
}
