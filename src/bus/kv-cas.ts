/**
 * Compare-and-swap updates of one KV key, retried on conflict. This is how concurrent worker replicas update the
 * same profile or capacity entry without losing an update: read revision → compute → write only if unchanged.
 */
import type { KV } from '@nats-io/kv';
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

export interface CasOptions {
  /** @default 50 */
  maxAttempts?: number;
  onConflict?: () => void;
}

export class CasExhaustedError extends Error {
  constructor(key: string, attempts: number) {
    super(`compare-and-swap on ${key} still conflicting after ${attempts} attempts`);
    this.name = 'CasExhaustedError';
  }
}

/**
 * `update(current)` returns the next value, or `undefined` to leave the key as it is. It may run several times
 * (once per attempt), so it must be pure.
 */
export async function casUpdate<T>(
  kv: KV,
  key: string,
  update: (current: T | undefined) => T | undefined | Promise<T | undefined>,
  options: CasOptions = {},
): Promise<CasResult<T>> {
  const maxAttempts = options.maxAttempts ?? 50;
  for (let attempt = 0; attempt < maxAttempts; attempt += 1) {
    const entry = await kv.get(key);
    const live = entry && entry.operation === 'PUT' ? entry : null;
    const current = live ? (live.json() as T) : undefined;
    const next = await update(current);
    if (next === undefined) {
      return { value: current, written: false, revision: live?.revision ?? 0, conflicts: attempt };
    }
    const data = JSON.stringify(next);
    try {
      // A deleted/purged key still has a revision: update against it, create only when there was never one.
      const revision = entry ? await kv.update(key, data, entry.revision) : await kv.create(key, data);
      return { value: next, written: true, revision, conflicts: attempt };
    } catch (err) {
      if (!isCasConflict(err)) throw err;
      options.onConflict?.();
      // Jitter spreads out replicas that keep colliding on a hot key.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 2 ** attempt)));
    }
  }
  throw new CasExhaustedError(key, maxAttempts);
}
