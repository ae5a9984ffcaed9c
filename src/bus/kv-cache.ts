/**
 * An in-memory mirror of a KV bucket, kept fresh by a watch, so hot paths (one assignment decision per task)
 * never read KV per candidate. Start-up subscribes to updates first and then reads a snapshot; every entry
 * carries its revision and only a newer revision replaces an older one, so nothing that happens between the two
 * steps is lost.
 *
 * A watch does not survive everything: after a server restart it can silently stop receiving, and a watch that
 * ends leaves the mirror frozen. So the mirror resynchronises (a new watch, then a revision-checked snapshot) on
 * every reconnect of the connection it is given and whenever its watch ends, and a periodic reconciliation
 * compares it with the bucket and resynchronises when they disagree. `current` is false from a disconnect (or
 * start) until the next snapshot is in: readiness and the reassigner look at it.
 *
 * Entries are decoded on first read, not on arrival: a hot key (an agent's capacity record, written by every
 * replica) may change many times between two reads, and an entry this replica wrote itself is already known as a
 * value (`put`) whichever of the watch and the write's reply comes first.
 */
import type { KV, KvEntry } from '@nats-io/kv';
import { KvWatchInclude } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';

interface Slot<T> {
  revision: number;
  /** The decoded value; undefined for a deleted key, or while `raw` is not decoded yet. */
  value: T | undefined;
  /** A PUT entry not read since it arrived. */
  raw?: KvEntry;
}

/**
 * A watch entry's payload is a view into the client's socket read buffer: kept undecoded, it would keep the whole
 * buffer alive. The copy keeps only the payload.
 */
function detached(entry: KvEntry): KvEntry {
  const value = entry.value.slice();
  const text = (): string => new TextDecoder().decode(value);
  return {
    bucket: entry.bucket,
    key: entry.key,
    rawKey: entry.rawKey,
    value,
    created: entry.created,
    revision: entry.revision,
    ...(entry.delta === undefined ? {} : { delta: entry.delta }),
    operation: entry.operation,
    length: value.length,
    string: text,
    json: <J>(): J => JSON.parse(text()) as J,
  };
}

/** Whether the slot holds a value (decoded or not), as opposed to a deletion. */
const holds = (slot: Slot<unknown>): boolean => slot.raw !== undefined || slot.value !== undefined;

export interface KvCacheOptions {
  /** Resynchronise after each reconnect of this connection (and mark the mirror not current while cut off). */
  nc?: NatsConnection;
  /** How often to compare the mirror with the bucket; 0 turns it off. @default 30000 */
  reconcileMs?: number;
  /** Name in logs (the bucket's). */
  name?: string;
}

/** A bucket entry the watch should have delivered by now if it were working. */
const WATCH_LAG_TOLERANCE_MS = 2_000;

export class KvCache<T> {
  private readonly slots = new Map<string, Slot<T>>();
  private watcher: Awaited<ReturnType<KV['watch']>> | undefined;
  private watching: Promise<void> | undefined;
  private readonly listeners = new Set<(key: string) => void>();
  private stopped = false;
  private isCurrent = false;
  private lastSync = 0;
  private syncing: Promise<void> | undefined;
  private resyncWanted = false;
  private reconcileTimer: NodeJS.Timeout | undefined;
  private statusLoop: Promise<void> | undefined;
  /** Resynchronisations after the first snapshot (reconnects, watch ends, divergences found). */
  resyncs = 0;

  constructor(
    private readonly kv: KV,
    private readonly decode: (entry: KvEntry) => T | undefined,
    private readonly log: Logger,
    private readonly options: KvCacheOptions = {},
  ) {}

  async start(): Promise<void> {
    await this.sync();
    const { nc } = this.options;
    if (nc) {
      this.statusLoop = (async () => {
        for await (const status of nc.status()) {
          if (this.stopped) return;
          if (status.type === 'disconnect') this.isCurrent = false;
          else if (status.type === 'reconnect') this.requestResync('reconnected');
        }
      })().catch(() => undefined);
    }
    const every = this.options.reconcileMs ?? 30_000;
    if (every > 0) {
      const tick = () => {
        if (this.stopped) return;
        void this.reconcile()
          .catch((err: unknown) => this.log.warn({ err, bucket: this.name }, 'mirror reconciliation failed'))
          .finally(() => {
            if (!this.stopped) this.reconcileTimer = setTimeout(tick, every).unref();
          });
      };
      this.reconcileTimer = setTimeout(tick, every).unref();
    }
  }

