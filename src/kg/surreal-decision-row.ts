/**
 * Mapping between a {@link DecisionRecord} and its `kg_decisions` row. The candidates are stored as one JSON
 * string: the table is SCHEMAFULL, and an array of nested objects would need every nested field declared (or the
 * field made FLEXIBLE) — the log is read whole, never queried inside, so a string is the honest type.
 */
import { DateTime, RecordId } from 'surrealdb';
import type { DecisionCandidate, DecisionRecord } from './decision-record.js';
import { decisionId } from './decision-record.js';
import { DECISIONS_TABLE } from './surreal-schema.js';

export interface DecisionRow {
  id: RecordId;
  task_id: string;
  attempt: number;
  task_type: string;
  policy: string;
  mode: string;
  chosen: string;
  propensity: number;
  explored: boolean;
  candidates_json: string;
  at: DateTime;
}

export function decisionRecordId(taskId: string, attempt: number): RecordId {
  return new RecordId(DECISIONS_TABLE, decisionId(taskId, attempt));
}

export function toDecisionRow(d: DecisionRecord): DecisionRow {
  return {
    id: decisionRecordId(d.taskId, d.attempt),
    task_id: d.taskId,
    attempt: d.attempt,
    task_type: d.taskType,
    policy: d.policy,
    mode: d.mode,
    chosen: d.chosen,
    propensity: d.propensity,
    explored: d.explored,
    candidates_json: JSON.stringify(d.candidates),
    at: new DateTime(new Date(d.at)),
  };
}

export function fromDecisionRow(row: DecisionRow): DecisionRecord {
  return {
    taskId: row.task_id,
    attempt: row.attempt,
    taskType: row.task_type,
    policy: row.policy,
    mode: row.mode === 'load-fallback' ? 'load-fallback' : 'learned',
    chosen: row.chosen,
    propensity: row.propensity,
    explored: row.explored,
    candidates: JSON.parse(row.candidates_json) as DecisionCandidate[],
    at: row.at.toDate().toISOString(),
  };
}
