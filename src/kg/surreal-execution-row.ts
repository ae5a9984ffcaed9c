/**
 * Mapping between the camelCase message and the snake_case `kg_executions` row. Timestamps cross as SurrealDB
 * datetimes built from a JS Date, so what comes back is exactly `new Date(x).toISOString()` (millisecond precision:
 * the KG normalises timestamps to that form; see ./knowledge-graph.ts).
 */
import { DateTime, RecordId } from 'surrealdb';
import type { ExecutionRecord } from '../domain/evidence.js';
import { normaliseExecution } from './normalise-execution.js';
import { EXECUTIONS_TABLE } from './surreal-schema.js';

export interface ExecutionRow {
  id: RecordId;
  agent_id: string;
  task_id: string;
  task_type: string;
  success: boolean;
  duration_ms: number;
  finished_at: DateTime;
  started_at?: DateTime;
  quality_score?: number;
  cost_cents?: number;
  provider?: string;
  error?: string;
  attempt?: number;
  reported_execution_id?: string;
  profile_applied?: boolean;
  recorded_at?: DateTime;
}

/** Record id = executionId, always as a string key (an id like "123" must not become a number key). */
export function executionRecordId(executionId: string): RecordId {
  return new RecordId(EXECUTIONS_TABLE, executionId);
}

/** The row to insert. Absent optionals are left out entirely, which SurrealDB stores as NONE (absent). */
export function toRow(execution: ExecutionRecord): ExecutionRow {
  const e = normaliseExecution(execution);
  const row: ExecutionRow = {
    id: executionRecordId(e.executionId),
    agent_id: e.agentId,
    task_id: e.taskId,
    task_type: e.taskType,
    success: e.success,
    duration_ms: e.durationMs,
    finished_at: new DateTime(new Date(e.finishedAt)),
  };
  if (e.startedAt !== undefined) row.started_at = new DateTime(new Date(e.startedAt));
  if (e.qualityScore !== undefined) row.quality_score = e.qualityScore;
  if (e.costCents !== undefined) row.cost_cents = e.costCents;
  if (e.provider !== undefined) row.provider = e.provider;
  if (e.error !== undefined) row.error = e.error;
  if (e.attempt !== undefined) row.attempt = e.attempt;
  if (e.reportedExecutionId !== undefined) row.reported_execution_id = e.reportedExecutionId;
  return row;
}

export function fromRow(row: ExecutionRow): ExecutionRecord {
  const out: ExecutionRecord = {
    executionId: String(row.id.id),
    taskId: row.task_id,
    agentId: row.agent_id,
    taskType: row.task_type,
    success: row.success,
    durationMs: row.duration_ms,
    // DateTime#toISOString() prints "…00.5Z"; going through Date gives the promised "…00.500Z" form.
    finishedAt: row.finished_at.toDate().toISOString(),
  };
  if (row.started_at != null) out.startedAt = row.started_at.toDate().toISOString();
  if (row.quality_score != null) out.qualityScore = row.quality_score;
  if (row.cost_cents != null) out.costCents = row.cost_cents;
  if (row.provider != null) out.provider = row.provider;
  if (row.error != null) out.error = row.error;
  if (row.attempt != null) out.attempt = row.attempt;
  if (row.reported_execution_id != null) out.reportedExecutionId = row.reported_execution_id;
  return out;
}
