/** The decision-policy API: a policy picks one agent for a task and says how likely that pick was. */
import type { AgentDecision } from '../choose-agent.js';
import type { ProfileLookup } from '../learning-profile.js';
import type { AgentCandidate } from '../scoring.js';

export interface PolicyCandidate extends AgentCandidate {
  maxConcurrent: number;
  inFlight: number;
}

export interface PolicyContext {
  taskType: string;
  /** Eligible agents, as today. A policy still never picks one at capacity (inFlight ≥ maxConcurrent). */
  candidates: readonly PolicyCandidate[];
  /** LearningProfile with `states` (the incremental states); expertise alone works, with less to learn from. */
  profiles: ProfileLookup;
  now: Date;
  /** Uniform [0, 1). @default Math.random — tests and the simulator pass a seeded one. */
  random?: () => number;
}

export interface PolicyDecision extends AgentDecision {
  policy: string;
  /** P(this agent is chosen | context) under the policy, in (0, 1]. */
  propensity: number;
  /** True when the chosen agent is not the one the policy currently estimates best. */
  explored: boolean;
}

export interface Policy {
  readonly name: string;
  choose(ctx: PolicyContext): PolicyDecision | null;
}

/**
 * A policy that can state its whole choice distribution for a context (what off-policy evaluation needs of a
 * target policy). Every built-in policy is one; `probabilities` does not consume randomness or change state.
 */
export interface ProbabilisticPolicy extends Policy {
  /** agentId → P(chosen | ctx) over the candidates it could choose; sums to 1 (empty when none can be chosen). */
  probabilities(ctx: PolicyContext): ReadonlyMap<string, number>;
}

export function isProbabilisticPolicy(policy: Policy): policy is ProbabilisticPolicy {
  return typeof (policy as Partial<ProbabilisticPolicy>).probabilities === 'function';
}

/** Candidates with a free slot, in input order: the only ones any policy may choose. */
export function withCapacity(candidates: readonly PolicyCandidate[]): PolicyCandidate[] {
  return candidates.filter((candidate) => candidate.inFlight < candidate.maxConcurrent);
}

/** inFlight / maxConcurrent in [0, 1]; what "load" means for every policy. */
export function loadOf(candidate: PolicyCandidate): number {
  if (!(candidate.maxConcurrent > 0)) return 1;
  return Math.min(1, Math.max(0, candidate.inFlight / candidate.maxConcurrent));
}
