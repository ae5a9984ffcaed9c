/**
 * Per-(agent, task type) expertise: the types and the batch computation from a full execution history.
 * Semantics (README "Learning semantics"):
 * - window: the 100 most recent executions by finishedAt, ties broken by executionId (the larger id counts as
 *   more recent). successRate, recentSuccessRate, avgDurationMs and trend are computed over the window.
 * - totalExecutions counts every unique execution; confidence = min(1, totalExecutions / 20).
 * - learningCurve: one point per UTC day from the 30 UTC days ending on `now`'s day (plus later days, from clock
 *   skew), over every unique execution, not just the window.
 */
import { recencyWeight } from './recency.js';
import { ageInDays, dayIndexOfKey, dayKey, toEpochMs, utcDayIndex } from './time.js';

export const WINDOW_SIZE = 100;
export const CONFIDENCE_FULL_AT = 20;
export const CURVE_DAYS = 30;
export const TREND_PERIOD_DAYS = 7;
export const TREND_MIN_EXECUTIONS = 3;
export const TREND_THRESHOLD = 0.05;
const FLOAT_SLACK = 1e-12;

export interface ExecutionData {
  executionId: string;
  success: boolean;
  durationMs: number;
  finishedAt: string | Date;
  qualityScore?: number;
  costCents?: number;
}

export type Trend = 'improving' | 'stable' | 'declining' | 'unknown';

export interface LearningCurvePoint {
  day: string;
  executions: number;
  successes: number;
  successRate: number;
  avgDurationMs: number;
}

export interface TaskTypeExpertise {
  taskType: string;
  totalExecutions: number;
  windowSize: number;
  successRate: number;
  recentSuccessRate: number;
  confidence: number;
  avgDurationMs: number;
  learningCurve: LearningCurvePoint[];
  trend: Trend;
  /** ISO 8601 UTC of the latest finishedAt, null without history. */
  lastExecutionAt: string | null;
  /** ISO 8601 UTC of the `now` these numbers were computed for (recentSuccessRate and trend depend on it). */
  asOf: string;
}

/** The part of an execution the window statistics need. */
export interface WindowEntry {
  executionId: string;
  finishedAtMs: number;
  success: boolean;
  durationMs: number;
}

/** Per-day aggregate; durations are summed so a day can be merged incrementally. */
export interface DayBucket {
  day: string;
  executions: number;
  successes: number;
  totalDurationMs: number;
}

/** Most recent first: later finishedAt first, then the larger executionId. */
export function compareRecency(a: WindowEntry, b: WindowEntry): number {
  if (a.finishedAtMs !== b.finishedAtMs) return b.finishedAtMs - a.finishedAtMs;
  if (a.executionId === b.executionId) return 0;
  return a.executionId < b.executionId ? 1 : -1;
}

export function toWindowEntry(execution: ExecutionData): WindowEntry {
  return {
    executionId: execution.executionId,
    finishedAtMs: toEpochMs(execution.finishedAt),
    success: execution.success,
    durationMs: execution.durationMs,
  };
}

export function confidenceFor(totalExecutions: number): number {
  return Math.min(1, totalExecutions / CONFIDENCE_FULL_AT);
}

interface WindowStats {
  successRate: number;
  recentSuccessRate: number;
  avgDurationMs: number;
  trend: Trend;
}

