/**
 * {@link KnowledgeGraph} on SurrealDB (embedded `mem://` / `surrealkv://`, or a remote server). Construct it through
 * `connectKnowledgeGraph` (./connect.ts), which opens the connection and applies the schema.
 *
 * - Idempotency: `recordExecution` is `INSERT IGNORE INTO kg_executions $rows RETURN id`; the record id is the
 *   evidence key. A new row returns its id ('created'); an existing id returns nothing and leaves the first row
 *   untouched ('existed'). No read-then-write, no error-message parsing. `recordDecision` is the same on kg_decisions.
 * - Group commit: inserts into one table are one statement at a time per process, and the calls that arrive while
 *   one runs go together in the next (src/util/group-commit.ts): one INSERT for many results under load. Serial
 *   statements also settle a measured engine caveat: on the embedded surrealkv engine (SurrealDB 3.0.2), 10
 *   concurrent inserts of one id sometimes (~2-15 % of rounds) *both* reported success — its conflict detection
 *   misses that create/create race (mem:// never did, in 800 rounds). Within one statement a repeated id is
 *   ignored like an existing one. A statement that outlives `operationTimeoutMs` is given up, not cancelled, so
 *   the next may overlap it; the profile state's memory of applied keys covers a double 'created' then. Across
 *   processes, the guarantee is the engine's: embedded stores are single-process anyway; a SurrealDB server is
 *   expected to detect the conflict. A batch the store refuses for another reason than an outage is written again
 *   row by row, so a row it refuses fails alone.
 * - Timestamps are normalised to `new Date(x).toISOString()` form (see ./knowledge-graph.ts).
 * - Every call is bounded by `operationTimeoutMs`; transport failures and timeouts reject with KgUnavailableError.
 * - Transaction conflicts between concurrent writers are retried (./surreal-conflict-retry.ts); every query here is
 *   a single idempotent statement, so a replay cannot apply anything twice.
 */
import type { RecordId, Surreal } from 'surrealdb';
import { DateTime } from 'surrealdb';
import type { ExecutionResult } from '../domain/messages.js';
import { TimeoutError, withTimeout } from './bounded.js';
import { KgUnavailableError } from '../errors.js';
import { GroupCommit } from '../util/group-commit.js';
import { KeyedMutex } from '../util/keyed-mutex.js';
import {
  DEFAULT_AGENT_LIMIT,
  DEFAULT_TASK_TYPE_LIMIT,
  RETENTION_KEEP_PER_PAIR,
  type DailyRollup,
  type KnowledgeGraph,
  type ProfileKey,
  type RetentionResult,
} from './knowledge-graph.js';
import { compareProfileKeys } from './recency-order.js';
import { CONFLICT_RETRY } from './surreal-conflict-retry.js';
import { executionRecordId, fromRow, toRow, type ExecutionRow } from './surreal-execution-row.js';
import { applyRetentionTo, dailyRollupsOf, rollupProfileKeys } from './surreal-retention.js';
import type { DecisionRecord } from './decision-record.js';
import { compareDecisions } from './decision-order.js';
import { fromDecisionRow, toDecisionRow, type DecisionRow } from './surreal-decision-row.js';
import { DECISIONS_TABLE, EXECUTIONS_TABLE, removeRecencyIndex } from './surreal-schema.js';
import { isTransportError } from './surreal-transport-error.js';
import { KgRequestError } from '../errors.js';

export interface SurrealKnowledgeGraphOptions {
  /** Shown in error messages (the connection URL). */
  description: string;
  /** Bound for each query. Default 10 000 ms. */
  operationTimeoutMs?: number;
  /** Bound for `ping()`. Default 2 000 ms. */
  pingTimeoutMs?: number;
  /** Bound for `close()`. Default 2 000 ms. */
  closeTimeoutMs?: number;
  /** Rows per page in `getAllExecutionsForTaskType`. Default 1 000. */
  pageSize?: number;
  /**
   * Set for mem:// stores whose index was defined in this process: `close()` then removes the index first, which is
   * what lets the native engine release the store (see ./surreal-schema.ts). Never set it for persistent stores.
   */
  removeIndexOnClose?: boolean;
  /** Called once after the connection is closed (connect.ts uses it to track file-lock release). */
  onClosed?: () => void;
}

