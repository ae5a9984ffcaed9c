/**
 * What the decision log says about policies, as pure functions over logged decisions joined with their outcomes
 * (`replay` and `policies compare`; the loading is in ./policy-commands.ts).
 *
 * - compare: per policy, the observed success rate and cost per decided task, each with a normal-approximation
 *   interval, and each policy's difference to a baseline. Valid because a split assigns tasks to policies by a hash
 *   of the taskId, which is independent of the task: the arms are randomised groups.
 * - replay: what policy P would have achieved on the logged contexts (IPS, SNIPS, DR; src/domain/policy/off-policy.ts).
 *   A logged context holds each candidate's load and stored expertise, not the full incremental state, so P is
 *   evaluated on the expertise it would have read (its posterior from the window's rate, not its entries). The
 *   doubly robust model predicts a candidate's reward by its logged window success rate (the population's observed
 *   rate without history) and its cost by its mean observed cost in the log.
 */
import type { PolicyCandidate, PolicyContext, LearningProfile, OffPolicyEstimate } from '../domain/index.js';
import { actionProbabilities, createPolicy, estimateOffPolicy } from '../domain/index.js';
import type { LoggedDecision } from '../domain/index.js';
import type { DecisionRecord } from '../kg/decision-record.js';

export interface DecisionOutcome {
  decision: DecisionRecord;
  /** Absent while the chosen agent has not reported (or the attempt timed out without a recorded failure). */
  outcome?: { success: boolean; reward: number; costCents: number };
}

export interface Interval {
  value: number;
  low: number;
  high: number;
}

export interface PolicySummary {
  policy: string;
  decisions: number;
  /** Decisions with a recorded outcome: the denominator of the rates below. */
  outcomes: number;
  success: Interval;
  costCents: Interval;
  explored: number;
  meanPropensity: number;
}

export interface PolicyDifference {
  policy: string;
  baseline: string;
  success: Interval;
  costCents: Interval;
}

export interface Comparison {
  summaries: PolicySummary[];
  baseline: string | null;
  differences: PolicyDifference[];
}

const Z = 1.96;

function meanInterval(values: readonly number[]): Interval & { se: number } {
  const n = values.length;
  if (n === 0) return { value: 0, low: 0, high: 0, se: 0 };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const variance = n > 1 ? values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1) : 0;
  const se = Math.sqrt(variance / n);
  return { value: mean, low: mean - Z * se, high: mean + Z * se, se };
}

/**
 * Per-policy success and cost with intervals, and each policy minus the baseline (`baseline`, else `seed` when it
 * ran, else the policy with the most outcomes).
 */
export function comparePolicies(rows: readonly DecisionOutcome[], baseline?: string): Comparison {
  const byPolicy = new Map<string, DecisionOutcome[]>();
  for (const row of rows) {
    const list = byPolicy.get(row.decision.policy);
    if (list) list.push(row);
    else byPolicy.set(row.decision.policy, [row]);
  }
  const stats = new Map<string, { success: Interval & { se: number }; cost: Interval & { se: number } }>();
  const summaries: PolicySummary[] = [...byPolicy.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([policy, list]) => {
      const done = list.filter((r) => r.outcome !== undefined);
      const success = meanInterval(done.map((r) => (r.outcome!.success ? 1 : 0)));
      const cost = meanInterval(done.map((r) => r.outcome!.costCents));
      stats.set(policy, { success, cost });
      return {
        policy,
        decisions: list.length,
        outcomes: done.length,
        success: { value: success.value, low: success.low, high: success.high },
        costCents: { value: cost.value, low: cost.low, high: cost.high },
        explored: list.filter((r) => r.decision.explored).length / list.length,
        meanPropensity: list.reduce((a, r) => a + r.decision.propensity, 0) / list.length,
      };
    });
  const withOutcomes = summaries.filter((s) => s.outcomes > 0);
  const base =
    baseline ??
    (withOutcomes.some((s) => s.policy === 'seed')
      ? 'seed'
      : [...withOutcomes].sort((a, b) => b.outcomes - a.outcomes)[0]?.policy);
  const b = base === undefined ? undefined : stats.get(base);
  const differences: PolicyDifference[] = [];
  if (b)
    for (const s of withOutcomes) {
      if (s.policy === base) continue;
      const o = stats.get(s.policy)!;
      const diff = (x: Interval & { se: number }, y: Interval & { se: number }): Interval => {
        const value = x.value - y.value;
        const se = Math.sqrt(x.se ** 2 + y.se ** 2);
        return { value, low: value - Z * se, high: value + Z * se };
      };
      differences.push({
        policy: s.policy,
        baseline: base!,
        success: diff(o.success, b.success),
        costCents: diff(o.cost, b.cost),
      });
    }
  return { summaries, baseline: b ? base! : null, differences };
}

export interface ReplayReport {
  policy: string;
  /** Logged decisions with an outcome, which the estimates use. */
  decisions: number;
  /** Logged decisions still without an outcome (skipped). */
  pending: number;
  /** The logging policies and how many of the used decisions each made. */
  loggedBy: Record<string, number>;
  /** The observed mean reward and cost of what was logged. */
  observed: { reward: number; costCents: number };
  reward: OffPolicyEstimate;
  cost: OffPolicyEstimate;
}

