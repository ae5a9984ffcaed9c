/**
 * The adapter-independent part of retention: which executions of a pair may go, and the day rollups they leave.
 * Both adapters use it, so the in-memory and SurrealDB knowledge graphs delete and count exactly alike.
 */
import { dayKey, toEpochMs, utcDayIndex } from '../domain/time.js';
import { InvalidInputError } from '../errors.js';
import type { DailyRollup } from './knowledge-graph.js';

/**
 * Executions that finished strictly before the returned instant may be deleted: `before`, pulled back to the
 * finishedAt of the oldest execution that must be kept (the `keep`-th most recent). Undefined: delete nothing
 * (the pair has no more than `keep` executions). Strictly before, so a tie with a kept execution is kept too.
 */
export function deletableBefore(
  before: Date,
  keepBoundaryFinishedAt: string | undefined,
): number | undefined {
  if (keepBoundaryFinishedAt === undefined) return undefined;
  return Math.min(toEpochMs(before), toEpochMs(keepBoundaryFinishedAt));
}

export function checkKeep(keep: number): number {
  if (!Number.isInteger(keep) || keep < 1) {
    throw new InvalidInputError(`retention must keep at least 1 execution per pair, got ${keep}`);
  }
  return keep;
}

export interface RollupInput {
  success: boolean;
  durationMs: number;
  finishedAt: string;
}

/** Per-UTC-day aggregates of one pair's executions, ascending by day. */
export function rollUp(agentId: string, taskType: string, executions: readonly RollupInput[]): DailyRollup[] {
  const days = new Map<string, DailyRollup>();
  for (const e of executions) {
    const day = dayKey(utcDayIndex(toEpochMs(e.finishedAt)));
    const current = days.get(day) ?? {
      agentId,
      taskType,
      day,
      executions: 0,
      successes: 0,
      totalDurationMs: 0,
    };
    days.set(day, {
      ...current,
      executions: current.executions + 1,
      successes: current.successes + (e.success ? 1 : 0),
      totalDurationMs: current.totalDurationMs + e.durationMs,
    });
  }
  return [...days.values()].sort(byDay);
}

export const byDay = (a: DailyRollup, b: DailyRollup): number => (a.day < b.day ? -1 : a.day > b.day ? 1 : 0);
