/** The worker's lifecycle state and its readiness, as the probes and `Worker.ready()` report them. */
import { withTimeout } from '../kg/bounded.js';

/**
 * starting → running → draining → stopped; `failed` when run() could not start the consumers or the NATS
 * connection closed for good while running (the process should exit and be restarted). A failed worker stays
 * `failed` after shutdown(), so the failure is still what its state says.
 */
export type WorkerState = 'starting' | 'running' | 'draining' | 'stopped' | 'failed';

export interface ReadinessCheck {
  name: string;
  /** Rejects when the dependency is not usable. */
  check: () => Promise<void>;
}

export interface CheckResult {
  name: string;
  ok: boolean;
  /** Why the check failed. */
  error?: string;
}

export interface Readiness {
  /** True only while running and every check passes. */
  ready: boolean;
  state: WorkerState;
  /** Empty unless running: a worker that is not running is not ready whatever its dependencies say. */
  checks: CheckResult[];
}

/** A check that does not answer within this time fails (a probe must answer before the kubelet gives up). */
export const CHECK_TIMEOUT_MS = 2000;

export async function readiness(state: WorkerState, checks: readonly ReadinessCheck[]): Promise<Readiness> {
  if (state !== 'running') return { ready: false, state, checks: [] };
  const results = await Promise.all(
    checks.map(async ({ name, check }): Promise<CheckResult> => {
      try {
        await withTimeout(check(), CHECK_TIMEOUT_MS, 'readiness check');
        return { name, ok: true };
      } catch (err) {
        return { name, ok: false, error: err instanceof Error ? err.message : String(err) };
      }
    }),
  );
  return { ready: results.every((c) => c.ok), state, checks: results };
}
