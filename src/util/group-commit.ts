/**
 * Group commit for writes that take a batch as cheaply as one item (one INSERT of many rows): a call made while a
 * write is in flight queues up and goes in the next write, together with everything else that arrived meanwhile.
 * A call on an idle committer is written at once, so there is no added latency, only fewer round trips under load.
 * Writes never overlap; each caller gets its own item's result, or the error of the write that carried it.
 */
import { ErrorCodes, VaporaError } from '../errors.js';

export type BatchWrite<T, R> = (items: readonly T[]) => Promise<readonly R[]>;

interface Pending<T, R> {
  item: T;
  resolve: (result: R) => void;
  reject: (err: unknown) => void;
}

export class GroupCommit<T, R> {
  #queue: Pending<T, R>[] = [];
  #writing = false;

  constructor(
    private readonly write: BatchWrite<T, R>,
    private readonly maxBatch = 256,
  ) {}

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
        const batch = this.#queue.splice(0, this.maxBatch);
        try {
          const results = await this.write(batch.map((p) => p.item));
          if (results.length !== batch.length) {
            throw new VaporaError(
              ErrorCodes.Internal,
              `a batch write returned ${results.length} results for ${batch.length} items`,
            );
          }
          batch.forEach((p, i) => p.resolve(results[i]!));
        } catch (err) {
          for (const p of batch) p.reject(err);
        }
      }
    } finally {
      this.#writing = false;
    }
  }
}
