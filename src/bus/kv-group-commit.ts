/**
 * Group commit for hot KV keys: operations on one key queue up, and each round applies every queued operation to
 * the current value in order and writes the result with ONE compare-and-swap. Many small updates to one key (one
 * agent's capacity record receiving a burst of reservations) then cost one round trip per batch instead of one
 * per update, and a lost race with another replica retries the whole batch against the new value.
 */
import type { KV } from '@nats-io/kv';
import type { CasOptions } from './kv-cas.js';
import { casUpdate } from './kv-cas.js';

/** One queued operation: given the value so far, the value after it (undefined: unchanged) and its result. */
export type GroupOp<T, R> = (current: T | undefined) => { next: T | undefined; result: R };

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
          (current) => {
            // Recomputed on every attempt: a conflict means the starting value changed.
            results = [];
            let value = current;
            let changed = false;
            for (const { op } of batch) {
              const { next, result } = op(value);
              results.push(result);
              if (next !== undefined) {
                value = next;
                changed = true;
              }
            }
            return changed ? value : undefined;
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
