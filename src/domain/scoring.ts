/**
 * Candidate scoring, faithful to the seed:
 *   baseScore      = successRate / (1 + load)      (load = in-flight / maxConcurrent, 0..1)
 *   expertiseScore = the task type's successRate   (recentSuccessRate in the recency variant)
 *   finalScore     = 0.3·base + 0.5·expertise + 0.2·confidence
 * A candidate without a profile for the task type scores expertise 0 and confidence 0.
 * Rankings are best first and stable: equal scores keep the input order.
 */
import { rankingView } from './expertise-state.js';
import type { LearningProfile, ProfileLookup } from './learning-profile.js';
import { lookupProfile } from './learning-profile.js';

export const BASE_WEIGHT = 0.3;
export const EXPERTISE_WEIGHT = 0.5;
export const CONFIDENCE_WEIGHT = 0.2;

export interface AgentCandidate {
  agentId: string;
  /** The agent's overall success rate, 0..1. */
  successRate: number;
  /** In-flight / maxConcurrent, 0..1. */
  load: number;
}

export interface AgentScore {
  agentId: string;
  baseScore: number;
  expertiseScore: number;
  confidence: number;
  finalScore: number;
  load: number;
  /** Whether the agent's profile has at least one execution of the task type. */
  hasData: boolean;
  reasoning: string;
}

interface Learned {
  expertise: number;
  confidence: number;
  executions: number;
}

type LearnedFor = (profile: LearningProfile | undefined) => Learned | undefined;

const clamp01 = (value: number): number => (Number.isFinite(value) ? Math.min(1, Math.max(0, value)) : 0);
const fmt = (value: number): string => value.toFixed(3);

function scoreCandidate(
  candidate: AgentCandidate,
  learned: Learned | undefined,
  rateName: string,
): AgentScore {
  const load = clamp01(candidate.load);
  const baseScore = clamp01(candidate.successRate) / (1 + load);
  const expertiseScore = learned?.expertise ?? 0;
  const confidence = learned?.confidence ?? 0;
  const finalScore =
    BASE_WEIGHT * baseScore + EXPERTISE_WEIGHT * expertiseScore + CONFIDENCE_WEIGHT * confidence;
  const hasData = (learned?.executions ?? 0) > 0;
  const learnedText = hasData
    ? `${rateName} ${fmt(expertiseScore)} over ${learned!.executions} executions (confidence ${fmt(confidence)})`
    : 'no history for this task type (expertise 0, confidence 0)';
  const reasoning =
    `${candidate.agentId}: final ${fmt(finalScore)} = 0.3×base ${fmt(baseScore)} ` +
    `(success ${fmt(clamp01(candidate.successRate))} at load ${fmt(load)}) + 0.5×expertise ${fmt(expertiseScore)} ` +
    `+ 0.2×confidence ${fmt(confidence)}; ${learnedText}`;
  return {
    agentId: candidate.agentId,
    baseScore,
    expertiseScore,
    confidence,
    finalScore,
    load,
    hasData,
    reasoning,
  };
}

function rank(
  candidates: readonly AgentCandidate[],
  profiles: ProfileLookup,
  learnedFor: LearnedFor,
  rateName: string,
): AgentScore[] {
  const scored = candidates.map((candidate, index) => ({
    index,
    score: scoreCandidate(candidate, learnedFor(lookupProfile(profiles, candidate.agentId)), rateName),
  }));
  scored.sort((a, b) => b.score.finalScore - a.score.finalScore || a.index - b.index);
  return scored.map((entry) => entry.score);
}

/** Ranks candidates by finalScore using each task type's window success rate. Best first, stable. */
export function rankAgents(
  candidates: readonly AgentCandidate[],
  taskType: string,
  profiles: ProfileLookup,
): AgentScore[] {
  return rank(
    candidates,
    profiles,
    (profile) => {
      const expertise = profile?.expertise[taskType];
      return (
        expertise && {
          expertise: expertise.successRate,
          confidence: expertise.confidence,
          executions: expertise.totalExecutions,
        }
      );
    },
    'success rate',
  );
}

/**
 * Like rankAgents, with the recency-weighted success rate as expertise. When the profile carries the incremental
 * state for the task type, the rate is recomputed at `now`; otherwise the stored `recentSuccessRate` (as of its
 * `asOf`) is used.
 */
export function rankAgentsWithRecency(
  candidates: readonly AgentCandidate[],
  taskType: string,
  profiles: ProfileLookup,
  now: Date,
): AgentScore[] {
  return rank(
    candidates,
    profiles,
    (profile) => {
      const state = profile?.states?.[taskType];
      const expertise = state ? rankingView(state, now) : profile?.expertise[taskType];
      return (
        expertise && {
          expertise: expertise.recentSuccessRate,
          confidence: expertise.confidence,
          executions: expertise.totalExecutions,
        }
      );
    },
    'recent success rate',
  );
}

/** The best candidate by rankAgents, or undefined when there are none. */
export function selectBest(
  candidates: readonly AgentCandidate[],
  taskType: string,
  profiles: ProfileLookup,
): AgentScore | undefined {
  return rankAgents(candidates, taskType, profiles)[0];
}
