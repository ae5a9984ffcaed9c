/**
 * Retention on SurrealDB: per (agent, task type), the executions retention may delete (./retention-plan.ts) are
 * read in batches, rolled up in JS, and each batch's delete and rollup upserts commit in one transaction. The
 * transaction throws, and so changes nothing, unless it deleted exactly the rows it read: if another replica got
 * there first, the batch is re-read instead of being counted twice. Calling it again finds nothing to do.
 */
import { DateTime, RecordId } from 'surrealdb';
import { KgRequestError, isKgUnavailable } from '../errors.js';
import type { DailyRollup, ProfileKey, RetentionResult } from './knowledge-graph.js';
import { byDay, checkKeep, deletableBefore, rollUp } from './retention-plan.js';
import type { ExecutionRow } from './surreal-execution-row.js';
import { EXECUTIONS_TABLE, ROLLUPS_TABLE } from './surreal-schema.js';

export type RunQuery = <R extends unknown[]>(
  what: string,
  surql: string,
  bindings?: Record<string, unknown>,
) => Promise<R>;

const BATCH = 1_000;
const MAX_RACES = 5;

interface RollupRow {
  agent_id: string;
  task_type: string;
  day: string;
  executions: number;
  successes: number;
  total_duration_ms: number;
}

type VictimRow = Pick<ExecutionRow, 'id' | 'success' | 'duration_ms' | 'finished_at'>;

const COMMIT_BATCH = `
BEGIN TRANSACTION;
LET $gone = (DELETE $ids RETURN BEFORE);
IF array::len($gone) != array::len($ids) { THROW 'retention: executions changed under this batch' };
FOR $r IN $rollups {
  UPSERT $r.id SET agent_id = $r.agent_id, task_type = $r.task_type, day = $r.day,
    executions += $r.executions, successes += $r.successes, total_duration_ms += $r.total_duration_ms;
};
COMMIT TRANSACTION;`;

export async function applyRetentionTo(
  run: RunQuery,
  pairs: readonly ProfileKey[],
  before: Date,
  keep: number,
): Promise<RetentionResult> {
  checkKeep(keep);
  const result: RetentionResult = { deleted: 0, pairs: 0 };
  for (const { agentId, taskType } of pairs) {
    const [boundary] = await run<[{ finished_at: DateTime }[]]>(
      'applyRetention',
      `SELECT id, finished_at FROM ${EXECUTIONS_TABLE} WHERE agent_id = $agentId AND task_type = $taskType
       ORDER BY finished_at DESC, id DESC LIMIT 1 START $start`,
      { agentId, taskType, start: keep - 1 },
    );
    const limit = deletableBefore(before, boundary[0]?.finished_at.toDate().toISOString());
    if (limit === undefined) continue;
    let deleted = 0;
    for (let races = 0; ;) {
      const [victims] = await run<[VictimRow[]]>(
        'applyRetention',
        `SELECT id, success, duration_ms, finished_at FROM ${EXECUTIONS_TABLE}
         WHERE agent_id = $agentId AND task_type = $taskType AND finished_at < $limit
         ORDER BY finished_at ASC LIMIT $batch`,
        { agentId, taskType, limit: new DateTime(new Date(limit)), batch: BATCH },
      );
      if (victims.length === 0) break;
      const rollups = rollUp(
        agentId,
        taskType,
        victims.map((v) => ({
          success: v.success,
          durationMs: v.duration_ms,
          finishedAt: v.finished_at.toDate().toISOString(),
        })),
      ).map((r) => ({ id: rollupRecordId(r), ...toRollupRow(r) }));
      try {
        await run('applyRetention', COMMIT_BATCH, { ids: victims.map((v) => v.id), rollups });
      } catch (err) {
        // A cancelled transaction (the THROW above, or a conflict) is a race: re-read the batch. The SDK reports
        // it as "not executed due to a failed transaction" rather than with the THROW's text. An outage
        // (KgUnavailableError) goes to the caller.
        if (isKgUnavailable(err) || ++races > MAX_RACES) throw err;
        continue;
      }
      deleted += victims.length;
      if (victims.length < BATCH) break;
    }
    if (deleted > 0) {
      result.deleted += deleted;
      result.pairs += 1;
    }
  }
  return result;
}

export async function dailyRollupsOf(
  run: RunQuery,
  agentId: string,
  taskType: string,
): Promise<DailyRollup[]> {
  const [rows] = await run<[RollupRow[]]>(
    'getDailyRollups',
    `SELECT agent_id, task_type, day, executions, successes, total_duration_ms FROM ${ROLLUPS_TABLE}
     WHERE agent_id = $agentId AND task_type = $taskType`,
    { agentId, taskType },
  );
  return rows.map(fromRollupRow).sort(byDay);
}

export async function rollupProfileKeys(run: RunQuery): Promise<ProfileKey[]> {
  const [rows] = await run<[{ agent_id: string; task_type: string }[]]>(
    'listProfileKeys',
    `SELECT agent_id, task_type FROM ${ROLLUPS_TABLE} GROUP BY agent_id, task_type`,
  );
  return rows.map((r) => ({ agentId: r.agent_id, taskType: r.task_type }));
}

function rollupRecordId(r: DailyRollup): RecordId {
  return new RecordId(ROLLUPS_TABLE, [r.agentId, r.taskType, r.day]);
}

function toRollupRow(r: DailyRollup): RollupRow {
  return {
    agent_id: r.agentId,
    task_type: r.taskType,
    day: r.day,
    executions: r.executions,
    successes: r.successes,
    total_duration_ms: r.totalDurationMs,
  };
}

function fromRollupRow(r: RollupRow): DailyRollup {
  if (!Number.isFinite(r.executions)) throw new KgRequestError(`malformed rollup ${JSON.stringify(r)}`);
  return {
    agentId: r.agent_id,
    taskType: r.task_type,
    day: r.day,
    executions: Number(r.executions),
    successes: Number(r.successes),
    totalDurationMs: Number(r.total_duration_ms),
  };
}
