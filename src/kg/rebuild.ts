/**
 * Cold start and rebuild: learning profiles recomputed from the knowledge graph, the source of truth.
 * `rebuildExpertiseState` folds the complete unique history of one (agent, task type) into the incremental
 * state, so the result reads exactly like the state that incremental updates would have produced.
 *
 * After retention that history is in two parts: day rollups of the deleted executions, and the rows kept. Every
 * deleted execution is older than every kept one and the kept ones include the 100 most recent (see
 * ./knowledge-graph.ts), so the rollups seed the total and the day buckets, and folding the kept rows on top gives
 * the same window, total and curve as the full history. (Only the dedupe memory is shorter: the kept ids.)
 */
import type { ExpertiseState, LearningProfile } from '../domain/index.js';
import {
  addTaskTypeExpertise,
  applyExecution,
  compareRecency,
  createExpertiseState,
  createLearningProfile,
  expertiseFromState,
  toWindowEntry,
} from '../domain/index.js';
import type { DailyRollup, KnowledgeGraph } from './knowledge-graph.js';

export async function rebuildExpertiseState(
  kg: KnowledgeGraph,
  agentId: string,
  taskType: string,
): Promise<ExpertiseState> {
  const [rollups, history] = await Promise.all([
    kg.getDailyRollups(agentId, taskType),
    kg.getAllExecutionsForTaskType(agentId, taskType),
  ]);
  // Oldest first: the state then holds the newest ids in its dedupe memory, as live ingestion would.
  const ordered = [...history].sort((a, b) => compareRecency(toWindowEntry(b), toWindowEntry(a)));
  return ordered.reduce(applyExecution, seedFromRollups(taskType, rollups));
}

/**
 * The state of the rolled-up part alone: its total and day buckets. Applying the kept executions to it drops
 * buckets beyond the horizon exactly as live ingestion did. Without kept rows (keep ≥ 1 makes that impossible
 * for a pair with rollups) it would have no latest execution, so the seed leaves lastExecutionAtMs to them.
 */
function seedFromRollups(taskType: string, rollups: readonly DailyRollup[]): ExpertiseState {
  const seed = createExpertiseState(taskType);
  return {
    ...seed,
    totalExecutions: rollups.reduce((sum, r) => sum + r.executions, 0),
    days: rollups.map(({ day, executions, successes, totalDurationMs }) => ({
      day,
      executions,
      successes,
      totalDurationMs,
    })),
  };
}

/**
 * An agent's learning profile rebuilt from the KG: one expertise per task type it has history for, exact over
 * the full history (the seed loaded only the 100 most recent; totals and curves need all of them).
 */
export async function loadLearningProfileFromKg(
  kg: KnowledgeGraph,
  agentId: string,
  now: Date = new Date(),
): Promise<LearningProfile> {
  const keys = (await kg.listProfileKeys()).filter((key) => key.agentId === agentId);
  let profile = createLearningProfile(agentId);
  const states: Record<string, ExpertiseState> = {};
  for (const { taskType } of keys) {
    const state = await rebuildExpertiseState(kg, agentId, taskType);
    states[taskType] = state;
    profile = addTaskTypeExpertise(profile, expertiseFromState(state, now));
  }
  return { ...profile, states };
}

/** Loads several agents' profiles concurrently. */
export async function loadAllLearningProfiles(
  kg: KnowledgeGraph,
  agentIds: readonly string[],
  now: Date = new Date(),
): Promise<Map<string, LearningProfile>> {
  const profiles = await Promise.all(agentIds.map((agentId) => loadLearningProfileFromKg(kg, agentId, now)));
  return new Map(profiles.map((profile) => [profile.agentId, profile]));
}
