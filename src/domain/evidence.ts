/**
 * What a result is allowed to teach. An execution result is an agent's claim; the worker's own task record says
 * which agent held which attempt, of which task type, since when. Evidence is the claim bounded by that record:
 * - its key is derived from (taskId, attempt, agentId), so the agent's `executionId` decides nothing (it is kept as
 *   `reportedExecutionId`): one counted outcome per attempt, which no other agent can take first;
 * - its task type is the assignment's, not the payload's;
 * - its time lies between the assignment and when the server received the result (never after the worker's
 *   clock), and its duration is no longer than the assignment existed;
 * - success, quality and cost stay the agent's claims, within the schema's ranges.
 */
import type { ExecutionResult } from './messages.js';

/** The stored form of a result: evidence, with the id the agent reported kept for tracing. */
export type ExecutionRecord = ExecutionResult & { reportedExecutionId?: string };

/**
 * The key of the one counted outcome of (task, attempt, agent): `<taskId>:<attempt>:<agentId>`, each part
 * percent-encoded so that no choice of ids (which may contain `:`) can make two triples share a key.
 */
export function evidenceId(taskId: string, attempt: number, agentId: string): string {
  return [taskId, String(attempt), agentId].map(encodeURIComponent).join(':');
}

export interface HeldAttempt {
  attempt: number;
  taskType: string;
  /** When the worker assigned the attempt (its own clock). */
  assignedAt: string;
}

/**
 * The result as evidence of `held`. `receivedAt` is the server's time of the result message; `now` the worker's
 * clock. Times outside [assignedAt, min(receivedAt, now)] are clamped into it.
 */
export function toEvidence(
  result: ExecutionResult,
  held: HeldAttempt,
  receivedAt: Date,
  now: Date,
): ExecutionRecord {
  const from = Date.parse(held.assignedAt);
  const until = Math.max(from, Math.min(receivedAt.getTime(), now.getTime()));
  const finished = clamp(Date.parse(result.finishedAt), from, until);
  const evidence: ExecutionRecord = {
    executionId: evidenceId(result.taskId, held.attempt, result.agentId),
    reportedExecutionId: result.executionId,
    taskId: result.taskId,
    agentId: result.agentId,
    taskType: held.taskType,
    attempt: held.attempt,
    success: result.success,
    durationMs: clamp(result.durationMs, 0, finished - from),
    finishedAt: new Date(finished).toISOString(),
  };
  if (result.startedAt !== undefined) {
    evidence.startedAt = new Date(clamp(Date.parse(result.startedAt), from, finished)).toISOString();
  }
  if (result.qualityScore !== undefined) evidence.qualityScore = result.qualityScore;
  if (result.costCents !== undefined) evidence.costCents = result.costCents;
  if (result.provider !== undefined) evidence.provider = result.provider;
  if (result.error !== undefined) evidence.error = result.error;
  return evidence;
}

/** NaN (an unparsable time) lands on the lower bound. */
function clamp(value: number, lo: number, hi: number): number {
  return Number.isFinite(value) ? Math.min(hi, Math.max(lo, value)) : lo;
}