/** Rows per INSERT: a decision carries every candidate's scores, so its batches are kept smaller. */
const EXECUTION_BATCH = 256;
const DECISION_BATCH = 64;

/**
 * A batch failed for a reason other than the store being out of reach: maybe one row it refuses. Its rows are then
 * written one by one, so one bad row (a poison result) fails alone and cannot take a batch of good ones with it.
 */
const isRowRefusal = (err: unknown): boolean => !(err instanceof KgUnavailableError);

export class SurrealKnowledgeGraph implements KnowledgeGraph {
  readonly #db: Surreal;
  readonly #description: string;
  readonly #operationTimeoutMs: number;
  readonly #pingTimeoutMs: number;
  readonly #closeTimeoutMs: number;
  readonly #pageSize: number;
  readonly #removeIndexOnClose: boolean;
  readonly #onClosed: (() => void) | undefined;
  #closing: Promise<void> | undefined;
  /** Serialises retention passes (see applyRetention). */
  readonly #locks = new KeyedMutex();
  /** Inserts are group-committed, one statement in flight per table (see the class comment). */
  readonly #executions = new GroupCommit<ExecutionRow, 'created' | 'existed'>(
    (rows) => this.#insertRows('recordExecution', EXECUTIONS_TABLE, rows),
    { maxBatch: EXECUTION_BATCH, isolate: isRowRefusal },
  );
  readonly #decisions = new GroupCommit<DecisionRow, 'created' | 'existed'>(
    (rows) => this.#insertRows('recordDecision', DECISIONS_TABLE, rows),
    { maxBatch: DECISION_BATCH, isolate: isRowRefusal },
  );

  constructor(db: Surreal, options: SurrealKnowledgeGraphOptions) {
    this.#db = db;
    this.#description = options.description;
    this.#operationTimeoutMs = options.operationTimeoutMs ?? 10_000;
    this.#pingTimeoutMs = options.pingTimeoutMs ?? 2_000;
    this.#closeTimeoutMs = options.closeTimeoutMs ?? 2_000;
    this.#pageSize = options.pageSize ?? 1_000;
    this.#removeIndexOnClose = options.removeIndexOnClose ?? false;
    this.#onClosed = options.onClosed;
  }

  async recordExecution(execution: ExecutionResult): Promise<'created' | 'existed'> {
    return this.#executions.run(toRow(execution));
  }

  async markProfileApplied(executionId: string): Promise<void> {
    // UPDATE on a missing record id creates nothing in SurrealDB 2+/3 (UPSERT would), so an empty result = unknown.
    const [updated] = await this.#query<[unknown[]]>(
      'markProfileApplied',
      'UPDATE $id SET profile_applied = true RETURN id',
      { id: executionRecordId(executionId) },
    );
    if (updated.length === 0) {
      throw new KgRequestError(`cannot mark profile applied: execution ${executionId} is not recorded`);
    }
  }

  async markProfilesApplied(executionIds: readonly string[]): Promise<void> {
    if (executionIds.length === 0) return;
    // UPDATE of record ids that do not exist creates nothing, so unknown ids are ignored.
    await this.#query('markProfilesApplied', 'UPDATE $ids SET profile_applied = true RETURN NONE', {
      ids: executionIds.map(executionRecordId),
    });
  }

  async isProfileApplied(executionId: string): Promise<boolean | null> {
    const [rows] = await this.#query<[{ profile_applied: boolean }[]]>(
      'isProfileApplied',
      'SELECT profile_applied FROM $id',
      { id: executionRecordId(executionId) },
    );
    const first = rows[0];
    return first ? first.profile_applied === true : null;
  }

  async getExecution(executionId: string): Promise<ExecutionResult | null> {
    const [rows] = await this.#query<[ExecutionRow[]]>('getExecution', 'SELECT * FROM $id', {
      id: executionRecordId(executionId),
    });
    const first = rows[0];
    return first ? fromRow(first) : null;
  }

  async getExecutionsForTaskType(
    agentId: string,
    taskType: string,
    limit = DEFAULT_TASK_TYPE_LIMIT,
  ): Promise<ExecutionResult[]> {
    const n = Math.floor(limit);
    if (!(n > 0)) return [];
    const [rows] = await this.#query<[ExecutionRow[]]>(
      'getExecutionsForTaskType',
      `SELECT * FROM ${EXECUTIONS_TABLE} WHERE agent_id = $agentId AND task_type = $taskType
       ORDER BY finished_at DESC, id DESC LIMIT $limit`,
      { agentId, taskType, limit: n },
    );
    return rows.map(fromRow);
  }

  async getAgentExecutions(agentId: string, limit = DEFAULT_AGENT_LIMIT): Promise<ExecutionResult[]> {
    const n = Math.floor(limit);
    if (!(n > 0)) return [];
    const [rows] = await this.#query<[ExecutionRow[]]>(
      'getAgentExecutions',
      `SELECT * FROM ${EXECUTIONS_TABLE} WHERE agent_id = $agentId ORDER BY finished_at DESC, id DESC LIMIT $limit`,
      { agentId, limit: n },
    );
    return rows.map(fromRow);
  }

  /**
   * Keyset pagination on the record id (`id > last id of the previous page`), not START/OFFSET: a row inserted
   * while paging can neither be returned twice nor push another row out of the result.
   */
  async getAllExecutionsForTaskType(agentId: string, taskType: string): Promise<ExecutionResult[]> {
    const out: ExecutionResult[] = [];
    let after: ExecutionRow['id'] | undefined;
    for (;;) {
      const [page] = await this.#query<[ExecutionRow[]]>(
        'getAllExecutionsForTaskType',
        `SELECT * FROM ${EXECUTIONS_TABLE} WHERE agent_id = $agentId AND task_type = $taskType
         ${after === undefined ? '' : 'AND id > $after'} ORDER BY id ASC LIMIT $limit`,
        { agentId, taskType, limit: this.#pageSize, ...(after === undefined ? {} : { after }) },
      );
      for (const row of page) out.push(fromRow(row));
      const last = page[page.length - 1];
      if (!last || page.length < this.#pageSize) return out;
      after = last.id;
    }
  }

  async countExecutions(agentId: string, taskType: string): Promise<number> {
    const [rows] = await this.#query<[{ n: number }[]]>(
      'countExecutions',
      `SELECT count() AS n FROM ${EXECUTIONS_TABLE} WHERE agent_id = $agentId AND task_type = $taskType GROUP ALL`,
      { agentId, taskType },
    );
    // GROUP ALL over zero rows yields no group at all, not a zero count.
    return Number(rows[0]?.n ?? 0);
  }

  async listProfileKeys(): Promise<ProfileKey[]> {
    const [rows] = await this.#query<[{ agent_id: string; task_type: string }[]]>(
      'listProfileKeys',
      `SELECT agent_id, task_type FROM ${EXECUTIONS_TABLE} GROUP BY agent_id, task_type`,
    );
    const keys = new Map<string, ProfileKey>();
    for (const key of [
      ...rows.map((r) => ({ agentId: r.agent_id, taskType: r.task_type })),
      ...(await rollupProfileKeys(this.#run)),
    ]) {
      keys.set(JSON.stringify([key.agentId, key.taskType]), key);
    }
    // Sorted here, not in SurrealQL, so the order is JS code-unit order exactly like the in-memory adapter.
    return [...keys.values()].sort(compareProfileKeys);
  }

  /**
   * One pass at a time per connection. Two concurrent passes in one process were measured to both commit their
   * delete-and-roll-up of the same batch on the embedded surrealkv engine (every execution counted twice in the
   * rollups), although each batch's transaction checks that it deleted exactly the rows it read.
   */
  applyRetention(before: Date, keep = RETENTION_KEEP_PER_PAIR): Promise<RetentionResult> {
    // Pairs that only have rollups left have nothing to delete; listing them costs nothing worth avoiding.
    return this.#locks.run('retention:pass', async () =>
      applyRetentionTo(this.#run, await this.listProfileKeys(), before, keep),
    );
  }

  getDailyRollups(agentId: string, taskType: string): Promise<DailyRollup[]> {
    return dailyRollupsOf(this.#run, agentId, taskType);
  }

  /** The bounded, error-mapped query function, for the helpers in other files. */
  readonly #run = <R extends unknown[]>(what: string, surql: string, bindings?: Record<string, unknown>) =>
    this.#query<R>(what, surql, bindings);

  async recordDecision(decision: DecisionRecord): Promise<'created' | 'existed'> {
    return this.#decisions.run(toDecisionRow(decision));
  }

  /**
   * One `INSERT IGNORE` for a batch of rows (see the class comment). It returns the ids it created; a row whose id
   * existed, or that repeats an earlier row of the same batch, 'existed'.
   */
  async #insertRows(
    operation: string,
    table: string,
    rows: readonly { id: RecordId }[],
  ): Promise<('created' | 'existed')[]> {
    const [inserted] = await this.#query<[{ id: RecordId }[]]>(
      operation,
      `INSERT IGNORE INTO ${table} $rows RETURN id`,
      { rows },
    );
    const created = new Set(inserted.map((row) => String(row.id)));
    return rows.map((row) => (created.delete(String(row.id)) ? 'created' : 'existed'));
  }

  async listDecisions(since: Date): Promise<DecisionRecord[]> {
    const [rows] = await this.#query<[DecisionRow[]]>(
      'listDecisions',
      `SELECT * FROM ${DECISIONS_TABLE} WHERE at >= $since`,
      { since: new DateTime(since) },
    );
    // Sorted here so the order is exactly the in-memory adapter's.
    return rows.map(fromDecisionRow).sort(compareDecisions);
  }

  async ping(): Promise<void> {
    await this.#query('ping', 'RETURN true', undefined, this.#pingTimeoutMs);
  }

  /**
   * Closes the connection within `closeTimeoutMs` (default 2 s); never rejects and never keeps the event loop alive
   * (the bound uses an unref'd timer). If the SDK's close does not settle in time the connection is abandoned.
   * Measured here (@surrealdb/node 3.0.3): the SDK's close() itself resolves in ~1 ms; what can hang is the
   * *process exit* when an index was defined by this process on an embedded store — connect.ts avoids that.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const deadline = Date.now() + this.#closeTimeoutMs;
    try {
      if (this.#removeIndexOnClose)
        await withTimeout(removeRecencyIndex(this.#db), this.#closeTimeoutMs, 'remove index');
      await withTimeout(this.#db.close(), Math.max(1, deadline - Date.now()), 'close');
    } catch {
      // A close that fails or times out leaves nothing for the caller to do: shutdown must go on.
    } finally {
      this.#onClosed?.();
    }
  }

  async #query<R extends unknown[]>(
    what: string,
    surql: string,
    bindings?: Record<string, unknown>,
    timeoutMs = this.#operationTimeoutMs,
  ): Promise<R> {
    if (this.#closing)
      throw new KgUnavailableError(`knowledge graph at ${this.#description} is closed (${what})`);
    try {
      // The SDK types rows as it is told; the cast states what this adapter knows about its own SurrealQL.
      return (await withTimeout(
        this.#db.query(surql, bindings).retry(CONFLICT_RETRY).collect(),
        timeoutMs,
        what,
      )) as R;
    } catch (err) {
      if (isTransportError(err)) {
        const reason =
          err instanceof TimeoutError ? err.message : `${(err as Error).name}: ${(err as Error).message}`;
        throw new KgUnavailableError(`knowledge graph at ${this.#description} unavailable: ${reason}`, {
          cause: err,
        });
      }
      throw err;
    }
  }
}
