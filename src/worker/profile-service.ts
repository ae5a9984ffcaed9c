/**
 * Learning profiles as the worker sees them: read from the in-memory mirror of `vapora_profiles`, updated by
 * compare-and-swap. A missing cache entry for an agent with KG history is rebuilt from the KG (cold start).
 */
import type { KnowledgeGraph } from '../kg/knowledge-graph.js';
import { rebuildExpertiseState } from '../kg/rebuild.js';
import { KeyedMutex } from '../util/keyed-mutex.js';
import { rebuildCachedProfile } from './profile-rebuild.js';
import { casUpdate } from '../bus/kv-cas.js';
import { parseProfileKey, profileKey } from '../bus/subjects.js';
import type { ExecutionResult, LearningProfile, ProfileRecord } from '../domain/index.js';
import { applyExecution, toProfileRecord } from '../domain/index.js';
import type { Stores } from './stores.js';

/** Success rate assumed for an agent without any history, for the base score. */
export const PRIOR_SUCCESS_RATE = 0.5;

export class ProfileService {
  /** agentId → taskType → { successRate, windowSize }, for the overall success rate in the base score. */
  /** Serialises this replica's updates of one profile (other replicas are handled by compare-and-swap). */
  private readonly mutex = new KeyedMutex();
  private readonly overall = new Map<string, Map<string, { successRate: number; windowSize: number }>>();

  constructor(
    private readonly stores: Stores,
    private readonly kg: KnowledgeGraph,
    private readonly onCasConflict: () => void = () => undefined,
  ) {
    for (const [key, record] of stores.profiles.entries()) this.index(key, record);
    stores.profiles.onChange((key, record) => this.index(key, record));
  }

  private index(key: string, record: ProfileRecord | undefined): void {
    const parsed = parseProfileKey(key);
    if (!parsed) return;
    let byType = this.overall.get(parsed.agentId);
    if (!byType) this.overall.set(parsed.agentId, (byType = new Map()));
    if (record)
      byType.set(parsed.taskType, { successRate: record.successRate, windowSize: record.windowSize });
    else byType.delete(parsed.taskType);
  }

  /** Window-weighted success rate across the agent's task types; PRIOR_SUCCESS_RATE without history. */
  overallSuccessRate(agentId: string): number {
    let successes = 0;
    let executions = 0;
    for (const { successRate, windowSize } of this.overall.get(agentId)?.values() ?? []) {
      successes += successRate * windowSize;
      executions += windowSize;
    }
    return executions > 0 ? successes / executions : PRIOR_SUCCESS_RATE;
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
   * already holds writes nothing. Returns whether a write happened.
   */
  apply(execution: ExecutionResult, now: Date): Promise<boolean> {
    const key = profileKey(execution.agentId, execution.taskType);
    return this.mutex.run(key, () => this.applyUnlocked(key, execution, now));
  }

  private async applyUnlocked(key: string, execution: ExecutionResult, now: Date): Promise<boolean> {
    const result = await casUpdate<ProfileRecord>(
      this.stores.profilesKv,
      key,
      async (current) => {
        if (!current) {
          // Cold start: the KG already holds this execution (it is written first), so the rebuild includes it.
          const state = await rebuildExpertiseState(this.kg, execution.agentId, execution.taskType);
          return toProfileRecord(execution.agentId, applyExecution(state, execution), now);
        }
        const next = applyExecution(current.state, execution);
        return next === current.state ? undefined : toProfileRecord(execution.agentId, next, now);
      },
      { onConflict: this.onCasConflict, known: this.stores.profiles.known(key) },
    );
    if (result.written && result.value) this.stores.profiles.put(key, result.value, result.revision);
    return result.written;
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
