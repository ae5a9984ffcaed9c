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
import { dayIndexOfKey, toEpochMs, utcDayIndex } from './time.js';

/** Day buckets older than this many days before the latest execution's day are dropped. */
export const BUCKET_HORIZON_DAYS = 40;
/** How many applied execution ids are remembered for deduplication beyond the window. */
export const DEDUPE_MEMORY = 256;
export const EXPERTISE_STATE_VERSION = 1;

export interface ExpertiseState {
  version: typeof EXPERTISE_STATE_VERSION;
  taskType: string;
  totalExecutions: number;
  /** Epoch ms of the latest finishedAt, null without history. */
  lastExecutionAtMs: number | null;
  /** At most WINDOW_SIZE entries, most recent first. */
  window: WindowEntry[];
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
  const entry = toWindowEntry(execution);
  const lastExecutionAtMs =
    state.lastExecutionAtMs === null
      ? entry.finishedAtMs
      : Math.max(state.lastExecutionAtMs, entry.finishedAtMs);
  const horizonStart = utcDayIndex(lastExecutionAtMs) - BUCKET_HORIZON_DAYS;

  const buckets = new Map<string, DayBucket>();
  for (const bucket of state.days) {
    if (dayIndexOfKey(bucket.day) >= horizonStart) buckets.set(bucket.day, bucket);
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

function insertIntoWindow(window: readonly WindowEntry[], entry: WindowEntry): WindowEntry[] {
  // Binary search for the first entry that ranks after the new one.
  let low = 0;
  let high = window.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (compareRecency(window[mid]!, entry) < 0) low = mid + 1;
    else high = mid;
  }
  if (low >= WINDOW_SIZE) return window as WindowEntry[];
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