  /** True once a snapshot was read since the last disconnect (or start), and the watch is running. */
  get current(): boolean {
    return this.isCurrent && !this.stopped;
  }

  /** Epoch ms of the last completed snapshot (0: none yet). */
  get syncedAt(): number {
    return this.lastSync;
  }

  /**
   * Restarts the watch and reads the bucket again (revision-checked, deletions included). Concurrent requests
   * coalesce: one more pass runs after the one in progress. Failures are retried with backoff until it works.
   */
  requestResync(why: string): void {
    if (this.stopped) return;
    this.isCurrent = false;
    this.resyncWanted = true;
    if (this.syncing) return;
    this.syncing = (async () => {
      for (let delay = 200; this.resyncWanted && !this.stopped; delay = Math.min(5_000, delay * 2)) {
        this.resyncWanted = false;
        try {
          await this.sync();
          this.resyncs += 1;
          this.log.info({ bucket: this.name, why, keys: this.size }, 'mirror resynchronised');
        } catch (err) {
          this.log.warn({ err, bucket: this.name, why }, 'mirror resync failed; retrying');
          this.resyncWanted = true;
          await new Promise((resolve) => setTimeout(resolve, delay).unref());
        }
      }
    })().finally(() => {
      this.syncing = undefined;
    });
  }

  /** Waits for a resynchronisation in progress (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.syncing) await this.syncing;
  }

  /**
   * Compares the mirror with the bucket. Entries the watch should have delivered but did not, and values the
   * mirror holds for keys the bucket no longer has, are divergences: they are corrected at once and the watch is
   * restarted (it is evidently not delivering). Returns how many keys diverged.
   */
  async reconcile(): Promise<number> {
    if (this.stopped || this.syncing) return 0;
    const seen = await this.readBucket();
    // A revision the bucket never reached: its stream was rewound (a server lost its last writes) or recreated.
    const after = (await this.kv.status()).streamInfo.state.last_seq;
    if ([...this.slots.values()].some((slot) => slot.revision > after)) {
      this.log.warn(
        { bucket: this.name, lastSeq: after },
        'bucket is behind its mirror (rewound); resynchronising',
      );
      this.requestResync('rewound');
      return 1;
    }
    let diverged = 0;
    const now = Date.now();
    for (const entry of seen.entries.values()) {
      const slot = this.slots.get(entry.key);
      if ((slot?.revision ?? 0) < entry.revision && now - entry.created.getTime() > WATCH_LAG_TOLERANCE_MS) {
        diverged += 1;
      }
    }
    for (const [key, slot] of this.slots) {
      if (holds(slot) && !seen.entries.has(key) && slot.revision <= seen.lastSeq) diverged += 1;
    }
    this.applySnapshot(seen);
    if (diverged > 0) {
      this.log.warn({ bucket: this.name, diverged }, 'mirror diverged from its bucket; resynchronising');
      this.requestResync('diverged');
    }
    return diverged;
  }

  /** Applies an entry read elsewhere (e.g. right after this replica's own CAS write). */
  apply(entry: KvEntry): void {
    const current = this.slots.get(entry.key);
    if (current && current.revision >= entry.revision) return;
    this.set(
      entry.key,
      entry.operation === 'PUT'
        ? { revision: entry.revision, value: undefined, raw: detached(entry) }
        : { revision: entry.revision, value: undefined },
    );
  }

  /**
   * Reads one key from the bucket into the mirror (a decision confirming what the mirror says). The bucket is the
   * truth here even at a lower revision: a server that lost its last writes (kill -9) numbers new ones from lower.
   */
  async refresh(key: string): Promise<T | undefined> {
    const entry = await this.kv.get(key);
    if (entry) {
      this.slots.delete(key);
      this.apply(entry);
    } else if (this.slots.has(key) && holds(this.slots.get(key)!)) {
      this.set(key, { revision: 0, value: undefined });
    }
    return this.get(key);
  }

  /** Records a value this replica just wrote at `revision` (and spares decoding the watch's copy of it). */
  put(key: string, value: T, revision: number): void {
    const current = this.slots.get(key);
    if (current && current.revision === revision && current.raw) {
      // The watch's copy of this very write came first and was announced then: take the value, announce nothing.
      current.raw = undefined;
      current.value = value;
      return;
    }
    if (current && current.revision >= revision) return;
    this.set(key, { revision, value });
  }

