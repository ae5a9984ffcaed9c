/**
 * Learning profiles as the worker sees them: read from the in-memory mirror of `vapora_profiles`, updated by
 * compare-and-swap. Updates of one profile are group-committed: the results that arrive while one write is in
 * flight are folded into the next, one CAS and one derivation of the stored statistics per batch. A missing cache
 * entry for an agent with KG history is rebuilt from the KG (cold start).
 */
import type { KnowledgeGraph } from '../kg/knowledge-graph.js';
import { rebuildExpertiseState } from '../kg/rebuild.js';
import { rebuildCachedProfile } from './profile-rebuild.js';
import type { GroupRound } from '../bus/kv-group-commit.js';
import { KvGroupCommit } from '../bus/kv-group-commit.js';
import { parseProfileKey, profileKey } from '../bus/subjects.js';
import type { ExecutionResult, LearningProfile, ProfileRecord } from '../domain/index.js';
import { applyExecution, hasApplied, toProfileRecord } from '../domain/index.js';
import type { Stores } from './stores.js';

/** Success rate assumed for an agent without any history, for the base score. */
export const PRIOR_SUCCESS_RATE = 0.5;

export class ProfileService {
  /** This replica's profile writes, grouped per key (other replicas are handled by compare-and-swap). */
  private readonly commits: KvGroupCommit<ProfileRecord>;
  /** Execution ids counted as new in a round that creates a profile. */
  private readonly claimedInRound = new WeakMap<GroupRound, Set<string>>();
  /** agentId → its profile keys seen in the mirror. */
  private readonly keysByAgent = new Map<string, Set<string>>();
  /** agentId → its overall success rate, until one of its profiles changes. */
  private readonly overall = new Map<string, number>();

  constructor(
    private readonly stores: Stores,
    private readonly kg: KnowledgeGraph,
    private readonly onCasConflict: () => void = () => undefined,
  ) {
    for (const [key] of stores.profiles.entries()) this.index(key);
    stores.profiles.onChange((key) => this.index(key));
    this.commits = new KvGroupCommit<ProfileRecord>(stores.profilesKv, {
      onConflict: this.onCasConflict,
      known: (key) => stores.profiles.known(key),
      onWritten: (key, value, revision) => stores.profiles.put(key, value, revision),
      initial: (key) => this.coldStart(key),
      // Operations only fold executions into the state; the statistics are derived once, as of the last one.
      finish: (value) => toProfileRecord(value.agentId, value.state, new Date(value.updatedAt)),
    });
  }

  private index(key: string): void {
    const parsed = parseProfileKey(key);
    if (!parsed) return;
    let keys = this.keysByAgent.get(parsed.agentId);
    if (!keys) this.keysByAgent.set(parsed.agentId, (keys = new Set()));
    keys.add(key);
    this.overall.delete(parsed.agentId);
  }

  /** Window-weighted success rate across the agent's task types; PRIOR_SUCCESS_RATE without history. */
  overallSuccessRate(agentId: string): number {
    let rate = this.overall.get(agentId);
    if (rate === undefined) {
      let successes = 0;
      let executions = 0;
      for (const key of this.keysByAgent.get(agentId) ?? []) {
        const record = this.stores.profiles.get(key);
        if (!record) continue;
        successes += record.successRate * record.windowSize;
        executions += record.windowSize;
      }
      rate = executions > 0 ? successes / executions : PRIOR_SUCCESS_RATE;
      this.overall.set(agentId, rate);
    }
    return rate;
  }

  /**
   * Profiles of the given agents for one task type, straight from the cache: the stored expertise (its window
   * rate, confidence and totals do not depend on time) plus the state, from which the recency variant
   * recomputes the time-dependent rate at decision time.
   */
  profilesFor(agentIds: readonly string[], taskType: string): Map<string, LearningProfile> {
    const profiles = new Map<string, LearningProfile>();
    for (const agentId of agentIds) {
      const record = this.stores.profiles.get(profileKey(agentId, taskType));
      if (!record) continue;
      profiles.set(agentId, {
        agentId,
        expertise: { [taskType]: record },
        states: { [taskType]: record.state },
      });
    }
    return profiles;
  }

