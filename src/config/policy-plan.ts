/**
 * Which decision policy decides which task: one policy (POLICY), or an A/B split (POLICY_SPLIT) where each task goes
 * to one policy by a hash of its taskId. Parsed and checked once at start: every policy named is created here, so an
 * unknown name or a missing option (cost-aware without POLICY_BUDGET_CENTS_PER_TASK) stops the worker before it
 * takes any task, with the variable named. POLICY_EPSILON sets the uniform-exploration share of the policies that
 * have one (thompson, cost-aware).
 */
import type { ConfigProblem } from './env-parse.js';
import { createPolicy, isPolicyError, policiesWithOption } from '../domain/policy/index.js';

export interface PolicyArm {
  policy: string;
  /** Relative share of tasks, a positive integer. */
  weight: number;
}

export interface PolicyPlan {
  /** One arm (POLICY) or several (POLICY_SPLIT), in the order given. */
  arms: readonly PolicyArm[];
  /** Options per policy name (cost-aware: budgetCentsPerTask; thompson and cost-aware: epsilon). */
  options: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
}

export interface PolicyEnv {
  POLICY: string;
  /** Whether POLICY was set explicitly (USE_RECENCY only applies when it was not). */
  policySet: boolean;
  POLICY_SPLIT?: string;
  POLICY_BUDGET_CENTS_PER_TASK?: string;
  POLICY_EPSILON?: string;
  USE_RECENCY: boolean;
}

/** The policies that take `epsilon` (a share of uniformly random decisions), and its largest accepted value. */
const EXPLORING = policiesWithOption('epsilon');
const EXPLORING_POLICIES: readonly string[] = EXPLORING.map((p) => p.policy);
const MAX_EPSILON = Math.min(...EXPLORING.map((p) => p.max));

export type PlanResult = { ok: true; plan: PolicyPlan } | { ok: false; problems: ConfigProblem[] };

export function policyPlanOf(env: PolicyEnv): PlanResult {
  const problems: ConfigProblem[] = [];
  const options: Record<string, Record<string, unknown>> = {};
  const budget = env.POLICY_BUDGET_CENTS_PER_TASK;
  if (budget !== undefined) {
    const cents = Number(budget);
    if (!(Number.isFinite(cents) && cents > 0))
      problems.push({
        variable: 'POLICY_BUDGET_CENTS_PER_TASK',
        value: budget,
        message: `POLICY_BUDGET_CENTS_PER_TASK=${JSON.stringify(budget)} must be a number greater than 0`,
      });
    else options['cost-aware'] = { budgetCentsPerTask: cents };
  }
  const epsilonText = env.POLICY_EPSILON;
  if (epsilonText !== undefined) {
    const epsilon = Number(epsilonText);
    if (!(epsilonText.trim() !== '' && Number.isFinite(epsilon) && epsilon >= 0 && epsilon <= MAX_EPSILON))
      problems.push({
        variable: 'POLICY_EPSILON',
        value: epsilonText,
        message: `POLICY_EPSILON=${JSON.stringify(epsilonText)} must be a number from 0 to ${MAX_EPSILON}, e.g. 0.05`,
      });
    else for (const name of EXPLORING_POLICIES) options[name] = { ...options[name], epsilon };
  }

  let arms: PolicyArm[];
  let variable: 'POLICY' | 'POLICY_SPLIT' = 'POLICY';
  if (env.POLICY_SPLIT !== undefined) {
    variable = 'POLICY_SPLIT';
    const split = parsePolicySplit(env.POLICY_SPLIT);
    if (!split.ok) {
      problems.push({ variable, value: env.POLICY_SPLIT, message: `POLICY_SPLIT: ${split.message}` });
      return { ok: false, problems };
    }
    arms = split.arms;
  } else {
    // The old switch keeps its meaning for deployments that set it and nothing newer.
    const policy = !env.policySet && env.USE_RECENCY ? 'seed-recency' : env.POLICY;
    arms = [{ policy, weight: 1 }];
  }

  for (const arm of arms) {
    try {
      createPolicy(arm.policy, options[arm.policy] ?? {});
    } catch (err) {
      if (!isPolicyError(err)) throw err;
      const needsBudget = arm.policy === 'cost-aware' && budget === undefined;
      problems.push({
        variable: needsBudget ? 'POLICY_BUDGET_CENTS_PER_TASK' : variable,
        message: needsBudget
          ? `POLICY_BUDGET_CENTS_PER_TASK must be set when ${variable} uses cost-aware (${err.message})`
          : `${variable}: ${err.message}`,
      });
    }
  }
  if (epsilonText !== undefined && !arms.some((arm) => EXPLORING_POLICIES.includes(arm.policy)))
    problems.push({
      variable: 'POLICY_EPSILON',
      value: epsilonText,
      message: `POLICY_EPSILON is set but no policy in ${variable} uses it (only ${EXPLORING_POLICIES.join(' and ')} do)`,
    });
  return problems.length > 0 ? { ok: false, problems } : { ok: true, plan: { arms, options } };
}

/** `thompson:90,seed:10` → arms; a name without a weight counts 1. */
export function parsePolicySplit(
  text: string,
): { ok: true; arms: PolicyArm[] } | { ok: false; message: string } {
  const arms: PolicyArm[] = [];
  for (const part of text.split(',')) {
    const item = part.trim();
    if (item === '') continue;
    const match = /^([a-z][a-z0-9-]*)(?::(\d+))?$/i.exec(item);
    if (!match) return { ok: false, message: `'${item}' is not policy:weight (e.g. thompson:90,seed:10)` };
    const policy = match[1]!.toLowerCase();
    const weight = match[2] === undefined ? 1 : Number(match[2]);
    if (weight <= 0) return { ok: false, message: `'${item}': a weight must be a positive integer` };
    if (arms.some((arm) => arm.policy === policy))
      return { ok: false, message: `policy '${policy}' is named twice` };
    arms.push({ policy, weight });
  }
  if (arms.length === 0) return { ok: false, message: 'names no policy (e.g. thompson:90,seed:10)' };
  return { ok: true, arms };
}
