/**
 * Poll `probe` until it yields a value that is neither `undefined` nor `false`,
 * or until the deadline passes.
 *
 * A probe that throws counts as "not yet": the error is remembered and reported
 * in the timeout message together with the last value returned.
 */
export interface WaitForOptions {
  /** Total time budget. Default 5000 ms. */
  timeoutMs?: number;
  /** Pause between probes. Default 50 ms. */
  intervalMs?: number;
  /**
   * Human description used in the timeout error ("stream to have 3 messages"). A function is called when the
   * wait fails, so the message can carry state gathered meanwhile (a child's logs, say).
   */
  what?: string | (() => string);
}

export async function waitFor<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  opts: WaitForOptions = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const intervalMs = opts.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;

  let attempts = 0;
  let lastValue: unknown;
  let lastError: unknown;

  for (;;) {
    attempts++;
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
      lastValue = v;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }

    const remaining = deadline - Date.now();
    if (remaining <= 0) break;
    await sleep(Math.min(intervalMs, remaining));
  }

  const detail =
    lastError !== undefined ? `last error: ${describe(lastError)}` : `last value: ${describe(lastValue)}`;
  const err = new Error(
    `waitFor: timed out after ${timeoutMs} ms (${attempts} attempts) waiting for ${describeWhat(opts.what)}; ${detail}`,
  );
  if (lastError !== undefined) (err as Error & { cause?: unknown }).cause = lastError;
  throw err;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function describeWhat(what: WaitForOptions['what']): string {
  if (what === undefined) return 'condition';
  return typeof what === 'function' ? what() : what;
}

function describe(v: unknown): string {
  if (v instanceof Error) return `${v.name}: ${v.message}`;
  if (typeof v === 'string') return JSON.stringify(v);
  try {
    const s = JSON.stringify(v);
    return s === undefined ? String(v) : s.length > 500 ? `${s.slice(0, 500)}…` : s;
  } catch {
    return String(v);
  }
}
