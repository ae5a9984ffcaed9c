/**
 * What the Bayesian policies believe about each candidate for one task type: a Beta posterior on the reward and
 * an estimate of the cost per task, both learned from the incremental states' windows.
 *
 * - Evidence: each window entry (most recent first, position k = 0, 1, …) counts with weight discount^k, so the
 *   posterior forgets geometrically *per execution of that agent*: an agent that keeps being chosen after its skill
 *   changed is re-learned within a few dozen of its own tasks. discount = 1 is the plain sliding window of 100.
 * - Prior: Beta(m·n0, (1 − m)·n0) with strength n0 (`priorStrength`) and mean m borrowed twice: the type's
 *   population mean (pooled evidence of all candidates for the type) shifted by `borrow` × the agent's own
 *   advantage over the population on its other task types (shrunk toward 0 while that evidence is thin). A new
 *   agent therefore starts near the population — tried soon, because its posterior is wide — and an agent strong
 *   elsewhere starts a little higher, but a couple of failures outweigh either.
 * - Cost: the discounted mean of `costCents` over entries that report one; without any, the type's population
 *   mean cost; without that, the agent's mean cost on other types; else unknown (0, no price penalty).
 */
import type { StateWindowEntry } from '../expertise-state.js';
import type { LearningProfile, ProfileLookup } from '../learning-profile.js';
import { lookupProfile } from '../learning-profile.js';
import type { BetaParams } from './beta.js';
import { rewardOf } from './reward.js';
import type { PolicyCandidate } from './types.js';

export interface PosteriorOptions {
  /** Per-execution forgetting factor in (0, 1]. */
  discount: number;
  /** Prior strength n0 in pseudo-executions. */
  priorStrength: number;
  /** Weight of the agent's advantage on other task types in its prior mean, 0..1. */
  borrow: number;
}

export interface CandidateBelief {
  agentId: string;
  posterior: BetaParams;
  /** Posterior mean of the reward. */
  mean: number;
  /** Prior mean before the agent's own evidence for the type. */
  priorMean: number;
  /** Discounted evidence weight for this type (0 without history). */
  evidence: number;
  totalExecutions: number;
  hasData: boolean;
  /** Estimated cost per task in cents; null when nothing is known. */
  costCents: number | null;
}

interface Evidence {
  reward: number;
  weight: number;
  cost: number;
  costWeight: number;
  total: number;
}

const NO_EVIDENCE: Evidence = { reward: 0, weight: 0, cost: 0, costWeight: 0, total: 0 };
/** Evidence (in executions) on other types at which the borrowed advantage counts half. */
const BORROW_HALF_AT = 10;
const MEAN_FLOOR = 0.02;

function windowEvidence(window: readonly StateWindowEntry[], discount: number, total: number): Evidence {
  let reward = 0;
  let weight = 0;
  let cost = 0;
  let costWeight = 0;
  let w = 1;
  for (const entry of window) {
    reward += w * rewardOf(entry);
    weight += w;
    if (entry.costCents !== undefined) {
      cost += w * entry.costCents;
      costWeight += w;
    }
    w *= discount;
  }
  return { reward, weight, cost, costWeight, total };
}

/** Evidence of one agent for one type: from the state when present, else from the stored expertise. */
function evidenceFor(profile: LearningProfile | undefined, taskType: string, discount: number): Evidence {
  const state = profile?.states?.[taskType];
  if (state) return windowEvidence(state.window, discount, state.totalExecutions);
  const expertise = profile?.expertise[taskType];
  if (!expertise || expertise.windowSize === 0) return NO_EVIDENCE;
  // Without the window, the stored rate stands in for every entry; the discount caps its weight.
  const weight = discount < 1 ? Math.min(expertise.windowSize, 1 / (1 - discount)) : expertise.windowSize;
  return {
    reward: expertise.successRate * weight,
    weight,
    cost: 0,
    costWeight: 0,
    total: expertise.totalExecutions,
  };
}

const clampMean = (m: number): number => Math.min(1 - MEAN_FLOOR, Math.max(MEAN_FLOOR, m));

/** Beliefs for every candidate, in candidate order. */
export function beliefsFor(
  taskType: string,
  candidates: readonly PolicyCandidate[],
  profiles: ProfileLookup,
  options: PosteriorOptions,
): CandidateBelief[] {
  const profileOf = candidates.map((c) => lookupProfile(profiles, c.agentId));
  const own = profileOf.map((profile) => evidenceFor(profile, taskType, options.discount));

  // Population of each type over the candidates (pooled), for this type and the others the agents know.
  const populations = new Map<string, { reward: number; weight: number; cost: number; costWeight: number }>();
  const other = new Map<string, Evidence>();
  const addTo = (type: string, e: Evidence): void => {
    const pop = populations.get(type) ?? { reward: 0, weight: 0, cost: 0, costWeight: 0 };
    pop.reward += e.reward;
    pop.weight += e.weight;
    pop.cost += e.cost;
    pop.costWeight += e.costWeight;
    populations.set(type, pop);
  };
  own.forEach((e) => addTo(taskType, e));
  const otherTypes = profileOf.map((profile, i) => {
    if (!profile || options.borrow === 0) return [] as string[];
    const types = new Set([...Object.keys(profile.expertise), ...Object.keys(profile.states ?? {})]);
    types.delete(taskType);
    for (const type of types) {
      const e = evidenceFor(profile, type, options.discount);
      other.set(`${i}\u0000${type}`, e);
      addTo(type, e);
    }
    return [...types];
  });

  const typePop = populations.get(taskType)!;
  const popMean = (typePop.reward + 1) / (typePop.weight + 2);
  const popCost = typePop.costWeight > 0 ? typePop.cost / typePop.costWeight : null;

  return candidates.map((candidate, i) => {
    const mine = own[i]!;
    let advantage = 0;
    let advantageWeight = 0;
    let otherCost = 0;
    let otherCostWeight = 0;
    for (const type of otherTypes[i]!) {
      const e = other.get(`${i}\u0000${type}`)!;
      const pop = populations.get(type)!;
      if (e.weight > 0) {
        advantage += e.weight * (e.reward / e.weight - (pop.reward + 1) / (pop.weight + 2));
        advantageWeight += e.weight;
      }
      otherCost += e.cost;
      otherCostWeight += e.costWeight;
    }
    const shrink = advantageWeight / (advantageWeight + BORROW_HALF_AT);
    const borrowed = advantageWeight > 0 ? (advantage / advantageWeight) * shrink : 0;
    const priorMean = clampMean(popMean + options.borrow * borrowed);
    const alpha = priorMean * options.priorStrength + mine.reward;
    const beta = (1 - priorMean) * options.priorStrength + (mine.weight - mine.reward);
    const costCents =
      mine.costWeight > 0
        ? mine.cost / mine.costWeight
        : (popCost ?? (otherCostWeight > 0 ? otherCost / otherCostWeight : null));
    return {
      agentId: candidate.agentId,
      posterior: { alpha, beta },
      mean: alpha / (alpha + beta),
      priorMean,
      evidence: mine.weight,
      totalExecutions: mine.total,
      hasData: mine.total > 0,
      costCents,
    };
  });
}
