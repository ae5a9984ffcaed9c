/**
 * The canonical stored form of an execution record, shared by every adapter so they round-trip identically:
 * timestamps normalised (see ./recency-order.ts), optional fields that are `undefined` or `null` dropped, no extra
 * keys. Returns a fresh object: callers may mutate their input afterwards without touching the store.
 */
import type { ExecutionRecord } from '../domain/evidence.js';
import { normaliseTimestamp } from './recency-order.js';

export function normaliseExecution(e: ExecutionRecord): ExecutionRecord {
  const out: ExecutionRecord = {
    executionId: e.executionId,
    taskId: e.taskId,
    agentId: e.agentId,
    taskType: e.taskType,
    success: e.success,
    durationMs: e.durationMs,
    finishedAt: normaliseTimestamp(e.finishedAt, 'finishedAt'),
  };
  if (e.startedAt != null) out.startedAt = normaliseTimestamp(e.startedAt, 'startedAt');
  if (e.qualityScore != null) out.qualityScore = e.qualityScore;
  if (e.costCents != null) out.costCents = e.costCents;
  if (e.provider != null) out.provider = e.provider;
  if (e.error != null) out.error = e.error;
  if (e.attempt != null) out.attempt = e.attempt;
  if (e.reportedExecutionId != null) out.reportedExecutionId = e.reportedExecutionId;
  return out;
}
