/** Given-helpers for the pure core: histories built from readable descriptions. */
import type { ExecutionData } from '../../src/index.js';
import { MS_PER_DAY } from '../../src/index.js';

export const NOW = new Date('2026-06-15T12:00:00.000Z');

let counter = 0;

/** One execution `ageDays` before `now`. */
export function execution(
  ageDays: number,
  success: boolean,
  durationMs = 1000,
  now: Date = NOW,
  executionId = `ex-${String(++counter).padStart(6, '0')}`,
): ExecutionData {
  return {
    executionId,
    success,
    durationMs,
    finishedAt: new Date(now.getTime() - ageDays * MS_PER_DAY).toISOString(),
  };
}

/** `count` executions, one per day from `count - 1` days ago to today; the first `successes` (oldest) succeed. */
export function dailyHistory(count: number, successes: number, now: Date = NOW): ExecutionData[] {
  return Array.from({ length: count }, (_, i) => execution(count - 1 - i, i < successes, 1000 + i, now));
}
