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

/**
 * Window sums memoised per window array and discount. States are immutable (applyExecution returns a new one), and
 * the worker's profile cache keeps decoded states between decisions, so most decisions reuse the sums of every
 * candidate whose state did not change.
 */
const windowMemo = new WeakMap<readonly StateWindowEntry[], Map<number, Evidence>>();

function windowEvidence(window: readonly StateWindowEntry[], discount: number, total: number): Evidence {
  let byDiscount = windowMemo.get(window);
  const cached = byDiscount?.get(discount);
  if (cached && cached.total === total) return cached;
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
  const evidence = { reward, weight, cost, costWeight, total };
  if (!byDiscount) windowMemo.set(window, (byDiscount = new Map()));
  byDiscount.set(discount, evidence);
  return evidence;
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

interface Pool {
  reward: number;
  weight: number;
  cost: number;
  costWeight: number;
}

function addTo(pools: Map<string, Pool>, type: string, e: Evidence): void {
  const pool = pools.get(type);
  if (pool) {
    pool.reward += e.reward;
    pool.weight += e.weight;
    pool.cost += e.cost;
    pool.costWeight += e.costWeight;
  } else pools.set(type, { reward: e.reward, weight: e.weight, cost: e.cost, costWeight: e.costWeight });
}

const poolMean = (pool: Pool): number => (pool.reward + 1) / (pool.weight + 2);

/** Beliefs for every candidate, in candidate order. */
export function beliefsFor(
  taskType: string,
  candidates: readonly PolicyCandidate[],
  profiles: ProfileLookup,
  options: PosteriorOptions,
): CandidateBelief[] {
  const { discount } = options;
  const pools = new Map<string, Pool>();
  const own: Evidence[] = [];
  // Per candidate: its evidence on the other task types it knows.
  const others: { type: string; evidence: Evidence }[][] = [];
  for (const candidate of candidates) {
    const profile = lookupProfile(profiles, candidate.agentId);
    const mine = evidenceFor(profile, taskType, discount);
    own.push(mine);
    addTo(pools, taskType, mine);
    const list: { type: string; evidence: Evidence }[] = [];
    if (profile && options.borrow > 0) {
      const types = profile.states ? Object.keys(profile.states) : Object.keys(profile.expertise);
      for (const type of types) {
        if (type === taskType) continue;
        const evidence = evidenceFor(profile, type, discount);
        list.push({ type, evidence });
        addTo(pools, type, evidence);
      }
    }
    others.push(list);
  }

  const typePool = pools.get(taskType) ?? { reward: 0, weight: 0, cost: 0, costWeight: 0 };
  const popMean = poolMean(typePool);
  const popCost = typePool.costWeight > 0 ? typePool.cost / typePool.costWeight : null;

  return candidates.map((candidate, i) => {
    const mine = own[i]!;
    let advantage = 0;
    let advantageWeight = 0;
    let otherCost = 0;
    let otherCostWeight = 0;
    for (const { type, evidence } of others[i]!) {
      if (evidence.weight > 0) {
        advantage += evidence.reward - evidence.weight * poolMean(pools.get(type)!);
        advantageWeight += evidence.weight;
      }
      otherCost += evidence.cost;
      otherCostWeight += evidence.costWeight;
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