/** Statistics over a window already sorted most recent first (the order makes float sums reproducible). */
export function windowStats(window: readonly WindowEntry[], nowMs: number): WindowStats {
  if (window.length === 0)
    return { successRate: 0, recentSuccessRate: 0, avgDurationMs: 0, trend: 'unknown' };
  let successes = 0;
  let totalDuration = 0;
  let weighted = 0;
  let totalWeight = 0;
  const periods = [
    { executions: 0, successes: 0 },
    { executions: 0, successes: 0 },
  ];
  for (const entry of window) {
    const age = ageInDays(entry.finishedAtMs, nowMs);
    const weight = recencyWeight(age);
    const ok = entry.success ? 1 : 0;
    successes += ok;
    totalDuration += entry.durationMs;
    weighted += weight * ok;
    totalWeight += weight;
    const period = periods[Math.floor(age / TREND_PERIOD_DAYS)];
    if (period) {
      period.executions += 1;
      period.successes += ok;
    }
  }
  return {
    successRate: successes / window.length,
    recentSuccessRate: totalWeight > 0 ? weighted / totalWeight : 0,
    avgDurationMs: totalDuration / window.length,
    trend: trendOf(periods[0]!, periods[1]!),
  };
}

function trendOf(
  current: { executions: number; successes: number },
  previous: { executions: number; successes: number },
): Trend {
  if (current.executions < TREND_MIN_EXECUTIONS || previous.executions < TREND_MIN_EXECUTIONS)
    return 'unknown';
  const delta = current.successes / current.executions - previous.successes / previous.executions;
  // Float slack so that a difference of exactly 0.05 (0.65 − 0.60 = 0.05000000000000004) stays 'stable'.
  if (delta > TREND_THRESHOLD + FLOAT_SLACK) return 'improving';
  if (delta < -TREND_THRESHOLD - FLOAT_SLACK) return 'declining';
  return 'stable';
}

/** Curve points from day buckets: the days on or after `now`'s UTC day minus 29, ascending. */
export function curveFromBuckets(buckets: Iterable<DayBucket>, nowMs: number): LearningCurvePoint[] {
  const firstDay = utcDayIndex(nowMs) - (CURVE_DAYS - 1);
  const points: LearningCurvePoint[] = [];
  for (const bucket of buckets) {
    if (dayIndexOfKey(bucket.day) < firstDay || bucket.executions === 0) continue;
    points.push({
      day: bucket.day,
      executions: bucket.executions,
      successes: bucket.successes,
      successRate: bucket.successes / bucket.executions,
      avgDurationMs: bucket.totalDurationMs / bucket.executions,
    });
  }
  return points.sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : 0));
}

/** Adds one execution to a day bucket map (keyed by day). */
export function addToBucket(buckets: Map<string, DayBucket>, entry: WindowEntry): void {
  const day = dayKey(utcDayIndex(entry.finishedAtMs));
  const bucket = buckets.get(day) ?? { day, executions: 0, successes: 0, totalDurationMs: 0 };
  buckets.set(day, {
    day,
    executions: bucket.executions + 1,
    successes: bucket.successes + (entry.success ? 1 : 0),
    totalDurationMs: bucket.totalDurationMs + entry.durationMs,
  });
}

/**
 * Batch computation from a full history. Duplicated executionIds count once (the first occurrence wins, as in
 * the knowledge graph).
 */
export function computeExpertise(
  executions: readonly ExecutionData[],
  taskType: string,
  now: Date,
): TaskTypeExpertise {
  const nowMs = toEpochMs(now);
  const unique = new Map<string, WindowEntry>();
  for (const execution of executions) {
    if (!unique.has(execution.executionId)) unique.set(execution.executionId, toWindowEntry(execution));
  }
  const all = [...unique.values()].sort(compareRecency);
  const window = all.slice(0, WINDOW_SIZE);
  const buckets = new Map<string, DayBucket>();
  // Oldest first, so per-day float sums accumulate in the same order as incremental ingestion of sorted input.
  for (let i = all.length - 1; i >= 0; i -= 1) addToBucket(buckets, all[i]!);
  const latest = all[0];
  return {
    taskType,
    totalExecutions: all.length,
    windowSize: window.length,
    ...windowStats(window, nowMs),
    confidence: confidenceFor(all.length),
    learningCurve: curveFromBuckets(buckets.values(), nowMs),
    lastExecutionAt: latest ? new Date(latest.finishedAtMs).toISOString() : null,
    asOf: new Date(nowMs).toISOString(),
  };
}