  get(key: string): T | undefined {
    const slot = this.slots.get(key);
    return slot ? this.valueOf(slot) : undefined;
  }

  /** The revision last seen for the key (0: never seen), without decoding its value. */
  revision(key: string): number {
    return this.slots.get(key)?.revision ?? 0;
  }

  /** Value and revision as last seen (revision 0: never seen), for a compare-and-swap without a read. */
  known(key: string): { value: T | undefined; revision: number } {
    const slot = this.slots.get(key);
    return slot ? { value: this.valueOf(slot), revision: slot.revision } : { value: undefined, revision: 0 };
  }

  *entries(): IterableIterator<[string, T]> {
    for (const [key, slot] of this.slots) {
      const value = this.valueOf(slot);
      if (value !== undefined) yield [key, value];
    }
  }

  get size(): number {
    let count = 0;
    for (const slot of this.slots.values()) if (this.valueOf(slot) !== undefined) count += 1;
    return count;
  }

  /** Called with each key whose entry changed; `get` it to read the value (decoded then, once). */
  onChange(listener: (key: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconcileTimer);
    const watcher = this.watcher;
    this.watcher = undefined;
    watcher?.stop();
    await this.watching?.catch(() => undefined);
    await this.syncing?.catch(() => undefined);
  }

  private get name(): string {
    return this.options.name ?? 'kv';
  }

  private set(key: string, slot: Slot<T>): void {
    this.slots.set(key, slot);
    for (const listener of this.listeners) listener(key);
  }

  /** The slot's value, decoding its raw entry on first read (an undecodable one reads as absent). */
  private valueOf(slot: Slot<T>): T | undefined {
    const raw = slot.raw;
    if (raw) {
      slot.raw = undefined;
      try {
        slot.value = this.decode(raw);
      } catch (err) {
        this.log.warn({ err, key: raw.key, bucket: this.name }, 'ignoring undecodable KV entry');
      }
    }
    return slot.value;
  }

  /** A new watch first (so nothing written during the read is missed), then the snapshot. */
  private async sync(): Promise<void> {
    const previous = this.watcher;
    this.watcher = undefined; // so that its end is not taken for a failure
    previous?.stop();
    await this.watching?.catch(() => undefined);
    if (this.stopped) return;
    const before = new Map(this.slots);
    const watcher = await this.kv.watch({ include: KvWatchInclude.UpdatesOnly });
    this.watcher = watcher;
    this.watching = (async () => {
      for await (const entry of watcher) this.apply(entry);
    })().finally(() => {
      // A watch that ends while we still want it means the mirror stops moving: start over.
      if (this.watcher === watcher && !this.stopped) this.requestResync('watch ended');
    });
    const seen = await this.readBucket();
    const highest = Math.max(0, ...[...before.values()].map((slot) => slot.revision));
    if (highest > seen.lastSeq) {
      // The bucket's stream went back (a server lost its last writes, or the bucket was recreated): revisions
      // seen before mean nothing now. Forget them, or every newer write at a lower revision would be ignored.
      this.log.warn({ bucket: this.name, highest, lastSeq: seen.lastSeq }, 'bucket rewound; mirror rebuilt');
      for (const [key, slot] of before) if (this.slots.get(key) === slot) this.slots.delete(key);
    }
    this.applySnapshot(seen);
    for (const [key, slot] of before) {
      if (!this.slots.has(key) && holds(slot)) this.set(key, { revision: 0, value: undefined });
    }
    this.isCurrent = true;
    this.lastSync = Date.now();
  }

  private async readBucket(): Promise<{ entries: Map<string, KvEntry>; lastSeq: number }> {
    // The stream's last sequence before listing: a key missing from the listing was deleted at or before it.
    const lastSeq = (await this.kv.status()).streamInfo.state.last_seq;
    const names: string[] = [];
    for await (const key of await this.kv.keys()) names.push(key);
    const entries = new Map<string, KvEntry>();
    await Promise.all(
      names.map(async (key) => {
        const entry = await this.kv.get(key);
        if (entry) entries.set(key, entry);
      }),
    );
    return { entries, lastSeq };
  }

  private applySnapshot(seen: { entries: Map<string, KvEntry>; lastSeq: number }): void {
    for (const entry of seen.entries.values()) this.apply(entry);
    for (const [key, slot] of [...this.slots]) {
      if (holds(slot) && !seen.entries.has(key) && slot.revision <= seen.lastSeq) {
        this.set(key, { revision: seen.lastSeq, value: undefined });
      }
    }
  }
}
