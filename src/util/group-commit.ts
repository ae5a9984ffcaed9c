/**
 * Group commit for writes that take a batch as cheaply as one item (one INSERT of many rows): a call made while a
 * write is in flight queues up and goes in the next write, together with everything else that arrived meanwhile.
 * A call on an idle committer is written at once, so there is no added latency, only fewer round trips under load.
 * One write at a time (unless a write outlives the timeout its caller puts on it); each caller gets its own item's
 * result, or the error of the write that carried it. A batch that fails with an error `isolate` picks (one item
 * the store refuses, not an outage) is written again one item at a time, so only the bad item fails.
 */
import { ErrorCodes, VaporaError } from '../errors.js';

export type BatchWrite<T, R> = (items: readonly T[]) => Promise<readonly R[]>;

export interface GroupCommitOptions {
  /** Most items per write. @default 256 */
  maxBatch?: number;
  /** Whether a failed batch is retried item by item (so one bad item fails alone). @default never */
  isolate?: (err: unknown) => boolean;
}

interface Pending<T, R> {
  item: T;
  resolve: (result: R) => void;
  reject: (err: unknown) => void;
}

export class GroupCommit<T, R> {
  #queue: Pending<T, R>[] = [];
  #writing = false;
  readonly #maxBatch: number;
  readonly #isolate: (err: unknown) => boolean;

  constructor(
    private readonly write: BatchWrite<T, R>,
    options: GroupCommitOptions = {},
  ) {
    this.#maxBatch = options.maxBatch ?? 256;
    this.#isolate = options.isolate ?? (() => false);
  }

  run(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      if (!this.#writing) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, this.#maxBatch);
        try {
          settle(batch, await this.#writeChecked(batch));
        } catch (err) {
          if (batch.length > 1 && this.#isolate(err)) {
            for (const pending of batch) await this.#writeAlone(pending);
          } else for (const pending of batch) pending.reject(err);
        }
      }
    } finally {
      this.#writing = false;
    }
  }

  async #writeAlone(pending: Pending<T, R>): Promise<void> {
    try {
      settle([pending], await this.#writeChecked([pending]));
    } catch (err) {
      pending.reject(err);
    }
  }

  async #writeChecked(batch: readonly Pending<T, R>[]): Promise<readonly R[]> {
    const results = await this.write(batch.map((p) => p.item));
    if (results.length !== batch.length) {
      throw new VaporaError(
        ErrorCodes.Internal,
        `a batch write returned ${results.length} results for ${batch.length} items`,
      );
    }
    return results;
  }
}

function settle<T, R>(batch: readonly Pending<T, R>[], results: readonly R[]): void {
  batch.forEach((p, i) => p.resolve(results[i]!));
}
