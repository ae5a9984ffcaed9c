/**
 * The incremental form of expertise, kept per (agent, task type) in the profile cache and updated on every
 * execution result. JSON-serialisable and size-bounded: the 100-execution window, the day buckets of the last
 * `BUCKET_HORIZON_DAYS` days, and the ids of the last `DEDUPE_MEMORY` applied executions.
 *
 * Invariant (property-tested): applying any sequence of executions — any order, any duplicates — then reading at
 * `now` gives what `computeExpertise` gives over the unique history, provided that
 *   1. a duplicate arrives within `DEDUPE_MEMORY` applications of its first copy (or is still in the window), and
 *   2. `now` is no earlier than `lastExecutionAt` minus (BUCKET_HORIZON_DAYS − CURVE_DAYS) days.
 * Neither can be lifted with bounded memory: telling an arbitrary old duplicate from a new execution needs every
 * id ever seen. The worker closes gap 1 with the knowledge graph (it remembers which results reached the cache).
 *
 * Version 2 keeps each window entry's `costCents` and `qualityScore` (when the result carried them): the decision
 * policies learn reward and cost from the window. A version-1 state (from a cache written before) still reads —
 * its entries simply have neither — and `applyExecution` writes it back as version 2.
 */
import type { DayBucket, ExecutionData, TaskTypeExpertise, WindowEntry } from './expertise.js';
import {
  WINDOW_SIZE,
  addToBucket,
  compareRecency,
  confidenceFor,
  curveFromBuckets,
  toWindowEntry,
  windowStats,
} from './expertise.js';
import { dayKey, toEpochMs, utcDayIndex } from './time.js';

/** Day buckets older than this many days before the latest execution's day are dropped. */
export const BUCKET_HORIZON_DAYS = 40;
/** How many applied execution ids are remembered for deduplication beyond the window. */
export const DEDUPE_MEMORY = 256;
export const EXPERTISE_STATE_VERSION = 2;
/** Versions a cached state may carry; anything older than the current one is upgraded on its next update. */
export type ExpertiseStateVersion = 1 | typeof EXPERTISE_STATE_VERSION;

/** A window entry plus what the decision policies learn from: the result's cost and quality, when reported. */
export interface StateWindowEntry extends WindowEntry {
  costCents?: number;
  qualityScore?: number;
}

export interface ExpertiseState {
  version: ExpertiseStateVersion;
  taskType: string;
  totalExecutions: number;
  /** Epoch ms of the latest finishedAt, null without history. */
  lastExecutionAtMs: number | null;
  /** At most WINDOW_SIZE entries, most recent first. */
  window: StateWindowEntry[];
  /** Ascending by day, only days within BUCKET_HORIZON_DAYS of the latest execution's day. */
  days: DayBucket[];
  /** Ids of the last DEDUPE_MEMORY applied executions, oldest first. */
  recentIds: string[];
}

export function createExpertiseState(taskType: string): ExpertiseState {
  return {
    version: EXPERTISE_STATE_VERSION,
    taskType,
    totalExecutions: 0,
    lastExecutionAtMs: null,
    window: [],
    days: [],
    recentIds: [],
  };
}

/** True when the state already holds this execution (applying it again would change nothing). */
export function hasApplied(state: ExpertiseState, executionId: string): boolean {
  return (
    state.recentIds.includes(executionId) || state.window.some((entry) => entry.executionId === executionId)
  );
}

/** Returns the next state; the input is not modified. Applying an execution already held returns `state`. */
export function applyExecution(state: ExpertiseState, execution: ExecutionData): ExpertiseState {
  if (hasApplied(state, execution.executionId)) return state;
  const entry = toStateWindowEntry(execution);
  const lastExecutionAtMs =
    state.lastExecutionAtMs === null
      ? entry.finishedAtMs
      : Math.max(state.lastExecutionAtMs, entry.finishedAtMs);
  const horizonStart = utcDayIndex(lastExecutionAtMs) - BUCKET_HORIZON_DAYS;
  // 'YYYY-MM-DD' keys order as their days do, so the horizon test is a string comparison (no date parsing on the
  // hot path).
  const horizonKey = dayKey(horizonStart);

  const buckets = new Map<string, DayBucket>();
  for (const bucket of state.days) {
    if (bucket.day >= horizonKey) buckets.set(bucket.day, bucket);
  }
  if (utcDayIndex(entry.finishedAtMs) >= horizonStart) addToBucket(buckets, entry);

  const recentIds = [...state.recentIds, entry.executionId];
  if (recentIds.length > DEDUPE_MEMORY) recentIds.splice(0, recentIds.length - DEDUPE_MEMORY);

  return {
    version: EXPERTISE_STATE_VERSION,
    taskType: state.taskType,
    totalExecutions: state.totalExecutions + 1,
    lastExecutionAtMs,
    window: insertIntoWindow(state.window, entry),
    days: [...buckets.values()].sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : 0)),
    recentIds,
  };
}

/** The window entry, with cost and quality only when they are finite numbers (absent keys keep states small). */
function toStateWindowEntry(execution: ExecutionData): StateWindowEntry {
  const entry: StateWindowEntry = toWindowEntry(execution);
  if (typeof execution.costCents === 'number' && Number.isFinite(execution.costCents))
    entry.costCents = execution.costCents;
  if (typeof execution.qualityScore === 'number' && Number.isFinite(execution.qualityScore))
    entry.qualityScore = execution.qualityScore;
  return entry;
}

function insertIntoWindow(window: readonly StateWindowEntry[], entry: StateWindowEntry): StateWindowEntry[] {
  // Binary search for the first entry that ranks after the new one.
  let low = 0;
  let high = window.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (compareRecency(window[mid]!, entry) < 0) low = mid + 1;
    else high = mid;
  }
  if (low >= WINDOW_SIZE) return window as StateWindowEntry[];
  const next = [...window.slice(0, low), entry, ...window.slice(low, WINDOW_SIZE - 1)];
  return next;
}

/** Reads the expertise the state stands for at time `now`. */
export function expertiseFromState(state: ExpertiseState, now: Date): TaskTypeExpertise {
  const nowMs = toEpochMs(now);
  return {
    taskType: state.taskType,
    totalExecutions: state.totalExecutions,
    windowSize: state.window.length,
    ...windowStats(state.window, nowMs),
    confidence: confidenceFor(state.totalExecutions),
    learningCurve: curveFromBuckets(state.days, nowMs),
    lastExecutionAt:
      state.lastExecutionAtMs === null ? null : new Date(state.lastExecutionAtMs).toISOString(),
    asOf: new Date(nowMs).toISOString(),
  };
}

/**
 * Only what ranking needs, at time `now`: window rates, confidence and totals, without the learning curve.
 * Cheaper than expertiseFromState on the hot path (one decision per task).
 */
export function rankingView(
  state: ExpertiseState,
  now: Date,
): Pick<TaskTypeExpertise, 'successRate' | 'recentSuccessRate' | 'confidence' | 'totalExecutions'> {
  const { successRate, recentSuccessRate } = windowStats(state.window, toEpochMs(now));
  return {
    successRate,
    recentSuccessRate,
    confidence: confidenceFor(state.totalExecutions),
    totalExecutions: state.totalExecutions,
  };
}
