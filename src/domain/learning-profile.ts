/**
 * An agent's learned profile: expertise per task type. `states`, when present, holds the incremental state
 * behind each expertise, so recency can be recomputed at any `now` (see rankAgentsWithRecency).
 */
import type { TaskTypeExpertise } from './expertise.js';
import type { ExpertiseState } from './expertise-state.js';

export interface LearningProfile {
  agentId: string;
  expertise: Record<string, TaskTypeExpertise>;
  states?: Record<string, ExpertiseState>;
}

/** agentId → profile, as a Map or a plain object. */
export type ProfileLookup = ReadonlyMap<string, LearningProfile> | Readonly<Record<string, LearningProfile>>;

export function lookupProfile(profiles: ProfileLookup, agentId: string): LearningProfile | undefined {
  if (profiles instanceof Map) return profiles.get(agentId);
  const record = profiles as Readonly<Record<string, LearningProfile>>;
  return Object.prototype.hasOwnProperty.call(record, agentId) ? record[agentId] : undefined;
}

export function createLearningProfile(agentId: string): LearningProfile {
  return { agentId, expertise: {} };
}

/** Returns a new profile with `expertise` set for its task type (replacing any previous one). */
export function addTaskTypeExpertise(
  profile: LearningProfile,
  expertise: TaskTypeExpertise,
): LearningProfile {
  return { ...profile, expertise: { ...profile.expertise, [expertise.taskType]: expertise } };
}

/** The swarm coordinator's view of an agent: at least its overall success rate. */
export interface SwarmProfile {
  agentId: string;
  successRate: number;
}

/**
 * Returns the swarm-side profile with its success rate taken from the learned expertise for `taskType` when
 * there is any (at least one execution); otherwise the swarm profile unchanged.
 */
export function updateProfileWithLearning<T extends SwarmProfile>(
  swarmProfile: T,
  learningProfile: LearningProfile,
  taskType: string,
): T {
  const expertise = learningProfile.expertise[taskType];
  if (!expertise || expertise.totalExecutions === 0) return swarmProfile;
  return { ...swarmProfile, successRate: expertise.successRate };
}
