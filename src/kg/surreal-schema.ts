/**
 * The `kg_executions` and `kg_decisions` schema (SurrealDB 3.x syntax) and how it is applied. Every statement is idempotent
 * (`IF NOT EXISTS`), so applying it at every connect is safe, including by several processes against one server.
 *
 * Engine caveat (measured with @surrealdb/node 3.0.3 / SurrealDB 3.0.2; regression test test/kg/process-exit): running
 * `DEFINE INDEX` on an *embedded* store leaks that store inside the native engine for the rest of the process. After
 * `close()` the process never exits on its own, and the surrealkv file lock is never released, so reopening the same
 * directory in the same process deadlocks. A store that already has the index (defined by an earlier process) does
 * not leak. Hence the index is defined separately from tables and fields, and only when it is missing; see
 * ./surreal-index-bootstrap.ts for how embedded stores get it.
 */
import type { Surreal } from 'surrealdb';

export const EXECUTIONS_TABLE = 'kg_executions';
/** The decision log (docs/policies.md). No index: it is read by the CLI's replay, a scan over `at`, never hot. */
export const DECISIONS_TABLE = 'kg_decisions';
export const RECENCY_INDEX = 'kg_executions_agent_type_finished';
/** Daily aggregates left by retention; record id = [agent_id, task_type, day]. Small: pairs × days. */
export const ROLLUPS_TABLE = 'kg_daily_rollups';

export const TABLE_AND_FIELDS_SURQL = `
DEFINE TABLE IF NOT EXISTS ${EXECUTIONS_TABLE} SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS agent_id ON ${EXECUTIONS_TABLE} TYPE string;
DEFINE FIELD IF NOT EXISTS task_id ON ${EXECUTIONS_TABLE} TYPE string;
DEFINE FIELD IF NOT EXISTS task_type ON ${EXECUTIONS_TABLE} TYPE string;
DEFINE FIELD IF NOT EXISTS success ON ${EXECUTIONS_TABLE} TYPE bool;
DEFINE FIELD IF NOT EXISTS duration_ms ON ${EXECUTIONS_TABLE} TYPE number;
DEFINE FIELD IF NOT EXISTS finished_at ON ${EXECUTIONS_TABLE} TYPE datetime;
DEFINE FIELD IF NOT EXISTS started_at ON ${EXECUTIONS_TABLE} TYPE option<datetime>;
DEFINE FIELD IF NOT EXISTS quality_score ON ${EXECUTIONS_TABLE} TYPE option<float>;
DEFINE FIELD IF NOT EXISTS cost_cents ON ${EXECUTIONS_TABLE} TYPE option<float>;
DEFINE FIELD IF NOT EXISTS provider ON ${EXECUTIONS_TABLE} TYPE option<string>;
DEFINE FIELD IF NOT EXISTS error ON ${EXECUTIONS_TABLE} TYPE option<string>;
DEFINE FIELD IF NOT EXISTS attempt ON ${EXECUTIONS_TABLE} TYPE option<int>;
DEFINE FIELD IF NOT EXISTS reported_execution_id ON ${EXECUTIONS_TABLE} TYPE option<string>;
DEFINE FIELD IF NOT EXISTS profile_applied ON ${EXECUTIONS_TABLE} TYPE bool DEFAULT false;
DEFINE FIELD IF NOT EXISTS recorded_at ON ${EXECUTIONS_TABLE} TYPE datetime DEFAULT time::now();
DEFINE TABLE IF NOT EXISTS ${ROLLUPS_TABLE} SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS agent_id ON ${ROLLUPS_TABLE} TYPE string;
DEFINE FIELD IF NOT EXISTS task_type ON ${ROLLUPS_TABLE} TYPE string;
DEFINE FIELD IF NOT EXISTS day ON ${ROLLUPS_TABLE} TYPE string;
DEFINE FIELD IF NOT EXISTS executions ON ${ROLLUPS_TABLE} TYPE int;
DEFINE FIELD IF NOT EXISTS successes ON ${ROLLUPS_TABLE} TYPE int;
DEFINE FIELD IF NOT EXISTS total_duration_ms ON ${ROLLUPS_TABLE} TYPE number;
DEFINE TABLE IF NOT EXISTS ${DECISIONS_TABLE} SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS task_id ON ${DECISIONS_TABLE} TYPE string;
DEFINE FIELD IF NOT EXISTS attempt ON ${DECISIONS_TABLE} TYPE int;
DEFINE FIELD IF NOT EXISTS task_type ON ${DECISIONS_TABLE} TYPE string;
DEFINE FIELD IF NOT EXISTS policy ON ${DECISIONS_TABLE} TYPE string;
DEFINE FIELD IF NOT EXISTS mode ON ${DECISIONS_TABLE} TYPE string;
DEFINE FIELD IF NOT EXISTS chosen ON ${DECISIONS_TABLE} TYPE string;
DEFINE FIELD IF NOT EXISTS propensity ON ${DECISIONS_TABLE} TYPE number;
DEFINE FIELD IF NOT EXISTS explored ON ${DECISIONS_TABLE} TYPE bool;
DEFINE FIELD IF NOT EXISTS candidates_json ON ${DECISIONS_TABLE} TYPE string;
DEFINE FIELD IF NOT EXISTS at ON ${DECISIONS_TABLE} TYPE datetime;
`;

/** Serves "most recent N of (agent, taskType)" and the per-pair filters of counts and rebuilds. */
export const INDEX_SURQL = `DEFINE INDEX IF NOT EXISTS ${RECENCY_INDEX} ON ${EXECUTIONS_TABLE} FIELDS agent_id, task_type, finished_at;`;

export const FULL_SCHEMA_SURQL = `${TABLE_AND_FIELDS_SURQL}\n${INDEX_SURQL}`;

export async function applyTableAndFields(db: Surreal): Promise<void> {
  await db.query(TABLE_AND_FIELDS_SURQL);
}

export async function hasRecencyIndex(db: Surreal): Promise<boolean> {
  const [info] = await db.query<[{ indexes?: Record<string, unknown> }]>(
    `INFO FOR TABLE ${EXECUTIONS_TABLE}`,
  );
  return Object.hasOwn(info?.indexes ?? {}, RECENCY_INDEX);
}

/** Defines the index in this process. On embedded stores this triggers the leak described above. */
export async function defineRecencyIndex(db: Surreal): Promise<void> {
  await db.query(INDEX_SURQL);
}

/** Undoes the leak on an ephemeral (mem://) store right before closing it; its data is discarded anyway. */
export async function removeRecencyIndex(db: Surreal): Promise<void> {
  await db.query(`REMOVE INDEX IF EXISTS ${RECENCY_INDEX} ON ${EXECUTIONS_TABLE}`);
}
