/**
 * Compare-and-swap updates of one KV key, retried on conflict. This is how concurrent worker replicas update the
 * same profile or capacity entry without losing an update: read revision → compute → write only if unchanged.
 */
import type { KV } from '@nats-io/kv';
import { CasExhaustedError } from '../errors.js';
import { isCasConflict } from './errors.js';

export interface CasResult<T> {
  /** The value now stored (or the unchanged current value when `update` returned `undefined`). */
  value: T | undefined;
  written: boolean;
  /** Revision of the stored value (0 when nothing is stored). */
  revision: number;
  /** Conflicts lost before the write succeeded. */
  conflicts: number;
}

export interface CasOptions<T> {
  /** @default 50 */
  maxAttempts?: number;
  onConflict?: () => void;
  /**
   * The value and revision the caller believes are current (e.g. from a watch mirror). The first attempt writes
   * against it without reading; a stale guess costs one conflict, then the loop reads as usual.
   */
  known?: { value: T | undefined; revision: number };
}

/**
 * `update(current)` returns the next value, or `undefined` to leave the key as it is. It may run several times
 * (once per attempt), so it must be pure.
 */
export async function casUpdate<T>(
  kv: KV,
  key: string,
  update: (current: T | undefined) => T | undefined | Promise<T | undefined>,
  options: CasOptions<T> = {},
): Promise<CasResult<T>> {
  const maxAttempts = options.maxAttempts ?? 50;
  let known = options.known;
  for (let attempt = 0; attempt < maxAttempts; attempt += 1) {
    let current: T | undefined;
    let revision: number;
    const fromMirror = known !== undefined;
    if (known) {
      ({ value: current, revision } = known);
      known = undefined;
    } else {
      const entry = await kv.get(key);
      current = entry && entry.operation === 'PUT' ? (entry.json() as T) : undefined;
      // A deleted/purged key still has a revision: update against it, create only when there was never one.
      revision = entry?.revision ?? 0;
    }
    const next = await update(current);
    if (next === undefined) {
      // "Nothing to do" computed on a mirror may be stale (another replica's write not seen yet): read and decide again.
      if (fromMirror) continue;
      return { value: current, written: false, revision, conflicts: attempt };
    }
    const data = JSON.stringify(next);
    try {
      const written = revision > 0 ? await kv.update(key, data, revision) : await kv.create(key, data);
      return { value: next, written: true, revision: written, conflicts: attempt };
    } catch (err) {
      if (!isCasConflict(err)) throw err;
      options.onConflict?.();
      // After a few straight losses, a little jitter spreads out replicas that keep colliding on a hot key.
      if (attempt >= 2)
        await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(20, 2 ** attempt)));
    }
  }
  throw new CasExhaustedError(key, maxAttempts);
}
