/**
 * Cold start and rebuild: learning profiles recomputed from the knowledge graph, the source of truth.
 * `rebuildExpertiseState` folds the complete unique history of one (agent, task type) into the incremental
 * state, so the result reads exactly like the state that incremental updates would have produced.
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
import type { KnowledgeGraph } from './knowledge-graph.js';

export async function rebuildExpertiseState(
  kg: KnowledgeGraph,
  agentId: string,
  taskType: string,
): Promise<ExpertiseState> {
  const history = await kg.getAllExecutionsForTaskType(agentId, taskType);
  // Oldest first: the state then holds the newest ids in its dedupe memory, as live ingestion would.
  const ordered = [...history].sort((a, b) => compareRecency(toWindowEntry(b), toWindowEntry(a)));
  return ordered.reduce(applyExecution, createExpertiseState(taskType));
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
