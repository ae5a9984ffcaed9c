/**
 * Policies × scenarios × seeds, aggregated into rows, and the printable table (`vapora-learning simulate`).
 */
import { DEFAULT_POLICY, createPolicy } from '../domain/index.js';
import { deriveSeed } from './prng.js';
import type { ScenarioName } from './scenarios.js';
import { SCENARIOS, buildWorld } from './scenarios.js';
import type { RunResult } from './simulate.js';
import { runWorld } from './simulate.js';

export interface PolicySpec {
  /** A name from POLICIES, or 'oracle'. */
  name: string;
  options?: Record<string, unknown>;
  /** Row label. @default name */
  label?: string;
}

export interface SimulateOptions {
  /** @default [1, 2, 3, 4, 5] */
  seeds?: readonly number[];
  /** Tasks per run. @default 4000 */
  steps?: number;
  /**
   * A cost-aware spec without `budgetCentsPerTask` gets this fraction of DEFAULT_POLICY's spend per task on the
   * same scenario and seed. @default 0.7
   */
  budgetFraction?: number;
}

export interface SimulationRow {
  scenario: ScenarioName;
  policy: string;
  seeds: number;
  /** Σ expected success ÷ Σ oracle expected success, mean over seeds. */
  ratio: number;
  /** The worst seed's ratio. */
  ratioMin: number;
  /** The same ratio over the last quarter of the run, mean over seeds. */
  lastQuarter: number;
  /** Worst over seeds and changed types; null without an abrupt change. Infinity: never recovered. */
  recovery: number | null;
  /** Realised mean reward per assigned task. */
  successRate: number;
  spendPerTask: number;
  /** Mean over seeds of the budget the cost-aware row paced to; null for the other rows. */
  budgetPerTask: number | null;
  /** Mean over seeds of spend ÷ budget (cost-aware rows), null otherwise. */
  spendRatio: number | null;
  /** Share of decisions the policy marked as exploring. */
  explored: number;
}

export interface SeedRun {
  seed: number;
  result: RunResult;
  budgetPerTask: number | null;
}

const mean = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0) / values.length;

function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

function isPlainDefault(spec: PolicySpec): boolean {
  return spec.name === DEFAULT_POLICY && Object.keys(spec.options ?? {}).length === 0;
}

function needsBudget(spec: PolicySpec): boolean {
  return spec.name === 'cost-aware' && spec.options?.budgetCentsPerTask === undefined;
}

/** Runs every policy on `scenario` for every seed; raw per-seed results, in policy order. */
export function simulateRuns(
  scenario: ScenarioName,
  policies: readonly PolicySpec[],
  options: SimulateOptions = {},
): SeedRun[][] {
  const seeds = options.seeds ?? [1, 2, 3, 4, 5];
  const steps = options.steps ?? 4000;
  const fraction = options.budgetFraction ?? 0.7;
  const runs: SeedRun[][] = policies.map(() => []);
  for (const seed of seeds) {
    const world = buildWorld(scenario, seed, steps);
    // Seeded by the spec, not its position, so a policy's row is the same whatever else is simulated beside it.
    const policySeed = (spec: PolicySpec): number =>
      deriveSeed(seed, 3, hashString(`${spec.name}${JSON.stringify(spec.options ?? {})}`));
    const run = (spec: PolicySpec, budget: number | null): SeedRun => {
      const chooser =
        spec.name === 'oracle'
          ? 'oracle'
          : createPolicy(
              spec.name,
              budget === null ? spec.options : { ...spec.options, budgetCentsPerTask: budget },
            );
      return {
        seed,
        result: runWorld(world, seed, chooser, { policySeed: policySeed(spec) }),
        budgetPerTask: budget,
      };
    };
    // The default policy's own row, when listed, is the run whose spend sets the budget; otherwise a run of its own.
    const defaultIndex = policies.findIndex(isPlainDefault);
    const done = new Map<number, SeedRun>();
    if (defaultIndex >= 0) done.set(defaultIndex, run(policies[defaultIndex]!, null));
    let budget: number | undefined;
    const budgetFor = (): number => {
      if (budget === undefined) {
        const reference = defaultIndex >= 0 ? done.get(defaultIndex)! : run({ name: DEFAULT_POLICY }, null);
        budget = (fraction * reference.result.spendCents) / Math.max(1, reference.result.tasks);
      }
      return budget;
    };
    policies.forEach((spec, index) => {
      const seedRun =
        done.get(index) ??
        run(
          spec,
          needsBudget(spec)
            ? budgetFor()
            : spec.name === 'cost-aware'
              ? Number(spec.options?.budgetCentsPerTask)
              : null,
        );
      runs[index]!.push(seedRun);
    });
  }
  return runs;
}

