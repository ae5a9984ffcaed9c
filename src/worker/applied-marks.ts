/**
 * Batches the KG's "reached the profile cache" marks. A mark only matters for a duplicate that arrives after the
 * profile state's own dedupe memory (its last 256 ids) has moved on, so it can trail the ack by a few
 * milliseconds: one UPDATE per batch instead of one per result. A mark lost in a crash is covered by that memory.
 */
import type { Logger } from 'pino';
import type { KnowledgeGraph } from '../kg/knowledge-graph.js';

export class AppliedMarks {
  private pending: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly kg: KnowledgeGraph,
    private readonly log: Logger,
    private readonly delayMs = 20,
    private readonly maxBatch = 256,
  ) {}

  add(executionId: string): void {
    this.pending.push(executionId);
    if (this.pending.length >= this.maxBatch) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.delayMs);
  }

  /** Writes what is pending; resolves when every earlier batch has been written (or failed and logged). */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = [];
    if (batch.length > 0) {
      this.flushing = this.flushing.then(() =>
        this.kg.markProfilesApplied(batch).catch((err: unknown) => {
          this.log.warn(
            { err, count: batch.length },
            'could not mark results applied; dedupe memory covers them',
          );
        }),
      );
    }
    return this.flushing;
  }
}
