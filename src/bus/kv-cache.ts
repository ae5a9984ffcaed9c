/**
 * An in-memory mirror of a KV bucket, kept fresh by a watch, so hot paths (one assignment decision per task)
 * never read KV per candidate. Start-up subscribes to updates first and then reads a snapshot; every entry
 * carries its revision and only a newer revision replaces an older one, so nothing that happens between the two
 * steps is lost.
 */
import type { KV, KvEntry } from '@nats-io/kv';
import { KvWatchInclude } from '@nats-io/kv';
import type { Logger } from 'pino';

interface Slot<T> {
  revision: number;
  value: T | undefined;
}

export class KvCache<T> {
  private readonly slots = new Map<string, Slot<T>>();
  private watcher: Awaited<ReturnType<KV['watch']>> | undefined;
  private watching: Promise<void> | undefined;
  private readonly listeners = new Set<(key: string, value: T | undefined) => void>();

  constructor(
    private readonly kv: KV,
    private readonly decode: (entry: KvEntry) => T | undefined,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    this.watcher = await this.kv.watch({ include: KvWatchInclude.UpdatesOnly });
    this.watching = (async () => {
      for await (const entry of this.watcher!) this.apply(entry);
    })();
    const keys = await this.kv.keys();
    const names: string[] = [];
    for await (const key of keys) names.push(key);
    await Promise.all(
      names.map(async (key) => {
        const entry = await this.kv.get(key);
        if (entry) this.apply(entry);
      }),
    );
  }

  /** Applies an entry read elsewhere (e.g. right after this replica's own CAS write). */
  apply(entry: KvEntry): void {
    const current = this.slots.get(entry.key);
    if (current && current.revision >= entry.revision) return;
    let value: T | undefined;
    if (entry.operation === 'PUT') {
      try {
        value = this.decode(entry);
      } catch (err) {
        this.log.warn({ err, key: entry.key }, 'ignoring undecodable KV entry');
      }
    }
    this.slots.set(entry.key, { revision: entry.revision, value });
    for (const listener of this.listeners) listener(entry.key, value);
  }

  /** Records a value this replica just wrote at `revision`. */
  put(key: string, value: T, revision: number): void {
    const current = this.slots.get(key);
    if (current && current.revision >= revision) return;
    this.slots.set(key, { revision, value });
    for (const listener of this.listeners) listener(key, value);
  }

  get(key: string): T | undefined {
    return this.slots.get(key)?.value;
  }

  /** Value and revision as last seen (revision 0: never seen), for a compare-and-swap without a read. */
  known(key: string): { value: T | undefined; revision: number } {
    const slot = this.slots.get(key);
    return slot ? { value: slot.value, revision: slot.revision } : { value: undefined, revision: 0 };
  }

  *entries(): IterableIterator<[string, T]> {
    for (const [key, slot] of this.slots) if (slot.value !== undefined) yield [key, slot.value];
  }

  get size(): number {
    let count = 0;
    for (const slot of this.slots.values()) if (slot.value !== undefined) count += 1;
    return count;
  }

  onChange(listener: (key: string, value: T | undefined) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async stop(): Promise<void> {
    this.watcher?.stop();
    await this.watching?.catch(() => undefined);
  }
}