/** Aggregated rows, one per policy. */
export function simulate(
  scenario: ScenarioName,
  policies: readonly PolicySpec[],
  options: SimulateOptions = {},
): SimulationRow[] {
  return simulateRuns(scenario, policies, options).map((runs, index) => {
    const spec = policies[index]!;
    const ratios = runs.map((r) => r.result.expected / r.result.oracle);
    const recoveries = runs.map((r) => r.result.recovery).filter((r): r is number => r !== null);
    const budgets = runs.map((r) => r.budgetPerTask).filter((b): b is number => b !== null);
    const spend = (r: SeedRun): number => r.result.spendCents / Math.max(1, r.result.tasks);
    return {
      scenario,
      policy: spec.label ?? spec.name,
      seeds: runs.length,
      ratio: mean(ratios),
      ratioMin: Math.min(...ratios),
      lastQuarter: mean(runs.map((r) => r.result.lastQuarterExpected / r.result.lastQuarterOracle)),
      recovery: recoveries.length > 0 ? Math.max(...recoveries) : null,
      successRate: mean(runs.map((r) => r.result.realisedReward / Math.max(1, r.result.tasks))),
      spendPerTask: mean(runs.map(spend)),
      budgetPerTask: budgets.length > 0 ? mean(budgets) : null,
      spendRatio: budgets.length > 0 ? mean(runs.map((r) => spend(r) / r.budgetPerTask!)) : null,
      explored: mean(runs.map((r) => r.result.explored / Math.max(1, r.result.tasks))),
    };
  });
}

export interface RunSimulationOptions extends SimulateOptions {
  /** @default every scenario */
  scenarios?: readonly ScenarioName[];
  /** @default oracle, DEFAULT_POLICY, cost-aware, seed, seed-recency, random */
  policies?: readonly PolicySpec[];
}

export const DEFAULT_SIMULATION_POLICIES: readonly PolicySpec[] = [
  { name: 'oracle' },
  { name: DEFAULT_POLICY },
  { name: 'cost-aware' },
  { name: 'seed' },
  { name: 'seed-recency' },
  { name: 'random' },
];

export function runSimulation(options: RunSimulationOptions = {}): SimulationRow[] {
  const scenarios = options.scenarios ?? SCENARIOS;
  const policies = options.policies ?? DEFAULT_SIMULATION_POLICIES;
  return scenarios.flatMap((scenario) => simulate(scenario, policies, options));
}

const f3 = (x: number): string => x.toFixed(3);

/** A fixed-width table, one line per row, with a header naming the units. */
export function formatSimulationTable(rows: readonly SimulationRow[]): string {
  const header = [
    'scenario',
    'policy',
    'seeds',
    '÷oracle',
    'worst seed',
    'last quarter',
    'recovery',
    'success',
    'spend ¢/task',
    'spend÷budget',
    'explored',
  ];
  const cells = rows.map((r) => [
    r.scenario,
    r.policy,
    String(r.seeds),
    f3(r.ratio),
    f3(r.ratioMin),
    f3(r.lastQuarter),
    r.recovery === null ? '-' : Number.isFinite(r.recovery) ? String(r.recovery) : 'never',
    f3(r.successRate),
    r.spendPerTask.toFixed(2),
    r.spendRatio === null ? '-' : f3(r.spendRatio),
    f3(r.explored),
  ]);
  const widths = header.map((h, col) => Math.max(h.length, ...cells.map((row) => row[col]!.length)));
  const line = (row: readonly string[]): string =>
    row.map((cell, col) => (col < 2 ? cell.padEnd(widths[col]!) : cell.padStart(widths[col]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}
