/**
 * Policies by name, with their options checked once at creation: an unknown name, an unknown option or a value out
 * of range is a PolicyError naming the policy, the option and what is accepted. Options may be numbers or numeric
 * strings (they often come from the environment or the command line).
 */
import { PolicyError, PolicyErrorCodes } from './errors.js';
import { RandomPolicy } from './random-policy.js';
import { SeedPolicy } from './seed-policy.js';
import type { ThompsonOptions } from './thompson-policy.js';
import { ThompsonPolicy } from './thompson-policy.js';
import type { Policy, PolicyContext, ProbabilisticPolicy } from './types.js';
import { isProbabilisticPolicy } from './types.js';

export const POLICIES = ['seed', 'seed-recency', 'thompson', 'cost-aware', 'random'] as const;
export type PolicyName = (typeof POLICIES)[number];

/** The policy that won on the simulator (docs/policies.md has the table). */
export const DEFAULT_POLICY: PolicyName = 'thompson';

interface OptionSpec {
  /** Inclusive lower bound unless `above` is set. */
  min: number;
  max: number;
  above?: boolean;
  default?: number;
  doc: string;
}

const THOMPSON_SPECS: Record<keyof ThompsonOptions, OptionSpec> = {
  discount: { min: 0, above: true, max: 1, default: 0.98, doc: 'per-execution forgetting factor, (0, 1]' },
  priorStrength: { min: 0, above: true, max: 1000, default: 3, doc: 'prior weight in executions, > 0' },
  borrow: { min: 0, max: 1, default: 0.5, doc: "weight of the agent's other task types in its prior, 0..1" },
  loadWeight: { min: 0, max: 1, default: 0.05, doc: 'score penalty at full load, 0..1' },
  exploration: {
    min: 0,
    above: true,
    max: 1,
    default: 0.3,
    doc: 'variance scale of the sampled posterior, (0, 1]',
  },
  epsilon: { min: 0, max: 0.999, default: 0, doc: 'share of uniformly random decisions, [0, 1)' },
};

const COST_SPECS: Record<string, OptionSpec> = {
  ...THOMPSON_SPECS,
  budgetCentsPerTask: {
    min: 0,
    above: true,
    max: Number.MAX_VALUE,
    doc: 'mean spend per task to pace to, > 0',
  },
  pacingRate: { min: 0, above: true, max: 10, default: 0.01, doc: 'dual step per decision, > 0' },
};

const SPECS: Record<PolicyName, Record<string, OptionSpec>> = {
  seed: {},
  'seed-recency': {},
  thompson: THOMPSON_SPECS,
  'cost-aware': COST_SPECS,
  random: {},
};

function isPolicyName(name: string): name is PolicyName {
  return (POLICIES as readonly string[]).includes(name);
}

function parseOptions(name: PolicyName, options: Record<string, unknown>): Record<string, number> {
  const specs = SPECS[name];
  const known = Object.keys(specs);
  for (const key of Object.keys(options)) {
    if (!Object.prototype.hasOwnProperty.call(specs, key)) {
      throw new PolicyError(
        PolicyErrorCodes.UnknownOption,
        `policy '${name}' has no option '${key}'` +
          (known.length > 0 ? `; its options: ${known.join(', ')}` : '; it takes no options'),
      );
    }
  }
  const parsed: Record<string, number> = {};
  for (const [key, spec] of Object.entries(specs)) {
    const raw = options[key];
    if (raw === undefined) {
      if (spec.default === undefined)
        throw new PolicyError(
          PolicyErrorCodes.MissingOption,
          `policy '${name}' needs option '${key}' (${spec.doc})`,
        );
      parsed[key] = spec.default;
      continue;
    }
    const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
    const inRange =
      typeof value === 'number' &&
      Number.isFinite(value) &&
      (spec.above ? value > spec.min : value >= spec.min) &&
      value <= spec.max;
    if (!inRange)
      throw new PolicyError(
        PolicyErrorCodes.InvalidOption,
        `policy '${name}' option '${key}' must be ${spec.doc}; got ${JSON.stringify(raw)}`,
      );
    parsed[key] = value;
  }
  return parsed;
}

/** The policies that take option `option`, each with its accepted maximum (configuration derives from this). */
export function policiesWithOption(option: string): { policy: PolicyName; max: number }[] {
  return POLICIES.flatMap((policy) => {
    const spec = SPECS[policy][option];
    return spec ? [{ policy, max: spec.max }] : [];
  });
}

/** A new policy instance (cost-aware keeps pacing state per instance). */
export function createPolicy(name: string, options: Record<string, unknown> = {}): ProbabilisticPolicy {
  if (!isPolicyName(name))
    throw new PolicyError(
      PolicyErrorCodes.UnknownPolicy,
      `unknown policy '${name}'; known policies: ${POLICIES.join(', ')}`,
    );
  const o = parseOptions(name, options);
  switch (name) {
    case 'seed':
      return new SeedPolicy(false);
    case 'seed-recency':
      return new SeedPolicy(true);
    case 'random':
      return new RandomPolicy();
    case 'thompson':
      return new ThompsonPolicy(name, thompsonOptions(o));
    case 'cost-aware':
      return new ThompsonPolicy(name, thompsonOptions(o), {
        budgetCentsPerTask: o.budgetCentsPerTask!,
        pacingRate: o.pacingRate!,
      });
  }
}

function thompsonOptions(o: Record<string, number>): ThompsonOptions {
  return {
    discount: o.discount!,
    priorStrength: o.priorStrength!,
    borrow: o.borrow!,
    loadWeight: o.loadWeight!,
    exploration: o.exploration!,
    epsilon: o.epsilon!,
  };
}

/**
 * The policy's choice distribution over the candidates (agentId → probability), for off-policy evaluation.
 * A policy that cannot state one is treated as deterministic: its choice gets probability 1.
 */
export function actionProbabilities(policy: Policy, ctx: PolicyContext): ReadonlyMap<string, number> {
  if (isProbabilisticPolicy(policy)) return policy.probabilities(ctx);
  const decision = policy.choose(ctx);
  return new Map(decision ? [[decision.agentId, 1]] : []);
}
