/**
 * Runs the knowledge graph's retention (KG_RETENTION) periodically in each replica: executions older than the
 * retention are rolled up into daily aggregates and deleted, except each (agent, task type)'s 100 most recent,
 * so the KG (and an embedded engine's memory) stays bounded. No coordination between replicas: a pass is
 * idempotent and each batch commits in a transaction that fails unless it deleted exactly the rows it read
 * (src/kg/surreal-retention.ts). Within one process passes are serialised: on the embedded surrealkv engine two
 * concurrent batch transactions were seen to both commit. Replicas sharing one SurrealDB server rely on that
 * server's transaction conflict detection (not exercised here: no server binary). A failed pass (KG away) is
 * logged and tried again at the next interval.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { Counter } from 'prom-client';
import type { KnowledgeGraph, RetentionResult } from '../kg/knowledge-graph.js';

export interface RetentionServiceDeps {
  kg: KnowledgeGraph;
  retentionMs: number;
  log: Logger;
  /** Between passes. Default: a quarter of the retention, between 10 s and an hour. */
  intervalMs?: number;
  clock?: () => Date;
  onPass?: (result: RetentionResult) => void;
  /** Where `vapora_kg_retention_deleted_total` (executions rolled up and deleted) is registered. */
  registry?: Registry;
}

const MIN_INTERVAL_MS = 10_000;
const MAX_INTERVAL_MS = 3_600_000;

export function retentionInterval(retentionMs: number): number {
  return Math.min(MAX_INTERVAL_MS, Math.max(MIN_INTERVAL_MS, Math.floor(retentionMs / 4)));
}

export class RetentionService {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> = Promise.resolve();
  #stopped = false;
  readonly #intervalMs: number;
  readonly #clock: () => Date;
  readonly #deleted: Counter | undefined;

  constructor(private readonly deps: RetentionServiceDeps) {
    this.#intervalMs = deps.intervalMs ?? retentionInterval(deps.retentionMs);
    this.#clock = deps.clock ?? (() => new Date());
    this.#deleted =
      deps.registry &&
      new Counter({
        name: 'vapora_kg_retention_deleted_total',
        help: 'Executions rolled up into daily aggregates and deleted from the knowledge graph (KG_RETENTION).',
        registers: [deps.registry],
      });
  }

  /** The first pass runs one interval after start, not at start: a cold start has enough to do. */
  start(): void {
    const tick = () => {
      if (this.#stopped) return;
      this.#running = this.pass()
        .catch((err: unknown) => this.deps.log.warn({ err }, 'KG retention pass failed; will try again'))
        .finally(() => {
          if (!this.#stopped) this.#timer = setTimeout(tick, this.#intervalMs).unref();
        });
    };
    this.#timer = setTimeout(tick, this.#intervalMs).unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }

  /** One pass: everything that finished before now − retention. */
  async pass(): Promise<RetentionResult> {
    const before = new Date(this.#clock().getTime() - this.deps.retentionMs);
    const started = Date.now();
    const result = await this.deps.kg.applyRetention(before);
    this.#deleted?.inc(result.deleted);
    this.deps.onPass?.(result);
    if (result.deleted > 0) {
      this.deps.log.info(
        { ...result, before: before.toISOString(), ms: Date.now() - started },
        'KG retention: executions rolled up and deleted',
      );
    }
    return result;
  }
}