/** The logged decision's context as the target policy would have seen it (expertise without states). */
export function contextOf(decision: DecisionRecord): PolicyContext {
  const candidates: PolicyCandidate[] = decision.candidates.map((c) => ({
    agentId: c.agentId,
    successRate: c.successRate,
    load: c.load,
    maxConcurrent: c.maxConcurrent,
    inFlight: c.inFlight,
  }));
  const profiles = new Map<string, LearningProfile>();
  for (const c of decision.candidates) {
    if (!c.expertise) continue;
    profiles.set(c.agentId, {
      agentId: c.agentId,
      expertise: {
        [decision.taskType]: {
          taskType: decision.taskType,
          ...c.expertise,
          avgDurationMs: 0,
          learningCurve: [],
          trend: 'unknown',
          lastExecutionAt: null,
          asOf: decision.at,
        },
      },
    });
  }
  return { taskType: decision.taskType, candidates, profiles, now: new Date(decision.at) };
}

export function replayPolicy(
  policyName: string,
  options: Record<string, unknown>,
  rows: readonly DecisionOutcome[],
): ReplayReport {
  // Created first: an unknown name or a missing option is a usage problem even on an empty log.
  const policy = createPolicy(policyName, options);
  const done = rows.filter((r) => r.outcome !== undefined);
  const rewards = done.map((r) => r.outcome!.reward);
  const meanReward = rewards.length > 0 ? rewards.reduce((a, b) => a + b, 0) / rewards.length : 0;
  const costs = new Map<string, { sum: number; n: number }>();
  for (const r of done) {
    const c = costs.get(r.decision.chosen) ?? { sum: 0, n: 0 };
    c.sum += r.outcome!.costCents;
    c.n += 1;
    costs.set(r.decision.chosen, c);
  }
  const logs: LoggedDecision[] = done.map((r) => ({
    candidates: r.decision.candidates.map((c) => {
      const cost = costs.get(c.agentId);
      return {
        agentId: c.agentId,
        predictedReward: c.expertise && c.expertise.windowSize > 0 ? c.expertise.successRate : meanReward,
        ...(cost ? { predictedCost: cost.sum / cost.n } : {}),
      };
    }),
    chosen: r.decision.chosen,
    propensity: r.decision.propensity,
    reward: r.outcome!.reward,
    cost: r.outcome!.costCents,
  }));
  const targets = done.map((r) => actionProbabilities(policy, contextOf(r.decision)));
  const target = (_d: LoggedDecision, i: number) => targets[i]!;
  const loggedBy: Record<string, number> = {};
  for (const r of done) loggedBy[r.decision.policy] = (loggedBy[r.decision.policy] ?? 0) + 1;
  return {
    policy: policyName,
    decisions: done.length,
    pending: rows.length - done.length,
    loggedBy,
    observed: {
      reward: meanReward,
      costCents: done.length > 0 ? done.reduce((a, r) => a + r.outcome!.costCents, 0) / done.length : 0,
    },
    reward: estimateOffPolicy(logs, target, { outcome: 'reward' }),
    cost: estimateOffPolicy(logs, target, { outcome: 'cost' }),
  };
}

/** Half-width of a 95% interval that reads a difference of a few percentage points (issue 9's replay goal). */
export const REPLAY_PRECISION_GOAL = 0.02;

export interface ReplayPrecision {
  /** The steadier of SNIPS and DR: the one with the narrower reward interval. */
  estimator: 'snips' | 'dr';
  /** Half the width of its 95% reward interval, at least the Wilson half-width at the effective sample size. */
  halfWidth: number;
  /** Whether that is within REPLAY_PRECISION_GOAL. */
  enough: boolean;
}

const Z95 = 1.96;

/** Half-width of the 95% Wilson interval of a proportion p observed on n trials. */
function wilsonHalfWidth(p: number, n: number): number {
  if (n <= 0) return 0.5;
  const q = Math.min(1, Math.max(0, p));
  return (Z95 / (1 + (Z95 * Z95) / n)) * Math.sqrt((q * (1 - q)) / n + (Z95 * Z95) / (4 * n * n));
}

/**
 * How far the reward estimate can be trusted: the narrower of the SNIPS and DR intervals, but never narrower than
 * the effective sample size allows. A few weighted outcomes that happen to agree give an interval of width ~0
 * (the normal approximation sees no spread); the Wilson half-width at the effective sample size is the floor.
 */
export function replayPrecision(report: ReplayReport): ReplayPrecision {
  const half = (e: 'snips' | 'dr') => (report.reward[e].high - report.reward[e].low) / 2;
  const estimator = half('dr') <= half('snips') ? 'dr' : 'snips';
  const floor = wilsonHalfWidth(report.reward[estimator].value, report.reward.effectiveSampleSize);
  const halfWidth = Math.max(half(estimator), floor);
  return { estimator, halfWidth, enough: halfWidth <= REPLAY_PRECISION_GOAL };
}

/** `7d`, `12h`, `30m` before `now`, or an ISO 8601 instant. */
export function parseSince(text: string, now: Date): Date | undefined {
  const relative = /^(\d+(?:\.\d+)?)([dhm])$/.exec(text.trim());
  if (relative) {
    const unit = { d: 86_400_000, h: 3_600_000, m: 60_000 }[relative[2] as 'd' | 'h' | 'm'];
    return new Date(now.getTime() - Number(relative[1]) * unit);
  }
  const at = Date.parse(text);
  return Number.isFinite(at) && /^\d{4}-\d{2}-\d{2}/.test(text.trim()) ? new Date(at) : undefined;
}