  /**
   * Applies one execution (already recorded in the KG) to its profile. Idempotent: an execution the state
   * already holds writes nothing. Returns whether the execution was new to the stored profile.
   */
  apply(execution: ExecutionResult, now: Date): Promise<boolean> {
    const key = profileKey(execution.agentId, execution.taskType);
    return this.commits.run(key, (current, round) => {
      if (!current) return { next: undefined, result: false };
      if (round.created) return this.createdWith(current, round, execution, now);
      const state = applyExecution(current.state, execution);
      if (state === current.state) return { next: undefined, result: false };
      return { next: { ...current, state, updatedAt: now.toISOString() }, result: true };
    });
  }

  /**
   * An operation of the round that creates the profile from a rebuild, which already holds this execution (the KG
   * is written first): new to the store, but only for the first copy of it in the round (a result and its timeout
   * share an id).
   */
  private createdWith(
    current: ProfileRecord,
    round: GroupRound,
    execution: ExecutionResult,
    now: Date,
  ): { next: ProfileRecord; result: boolean } {
    let claimed = this.claimedInRound.get(round);
    if (!claimed) this.claimedInRound.set(round, (claimed = new Set()));
    const first = !claimed.has(execution.executionId);
    claimed.add(execution.executionId);
    const state = applyExecution(current.state, execution);
    return { next: { ...current, state, updatedAt: now.toISOString() }, result: first };
  }

  /**
   * Applies an execution the KG already held and whose applied-mark is missing: a redelivery after a crash, which
   * the profile may or may not have counted. Counted when the profile's state provably lacks it; when the state
   * may have forgotten it (it has applied more executions than it remembers ids of: the gap expertise-state.ts
   * names), the profile is rebuilt from the KG instead, which holds the execution exactly once. Returns whether
   * the profile's count grew.
   */
  async applyRedelivered(execution: ExecutionResult, now: Date): Promise<boolean> {
    const key = profileKey(execution.agentId, execution.taskType);
    const verdict = await this.commits.run<{ counted: boolean; unsure?: number }>(key, (current, round) => {
      if (!current) return { next: undefined, result: { counted: false } };
      if (round.created) {
        const { next, result } = this.createdWith(current, round, execution, now);
        return { next, result: { counted: result } };
      }
      const { state } = current;
      if (hasApplied(state, execution.executionId)) return { next: undefined, result: { counted: false } };
      // Every execution it counted is among the ids it remembers: not remembered means not counted.
      const remembersAll = state.recentIds.length >= state.totalExecutions;
      if (!remembersAll)
        return { next: undefined, result: { counted: false, unsure: state.totalExecutions } };
      const next = applyExecution(state, execution);
      return { next: { ...current, state: next, updatedAt: now.toISOString() }, result: { counted: true } };
    });
    if (verdict.unsure === undefined) return verdict.counted;
    const rebuilt = await this.rebuild(execution.agentId, execution.taskType, now);
    return rebuilt.totalExecutions > verdict.unsure;
  }

  /** A profile that was never stored: rebuilt from the KG, which already holds the executions being applied. */
  private async coldStart(key: string): Promise<ProfileRecord | undefined> {
    const parsed = parseProfileKey(key);
    if (!parsed) return undefined;
    const state = await rebuildExpertiseState(this.kg, parsed.agentId, parsed.taskType);
    return toProfileRecord(parsed.agentId, state, new Date());
  }

  /** Recomputes one cached profile from the KG and writes it (CAS). */
  async rebuild(agentId: string, taskType: string, now: Date): Promise<ProfileRecord> {
    const result = await rebuildCachedProfile(
      this.stores.profilesKv,
      this.kg,
      agentId,
      taskType,
      now,
      this.onCasConflict,
    );
    this.stores.profiles.put(profileKey(agentId, taskType), result.record, result.revision);
    return result.record;
  }
}
