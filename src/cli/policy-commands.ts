/**
 * `simulate`, `replay` and `policies compare`: the policy tools. The simulator needs nothing running; replay and
 * compare read `kg_decisions` joined with `kg_executions` (the outcome of (task, attempt, chosen agent) is the
 * execution recorded under evidenceId(task, attempt, agent)).
 */
import type { ScenarioName } from '../simulator/index.js';
import { SCENARIOS, formatSimulationTable, runSimulation } from '../simulator/index.js';
import { evidenceId, isPolicyError, rewardOf } from '../domain/index.js';
import type { KnowledgeGraph } from '../kg/knowledge-graph.js';
import { UsageError } from './command.js';
import { openKg } from './context.js';
import type { Comparison, DecisionOutcome, Interval, ReplayReport } from './policy-analysis.js';
import { comparePolicies, parseSince, replayPolicy, replayPrecision } from './policy-analysis.js';
import { percent, table } from './render.js';

type Out = (line: string) => void;

export interface SimulateArgs {
  steps?: number;
  seeds?: number[];
  scenarios?: ScenarioName[];
}

export function simulateCommand(args: SimulateArgs, out: Out): void {
  const rows = runSimulation({
    ...(args.steps !== undefined ? { steps: args.steps } : {}),
    ...(args.seeds !== undefined ? { seeds: args.seeds } : {}),
    ...(args.scenarios !== undefined ? { scenarios: args.scenarios } : {}),
  });
  out(formatSimulationTable(rows));
}

export function parseSeeds(text: string | undefined): number[] | undefined {
  if (text === undefined) return undefined;
  const seeds = text.split(',').map((s) => s.trim());
  if (seeds.length === 0 || seeds.some((s) => !/^\d+$/.test(s)))
    throw new UsageError(`--seeds needs non-negative integers separated by commas, got '${text}'`);
  return seeds.map(Number);
}

export function parseScenarios(text: string | undefined): ScenarioName[] | undefined {
  if (text === undefined) return undefined;
  const names = text.split(',').map((s) => s.trim());
  for (const name of names)
    if (!(SCENARIOS as readonly string[]).includes(name))
      throw new UsageError(`unknown scenario '${name}'; scenarios: ${SCENARIOS.join(', ')}`);
  return names as ScenarioName[];
}

export function sinceOf(text: string | undefined, now = new Date()): Date {
  const since = parseSince(text ?? '7d', now);
  if (!since) throw new UsageError(`--since needs 7d, 12h, 30m or an ISO date, got '${text}'`);
  return since;
}

/** Every decision since `since`, with the outcome its chosen agent reported for that attempt, if any. */
export async function loadDecisionOutcomes(kg: KnowledgeGraph, since: Date): Promise<DecisionOutcome[]> {
  const decisions = await kg.listDecisions(since);
  const rows: DecisionOutcome[] = [];
  for (const decision of decisions) {
    const execution = await kg.getExecution(evidenceId(decision.taskId, decision.attempt, decision.chosen));
    rows.push(
      execution
        ? {
            decision,
            outcome: {
              success: execution.success,
              reward: rewardOf(execution),
              costCents: execution.costCents ?? 0,
            },
          }
        : { decision },
    );
  }
  return rows;
}

async function withKg<T>(use: (kg: KnowledgeGraph) => Promise<T>): Promise<T> {
  const kg = await openKg();
  try {
    return await use(kg);
  } finally {
    await kg.close();
  }
}

const ci = (i: Interval, format: (x: number) => string) =>
  `${format(i.value)} [${format(i.low)}, ${format(i.high)}]`;
const cents = (x: number) => x.toFixed(2);
const signedPercent = (x: number) => `${x >= 0 ? '+' : ''}${percent(x)}`;
const signedCents = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(2)}`;

export function renderComparison(c: Comparison, out: Out): void {
  if (c.summaries.length === 0) {
    out('no decisions logged in this period (kg_decisions is written by workers that decide with a policy)');
    return;
  }
  out(
    table(
      ['policy', 'decisions', 'outcomes', 'success [95% CI]', 'cost ¢/task [95% CI]', 'explored', 'mean P'],
      c.summaries.map((s) => [
        s.policy,
        s.decisions,
        s.outcomes,
        s.outcomes > 0 ? ci(s.success, percent) : '–',
        s.outcomes > 0 ? ci(s.costCents, cents) : '–',
        percent(s.explored),
        s.meanPropensity.toFixed(3),
      ]),
    ),
  );
  if (c.differences.length === 0) return;
  out('');
  out(`difference to ${c.baseline} (an interval that excludes 0 is a difference at ~95%):`);
  out(
    table(
      ['policy', 'success Δ [95% CI]', 'cost Δ ¢/task [95% CI]'],
      c.differences.map((d) => [d.policy, ci(d.success, signedPercent), ci(d.costCents, signedCents)]),
    ),
  );
}

export function renderReplay(r: ReplayReport, out: Out): void {
  const logged = Object.entries(r.loggedBy)
    .map(([p, n]) => `${p} ${n}`)
    .join(', ');
  out(
    `replay of ${r.policy} on ${r.decisions} logged decisions with outcomes` +
      `${logged ? ` (logged by ${logged})` : ''}; ${r.pending} without an outcome yet skipped`,
  );
  if (r.decisions === 0) return;
  out(
    `logged: reward ${percent(r.observed.reward)}, cost ${cents(r.observed.costCents)} ¢/task; ` +
      `effective sample size ${r.reward.effectiveSampleSize.toFixed(1)}`,
  );
  out(
    table(
      ['estimator', 'reward [95% CI]', 'cost ¢/task [95% CI]'],
      (['ips', 'snips', 'dr'] as const).map((k) => [
        k.toUpperCase(),
        ci(r.reward[k], percent),
        ci(r.cost[k], cents),
      ]),
    ),
  );
  const precision = replayPrecision(r);
  const width = `±${(precision.halfWidth * 100).toFixed(1)} pp (${precision.estimator.toUpperCase()})`;
  out(
    precision.enough
      ? `precision: ${width}, enough to read differences of a few points`
      : `precision: ${width}, too wide to read differences of a few points: ${r.policy} agrees with too few ` +
          `logged choices (effective sample size ${r.reward.effectiveSampleSize.toFixed(0)}; ±2 pp takes about ` +
          `2,000). Widen --since, or let the deciding policy explore: POLICY_EPSILON=0.05 (docs/policies.md).`,
  );
}

export async function policiesCompare(args: { since?: string; baseline?: string }, out: Out): Promise<void> {
  const since = sinceOf(args.since);
  const rows = await withKg((kg) => loadDecisionOutcomes(kg, since));
  renderComparison(comparePolicies(rows, args.baseline), out);
}

export async function replay(
  args: { policy: string; since?: string; budget?: string },
  out: Out,
): Promise<void> {
  const since = sinceOf(args.since);
  const options = args.budget !== undefined ? { budgetCentsPerTask: args.budget } : {};
  // The policy is checked before the KG is opened: a typo should not wait for a store.
  try {
    replayPolicy(args.policy, options, []);
  } catch (err) {
    if (isPolicyError(err)) throw new UsageError(err.message);
    throw err;
  }
  const rows = await withKg((kg) => loadDecisionOutcomes(kg, since));
  renderReplay(replayPolicy(args.policy, options, rows), out);
}
