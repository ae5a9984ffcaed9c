/**
 * Off-policy evaluation checked against the truth the simulator knows: run the logging policy (by default the
 * default policy), log every decision with its propensity, then estimate each target policy's mean reward on those
 * decisions with IPS, SNIPS and DR, and compare with its exact value on the same contexts,
 * mean over decisions of Σ_a π_target(a | context) · true skill(a).
 */
import type { OffPolicyEstimate } from '../domain/index.js';
import { DEFAULT_POLICY, createPolicy, estimateOffPolicy } from '../domain/index.js';
import { deriveSeed } from './prng.js';
import type { ScenarioName } from './scenarios.js';
import { buildWorld } from './scenarios.js';
import { runWorld } from './simulate.js';

export interface ReplayCheckOptions {
  scenario: ScenarioName;
  seed: number;
  steps: number;
  /** Logging policy name and options. @default DEFAULT_POLICY */
  logging?: string;
  loggingOptions?: Record<string, unknown>;
  /** Policy names to evaluate. */
  targets: readonly string[];
}

export interface ReplayCheckRow {
  target: string;
  /** The target's exact mean expected reward on the logged contexts. */
  truth: number;
  estimate: OffPolicyEstimate;
}

export function replayCheck(options: ReplayCheckOptions): ReplayCheckRow[] {
  const world = buildWorld(options.scenario, options.seed, options.steps);
  const targets = options.targets.map((name) => createPolicy(name));
  const run = runWorld(
    world,
    options.seed,
    createPolicy(options.logging ?? DEFAULT_POLICY, options.loggingOptions),
    {
      policySeed: deriveSeed(options.seed, 4),
      log: { targets },
    },
  );
  const logs = run.logs ?? [];
  return options.targets.map((target, t) => ({
    target,
    truth: logs.reduce((sum, record) => sum + record.targetTruth[t]!, 0) / Math.max(1, logs.length),
    estimate: estimateOffPolicy(logs, (_, index) => logs[index]!.targetProbabilities[t]!),
  }));
}
