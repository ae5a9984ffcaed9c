/**
 * In-memory {@link KnowledgeGraph} for unit tests and benches. Same observable semantics as the SurrealDB adapter
 * (enforced by the shared conformance suite); single process only, nothing persists.
 */
import type { ExecutionResult } from '../../src/domain/messages.js';
import { KgUnavailableError } from '../../src/errors.js';
import {
  DEFAULT_AGENT_LIMIT,
  DEFAULT_TASK_TYPE_LIMIT,
  RETENTION_KEEP_PER_PAIR,
  type DailyRollup,
  type KnowledgeGraph,
  type ProfileKey,
  type RetentionResult,
} from '../../src/kg/knowledge-graph.js';
import { byDay, checkKeep, deletableBefore, rollUp } from '../../src/kg/retention-plan.js';
import type { DecisionRecord } from '../../src/kg/decision-record.js';
import { decisionId } from '../../src/kg/decision-record.js';
import { compareDecisions } from '../../src/kg/decision-order.js';
import { normaliseExecution } from '../../src/kg/normalise-execution.js';
import { compareMostRecentFirst, compareProfileKeys } from '../../src/kg/recency-order.js';

interface Row {
  execution: ExecutionResult;
  profileApplied: boolean;
}

export class MemoryKnowledgeGraph implements KnowledgeGraph {
  readonly #rows = new Map<string, Row>();
  /** Keyed by JSON [agentId, taskType, day]. */
  readonly #rollups = new Map<string, DailyRollup>();
  readonly #decisions = new Map<string, DecisionRecord>();
  #closed = false;

  // Methods are async so that misuse surfaces as a rejection, exactly like the real adapter.
  async recordExecution(execution: ExecutionResult): Promise<'created' | 'existed'> {
    this.#assertOpen();
    // Check-and-set runs synchronously, so concurrent callers cannot interleave: the first one wins.
    if (this.#rows.has(execution.executionId)) return 'existed';
    this.#rows.set(execution.executionId, {
      execution: normaliseExecution(execution),
      profileApplied: false,
    });
    return 'created';
  }

  async markProfileApplied(executionId: string): Promise<void> {
    this.#assertOpen();
    const row = this.#rows.get(executionId);
    if (!row) throw new Error(`cannot mark profile applied: execution ${executionId} is not recorded`);
    row.profileApplied = true;
  }

  async markProfilesApplied(executionIds: readonly string[]): Promise<void> {
    this.#assertOpen();
    for (const id of executionIds) {
      const row = this.#rows.get(id);
      if (row) row.profileApplied = true;
    }
  }

  async isProfileApplied(executionId: string): Promise<boolean | null> {
    this.#assertOpen();
    return this.#rows.get(executionId)?.profileApplied ?? null;
  }

  async getExecution(executionId: string): Promise<ExecutionResult | null> {
    this.#assertOpen();
    const row = this.#rows.get(executionId);
    return row ? { ...row.execution } : null;
  }

  async getExecutionsForTaskType(
    agentId: string,
    taskType: string,
    limit = DEFAULT_TASK_TYPE_LIMIT,
  ): Promise<ExecutionResult[]> {
    this.#assertOpen();
    return this.#select((e) => e.agentId === agentId && e.taskType === taskType)
      .sort(compareMostRecentFirst)
      .slice(0, Math.max(0, limit));
  }

  async getAgentExecutions(agentId: string, limit = DEFAULT_AGENT_LIMIT): Promise<ExecutionResult[]> {
    this.#assertOpen();
    return this.#select((e) => e.agentId === agentId)
      .sort(compareMostRecentFirst)
      .slice(0, Math.max(0, limit));
  }

  async getAllExecutionsForTaskType(agentId: string, taskType: string): Promise<ExecutionResult[]> {
    this.#assertOpen();
    return this.#select((e) => e.agentId === agentId && e.taskType === taskType);
  }

  async countExecutions(agentId: string, taskType: string): Promise<number> {
    this.#assertOpen();
    return this.#select((e) => e.agentId === agentId && e.taskType === taskType).length;
  }

  async listProfileKeys(): Promise<ProfileKey[]> {
    this.#assertOpen();
    const keys = new Map<string, ProfileKey>();
    for (const e of [...[...this.#rows.values()].map((r) => r.execution), ...this.#rollups.values()]) {
      keys.set(JSON.stringify([e.agentId, e.taskType]), { agentId: e.agentId, taskType: e.taskType });
    }
    return [...keys.values()].sort(compareProfileKeys);
  }

  async applyRetention(before: Date, keep = RETENTION_KEEP_PER_PAIR): Promise<RetentionResult> {
    this.#assertOpen();
    checkKeep(keep);
    const result: RetentionResult = { deleted: 0, pairs: 0 };
    for (const { agentId, taskType } of await this.listProfileKeys()) {
      const rows = this.#select((e) => e.agentId === agentId && e.taskType === taskType).sort(
        compareMostRecentFirst,
      );
      const limit = deletableBefore(before, rows.length > keep ? rows[keep - 1]!.finishedAt : undefined);
      if (limit === undefined) continue;
      const victims = rows.filter((e) => Date.parse(e.finishedAt) < limit);
      if (victims.length === 0) continue;
      for (const rollup of rollUp(agentId, taskType, victims)) {
        const key = JSON.stringify([agentId, taskType, rollup.day]);
        const held = this.#rollups.get(key);
        this.#rollups.set(
          key,
          held
            ? {
                ...held,
                executions: held.executions + rollup.executions,
                successes: held.successes + rollup.successes,
                totalDurationMs: held.totalDurationMs + rollup.totalDurationMs,
              }
            : rollup,
        );
      }
      for (const e of victims) this.#rows.delete(e.executionId);
      result.deleted += victims.length;
      result.pairs += 1;
    }
    return result;
  }

  async getDailyRollups(agentId: string, taskType: string): Promise<DailyRollup[]> {
    this.#assertOpen();
    return [...this.#rollups.values()]
      .filter((r) => r.agentId === agentId && r.taskType === taskType)
      .map((r) => ({ ...r }))
      .sort(byDay);
  }

  async recordDecision(decision: DecisionRecord): Promise<'created' | 'existed'> {
    this.#assertOpen();
    const id = decisionId(decision.taskId, decision.attempt);
    if (this.#decisions.has(id)) return 'existed';
    // A deep copy with the timestamp normalised, as the SurrealDB row round trip gives.
    const copy = JSON.parse(JSON.stringify(decision)) as DecisionRecord;
    this.#decisions.set(id, { ...copy, at: new Date(decision.at).toISOString() });
    return 'created';
  }

  async listDecisions(since: Date): Promise<DecisionRecord[]> {
    this.#assertOpen();
    return [...this.#decisions.values()]
      .filter((d) => Date.parse(d.at) >= since.getTime())
      .map((d) => JSON.parse(JSON.stringify(d)) as DecisionRecord)
      .sort(compareDecisions);
  }

  async ping(): Promise<void> {
    this.#assertOpen();
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  #select(predicate: (e: ExecutionResult) => boolean): ExecutionResult[] {
    const out: ExecutionResult[] = [];
    for (const { execution } of this.#rows.values()) if (predicate(execution)) out.push({ ...execution });
    return out;
  }

  #assertOpen(): void {
    // Same error class as a closed SurrealDB connection, so callers handle both identically.
    if (this.#closed) throw new KgUnavailableError('in-memory knowledge graph is closed');
  }
}
