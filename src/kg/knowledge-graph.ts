/**
 * The storage port for execution history: one interface for the whole storage boundary, so the learner and the
 * assigner never see SurrealDB. Implementations: {@link SurrealKnowledgeGraph} (embedded or remote SurrealDB) and,
 * for tests and benches, the in-memory one in test/support/memory-knowledge-graph.ts.
 *
 * Semantics every implementation must share (checked by test/kg/knowledge-graph.conformance.ts):
 * - Timestamps are normalised on write to `new Date(x).toISOString()` form: UTC, millisecond precision. A record
 *   written with `finishedAt: '2026-01-31T14:00:00+02:00'` reads back as `'2026-01-31T12:00:00.000Z'`; sub-millisecond
 *   digits are dropped. Compare timestamps as instants, never as the strings a producer sent.
 * - Optional fields that were absent stay absent (never `null` or `undefined`-valued keys).
 * - "Most recent first" = `finishedAt` descending, ties broken by `executionId` descending (plain code-unit order;
 *   ids are ASCII subject tokens, where this equals byte order).
 * - Transport failures reject with `KgUnavailableError` (see ./errors.ts); retrying later is the right reaction.
 * - Retention (`applyRetention`) folds old executions into per-day rollups before deleting them. It deletes only
 *   executions strictly older (by finishedAt) than every execution it keeps, and keeps at least the `keep` most
 *   recent of each (agent, task type): so the retained rows always hold the learning window, and rollups plus
 *   rows together still give the exact totals and day buckets (see ./rebuild.ts).
 */
import type { ExecutionRecord } from '../domain/evidence.js';
import type { DecisionRecord } from './decision-record.js';

export type { DecisionCandidate, DecisionRecord } from './decision-record.js';

export interface ProfileKey {
  agentId: string;
  taskType: string;
}

/** Default `limit` of {@link KnowledgeGraph.getExecutionsForTaskType}: the learning window (DESIGN.md). */
export const DEFAULT_TASK_TYPE_LIMIT = 100;
/** Executions each (agent, task type) keeps whatever their age: the learning window (DESIGN.md). */
export const RETENTION_KEEP_PER_PAIR = 100;

/** What retention leaves of the executions of one (agent, task type) on one UTC day. */
export interface DailyRollup {
  agentId: string;
  taskType: string;
  /** UTC day of finishedAt, `YYYY-MM-DD`. */
  day: string;
  executions: number;
  successes: number;
  /** Sum of durationMs (so days merge exactly with the executions still held). */
  totalDurationMs: number;
}

export interface RetentionResult {
  /** Executions rolled up and deleted by this call. */
  deleted: number;
  /** (agent, task type) pairs that lost executions. */
  pairs: number;
}

/** Default `limit` of {@link KnowledgeGraph.getAgentExecutions}. */
export const DEFAULT_AGENT_LIMIT = 1000;

export interface KnowledgeGraph {
  /**
   * Idempotent by executionId: the first write wins (a later write with the same id changes nothing, even if its
   * content differs); returns 'created' or 'existed'. Safe under concurrent callers: exactly one gets 'created'.
   */
  recordExecution(execution: ExecutionRecord): Promise<'created' | 'existed'>;
  /**
   * Marks that the execution's effect reached the profile cache (used for exactly-once effect after a crash).
   * Rejects (not with KgUnavailableError) when the execution was never recorded: marking comes after recording.
   */
  markProfileApplied(executionId: string): Promise<void>;
  /** markProfileApplied for many executions in one statement; ids never recorded are ignored. */
  markProfilesApplied(executionIds: readonly string[]): Promise<void>;
  /** null when unknown; else whether markProfileApplied was called. */
  isProfileApplied(executionId: string): Promise<boolean | null>;
  getExecution(executionId: string): Promise<ExecutionRecord | null>;
  /** The `limit` most recent by finishedAt desc, ties by executionId desc. limit default 100. */
  getExecutionsForTaskType(agentId: string, taskType: string, limit?: number): Promise<ExecutionRecord[]>;
  /** All task types, most recent first, same order; limit default 1000. */
  getAgentExecutions(agentId: string, limit?: number): Promise<ExecutionRecord[]>;
  /** Every execution of one (agent, taskType), in no particular order — for exact rebuilds; streams in pages internally. */
  getAllExecutionsForTaskType(agentId: string, taskType: string): Promise<ExecutionRecord[]>;
  /** Executions of one pair still held as rows (rolled-up ones are counted in their rollups). */
  countExecutions(agentId: string, taskType: string): Promise<number>;
  /** Distinct (agentId, taskType) pairs present (as rows or rollups), sorted by agentId then taskType. */
  listProfileKeys(): Promise<ProfileKey[]>;
  /**
   * Rolls up, then deletes, the executions that finished before `before`, except each pair's `keep` most recent
   * (and any tied in finishedAt with the oldest kept one). Rollup and delete commit together, per batch: a crash
   * or a concurrent call never counts an execution twice, and calling it again does nothing more. `keep` ≥ 1.
   */
  applyRetention(before: Date, keep?: number): Promise<RetentionResult>;
  /** The rollups of one pair, ascending by day. */
  getDailyRollups(agentId: string, taskType: string): Promise<DailyRollup[]>;
  /**
   * Logs one assignment decision. Idempotent per (taskId, attempt): the first write wins, a later one changes
   * nothing ('existed'). `at` is normalised like every timestamp.
   */
  recordDecision(decision: DecisionRecord): Promise<'created' | 'existed'>;
  /** Decisions with `at` ≥ `since`, oldest first (ties: taskId, then attempt). */
  listDecisions(since: Date): Promise<DecisionRecord[]>;
  /** Cheap liveness query (readiness probe). Rejects when the store is unreachable. */
  ping(): Promise<void>;
  /** Releases the store. Bounded in time (see SurrealKnowledgeGraph.close). Idempotent. */
  close(): Promise<void>;
}
