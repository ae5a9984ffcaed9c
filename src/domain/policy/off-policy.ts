/**
 * Off-policy evaluation: what another policy would have achieved on decisions logged under the running one.
 * Each logged decision names the candidates (with the logging policy's predicted reward and cost, for the doubly
 * robust model), the chosen agent, the logging propensity μ(chosen), and the observed reward and cost. The target
 * policy's choice distribution π(·) on each logged context is supplied by the caller (actionProbabilities).
 *
 * With w = π(chosen) / μ(chosen) and y the observed outcome (reward, or cost):
 *   IPS   = mean(w·y)                                    unbiased; variance grows with large weights
 *   SNIPS = Σ w·y / Σ w                                  slightly biased, much steadier
 *   DR    = mean(Σ_a π(a)·ŷ(a) + w·(y − ŷ(chosen)))      unbiased if either μ or the model ŷ is right
 * Intervals are normal approximations at `z` (default 1.96 ≈ 95%): standard error sd/√n for IPS and DR, the delta
 * method for SNIPS. They hold for a fixed target evaluated on fixed contexts; a learning target's value on its own
 * run also differs by the contexts its own history would have produced.
 */
export interface LoggedCandidate {
  agentId: string;
  /** The logging policy's estimate of this candidate's reward (e.g. its posterior mean), for DR. */
  predictedReward?: number;
  /** Its estimate of this candidate's cost per task in cents, for DR on cost. */
  predictedCost?: number;
}

export interface LoggedDecision {
  candidates: readonly LoggedCandidate[];
  chosen: string;
  /** μ(chosen | context) under the logging policy, in (0, 1]. */
  propensity: number;
  reward: number;
  /** Cost in cents; absent counts as 0. */
  cost?: number;
}

export interface Estimate {
  value: number;
  stdError: number;
  low: number;
  high: number;
}

export interface OffPolicyEstimate {
  outcome: 'reward' | 'cost';
  decisions: number;
  /** (Σw)² / Σw²: how many logged decisions the estimate is effectively worth. */
  effectiveSampleSize: number;
  ips: Estimate;
  snips: Estimate;
  dr: Estimate;
}

export interface OffPolicyOptions {
  outcome?: 'reward' | 'cost';
  /** @default 1.96 */
  z?: number;
}

export type TargetProbabilities = (decision: LoggedDecision, index: number) => ReadonlyMap<string, number>;

function estimate(value: number, stdError: number, z: number): Estimate {
  return { value, stdError, low: value - z * stdError, high: value + z * stdError };
}

function meanAndError(values: readonly number[]): { mean: number; stdError: number } {
  const n = values.length;
  if (n === 0) return { mean: 0, stdError: 0 };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { mean, stdError: 0 };
  const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1);
  return { mean, stdError: Math.sqrt(variance / n) };
}

export function estimateOffPolicy(
  logs: readonly LoggedDecision[],
  target: TargetProbabilities,
  options: OffPolicyOptions = {},
): OffPolicyEstimate {
  const outcome = options.outcome ?? 'reward';
  const z = options.z ?? 1.96;
  const weights: number[] = [];
  const outcomes: number[] = [];
  const ipsTerms: number[] = [];
  const drTerms: number[] = [];
  logs.forEach((decision, index) => {
    if (!(decision.propensity > 0 && decision.propensity <= 1))
      throw new RangeError(`logged decision ${index}: propensity ${decision.propensity} is not in (0, 1]`);
    const pi = target(decision, index);
    const y = outcome === 'reward' ? decision.reward : (decision.cost ?? 0);
    const predicted = (c: LoggedCandidate): number =>
      (outcome === 'reward' ? c.predictedReward : c.predictedCost) ?? 0;
    const w = (pi.get(decision.chosen) ?? 0) / decision.propensity;
    const chosen = decision.candidates.find((c) => c.agentId === decision.chosen);
    const direct = decision.candidates.reduce((sum, c) => sum + (pi.get(c.agentId) ?? 0) * predicted(c), 0);
    weights.push(w);
    outcomes.push(y);
    ipsTerms.push(w * y);
    drTerms.push(direct + w * (y - (chosen ? predicted(chosen) : 0)));
  });

  const ips = meanAndError(ipsTerms);
  const dr = meanAndError(drTerms);
  const sumW = weights.reduce((a, b) => a + b, 0);
  const sumW2 = weights.reduce((a, b) => a + b * b, 0);
  const snipsValue = sumW > 0 ? ipsTerms.reduce((a, b) => a + b, 0) / sumW : 0;
  const snipsError =
    sumW > 0
      ? Math.sqrt(weights.reduce((a, w, i) => a + (w * (outcomes[i]! - snipsValue)) ** 2, 0)) / sumW
      : 0;
  return {
    outcome,
    decisions: logs.length,
    effectiveSampleSize: sumW2 > 0 ? (sumW * sumW) / sumW2 : 0,
    ips: estimate(ips.mean, ips.stdError, z),
    snips: estimate(snipsValue, snipsError, z),
    dr: estimate(dr.mean, dr.stdError, z),
  };
}
