/**
 * The value stored under `<agentId>.<taskType>` in the `vapora_profiles` bucket: every TaskTypeExpertise field at
 * the top level (so tools in any language can read `successRate` or `totalExecutions` directly), computed as of
 * `updatedAt`, plus the incremental `state` the worker needs for the next update.
 */
import type { TaskTypeExpertise } from './expertise.js';
import type { ExpertiseState } from './expertise-state.js';
import { expertiseFromState } from './expertise-state.js';

export interface ProfileRecord extends TaskTypeExpertise {
  agentId: string;
  /** ISO time of the last write; time-dependent fields (recentSuccessRate, trend, curve) are as of then. */
  updatedAt: string;
  state: ExpertiseState;
}

export function toProfileRecord(agentId: string, state: ExpertiseState, now: Date): ProfileRecord {
  return { ...expertiseFromState(state, now), agentId, updatedAt: now.toISOString(), state };
}
