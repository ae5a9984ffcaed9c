/**
 * One simulated run: tasks arrive one per step, a policy picks among the registered agents with a free slot, the
 * outcome is drawn from the chosen agent's hidden skill, and the result is folded into the same incremental
 * expertise state the worker keeps (applyExecution). Pure and seeded: the task stream, the outcome coins, the
 * prices and the durations come from the world's seed and are the same for every policy (common random numbers),
 * so policies are compared on identical work; the policy's own randomness has a separate stream.
 *
 * Success is measured in expectation: each decision contributes the chosen agent's true success probability, and
 * the per-step oracle contributes the best eligible agent's (same candidates, same moment). Ratios of those sums
 * are free of coin-flip noise; the realised success rate is reported beside them.
 */
import type {
  ExecutionData,
  LearningProfile,
  LoggedDecision,
  Policy,
  PolicyCandidate,
  PolicyContext,
} from '../domain/index.js';
import {
  actionProbabilities,
  applyExecution,
  createExpertiseState,
  expertiseFromState,
  rewardOf,
} from '../domain/index.js';
import { createRandom, deriveSeed } from './prng.js';
import type { SimAgentSpec, World } from './scenarios.js';
import { skillAt } from './scenarios.js';

export const SIM_START = new Date('2026-01-01T00:00:00.000Z');
/** Simulated time between two task arrivals. */
export const STEP_MS = 10 * 60_000;
/** Window (tasks of the changed type) over which recovery must reach RECOVERY_LEVEL of the oracle. */
export const RECOVERY_WINDOW = 20;
export const RECOVERY_LEVEL = 0.9;

/** `oracle` picks the best eligible agent by its true skill; anything else is a policy. */
export type Chooser = Policy | 'oracle';

export interface RunOptions {
  /** Seed of the policy's own random stream. */
  policySeed: number;
  /** Record every decision for off-policy evaluation, with these target policies' true values. */
  log?: { targets: readonly Policy[] };
}

export interface ReplayRecord extends LoggedDecision {
  step: number;
  taskType: string;
  /** Per target: Σ_a π(a | context) · true skill(a): the target's exact expected reward on this context. */
  targetTruth: number[];
  /** Per target: its choice distribution on this context. */
  targetProbabilities: ReadonlyMap<string, number>[];
}

export interface RunResult {
  tasks: number;
  unassignable: number;
  /** Σ true success probability of the chosen agents. */
  expected: number;
  /** Σ true success probability of the per-step oracle. */
  oracle: number;
  lastQuarterExpected: number;
  lastQuarterOracle: number;
  realisedReward: number;
  spendCents: number;
  explored: number;
  /** Worst recovery over the changed types: tasks of that type until the oracle ratio reaches the level. */
  recovery: number | null;
  /** Per changed type, every task of that type after the change: the chosen's and the oracle's true skill. */
  afterShift: Map<string, { chosen: number; oracle: number }[]>;
  logs?: ReplayRecord[];
}

interface Pending {
  finishStep: number;
  agentId: string;
  taskType: string;
  execution: ExecutionData;
}

interface StepDraws {
  type: string;
  coin: number;
  costNoise: number;
  duration: number;
}

function drawSteps(world: World, seed: number): StepDraws[] {
  const random = createRandom(deriveSeed(seed, 2));
  return Array.from({ length: world.steps }, () => {
    const type = world.types[Math.floor(random() * world.types.length)]!;
    const coin = random();
    const costNoise = 0.9 + 0.2 * random();
    const u = random();
    const duration =
      world.meanDurationSteps > 0 ? Math.max(1, Math.round(-world.meanDurationSteps * Math.log(1 - u))) : 0;
    return { type, coin, costNoise, duration };
  });
}

class Books {
  readonly profiles = new Map<string, LearningProfile>();
  readonly inFlight = new Map<string, number>();
  private readonly rates = new Map<string, number>();

  apply(agentId: string, taskType: string, execution: ExecutionData, now: Date): void {
    const profile = this.profiles.get(agentId) ?? { agentId, expertise: {}, states: {} };
    const state = applyExecution(profile.states?.[taskType] ?? createExpertiseState(taskType), execution);
    const states = { ...profile.states, [taskType]: state };
    this.profiles.set(agentId, {
      agentId,
      expertise: { ...profile.expertise, [taskType]: expertiseFromState(state, now) },
      states,
    });
    let successes = 0;
    let total = 0;
    for (const s of Object.values(states)) {
      for (const entry of s.window) successes += entry.success ? 1 : 0;
      total += s.window.length;
    }
    this.rates.set(agentId, total > 0 ? successes / total : 0);
  }

  /** The agent's overall success rate over its windows (the seed's base score input). */
  overallRate(agentId: string): number {
    return this.rates.get(agentId) ?? 0;
  }
}

/** Runs one policy (or the oracle) through one world with the world's seed `seed`. */
export function runWorld(world: World, seed: number, chooser: Chooser, options: RunOptions): RunResult {
  const draws = drawSteps(world, seed);
  const policyRandom = createRandom(options.policySeed);
  const books = new Books();
  const agentsById = new Map(world.agents.map((a) => [a.agentId, a]));

  world.warmup.forEach((w, i) => {
    const at = new Date(SIM_START.getTime() - (world.warmup.length - i) * STEP_MS);
    books.apply(
      w.agentId,
      w.taskType,
      {
        executionId: `warm-${i}`,
        success: w.success,
        durationMs: STEP_MS,
        finishedAt: at,
        costCents: world.agents.find((a) => a.agentId === w.agentId)!.costCents[w.taskType]!,
      },
      at,
    );
  });

  const pending: Pending[] = [];
  const lastQuarterFrom = Math.floor(world.steps * 0.75);
  const result: RunResult = {
    tasks: 0,
    unassignable: 0,
    expected: 0,
    oracle: 0,
    lastQuarterExpected: 0,
    lastQuarterOracle: 0,
    realisedReward: 0,
    spendCents: 0,
    explored: 0,
    recovery: null,
    afterShift: new Map(),
  };
  const logs: ReplayRecord[] = [];
  const afterShift = result.afterShift;

  for (let step = 0; step < world.steps; step += 1) {
    const now = new Date(SIM_START.getTime() + step * STEP_MS);
    for (let i = pending.length - 1; i >= 0; i -= 1) {
      const job = pending[i]!;
      if (job.finishStep > step) continue;
      pending.splice(i, 1);
      books.inFlight.set(job.agentId, (books.inFlight.get(job.agentId) ?? 1) - 1);
      books.apply(job.agentId, job.taskType, job.execution, now);
    }

    const draw = draws[step]!;
    const candidates: PolicyCandidate[] = world.agents
      .filter((a) => a.joinsAt <= step && (books.inFlight.get(a.agentId) ?? 0) < a.maxConcurrent)
      .map((a) => {
        const inFlight = books.inFlight.get(a.agentId) ?? 0;
        return {
          agentId: a.agentId,
          successRate: books.overallRate(a.agentId),
          load: inFlight / a.maxConcurrent,
          maxConcurrent: a.maxConcurrent,
          inFlight,
        };
      });
    if (candidates.length === 0) {
      result.unassignable += 1;
      continue;
    }
    const skillOf = (agentId: string): number => skillAt(world, agentsById.get(agentId)!, draw.type, step);
    const oracleSkill = Math.max(...candidates.map((c) => skillOf(c.agentId)));
    const ctx: PolicyContext = {
      taskType: draw.type,
      candidates,
      profiles: books.profiles,
      now,
      random: policyRandom,
    };

    let agentId: string;
    let propensity = 1;
    let ranking: { agentId: string; expertiseScore: number }[] = [];
    if (chooser === 'oracle') {
      agentId = candidates.reduce((best, c) =>
        skillOf(c.agentId) > skillOf(best.agentId) ? c : best,
      ).agentId;
    } else {
      const decision = chooser.choose(ctx);
      if (!decision) {
        result.unassignable += 1;
        continue;
      }
      agentId = decision.agentId;
      // Read only when logging: the policy computes it on first read.
      if (options.log) propensity = decision.propensity;
      ranking = decision.ranking;
      if (decision.explored) result.explored += 1;
    }

    const agent: SimAgentSpec = agentsById.get(agentId)!;
    const skill = skillOf(agentId);
    const success = draw.coin < skill;
    const costCents = agent.costCents[draw.type]! * draw.costNoise;
    result.tasks += 1;
    result.expected += skill;
    result.oracle += oracleSkill;
    if (step >= lastQuarterFrom) {
      result.lastQuarterExpected += skill;
      result.lastQuarterOracle += oracleSkill;
    }
    result.realisedReward += rewardOf({ success });
    result.spendCents += costCents;
    for (const shift of world.shifts) {
      if (step >= shift.step && shift.types.includes(draw.type)) {
        const series = afterShift.get(draw.type) ?? [];
        series.push({ chosen: skill, oracle: oracleSkill });
        afterShift.set(draw.type, series);
      }
    }

    if (options.log && chooser !== 'oracle') {
      const truthOf = (pi: ReadonlyMap<string, number>): number =>
        candidates.reduce((sum, c) => sum + (pi.get(c.agentId) ?? 0) * skillOf(c.agentId), 0);
      const targetProbabilities = options.log.targets.map((target) => actionProbabilities(target, ctx));
      const predicted = new Map(ranking.map((s) => [s.agentId, s.expertiseScore]));
      logs.push({
        step,
        taskType: draw.type,
        candidates: candidates.map((c) => ({
          agentId: c.agentId,
          predictedReward: predicted.get(c.agentId) ?? 0,
        })),
        chosen: agentId,
        propensity,
        reward: rewardOf({ success }),
        cost: costCents,
        targetTruth: targetProbabilities.map(truthOf),
        targetProbabilities,
      });
    }

    const execution: ExecutionData = {
      executionId: `task-${step}`,
      success,
      durationMs: Math.max(1, draw.duration) * STEP_MS,
      finishedAt: new Date(now.getTime() + draw.duration * STEP_MS),
      costCents,
    };
    if (draw.duration === 0) {
      books.apply(agentId, draw.type, execution, now);
    } else {
      books.inFlight.set(agentId, (books.inFlight.get(agentId) ?? 0) + 1);
      pending.push({ finishStep: step + draw.duration, agentId, taskType: draw.type, execution });
    }
  }

  if (world.shifts.length > 0) {
    result.recovery = Math.max(...[...afterShift.values()].map(recoveryOf));
  }
  if (options.log) result.logs = logs;
  return result;
}

/**
 * Tasks (of the changed type, after the change) until the next RECOVERY_WINDOW of them reach RECOVERY_LEVEL of
 * the oracle; Infinity when that never happens.
 */
export function recoveryOf(series: readonly { chosen: number; oracle: number }[]): number {
  for (let k = 0; k + RECOVERY_WINDOW <= series.length; k += 1) {
    let chosen = 0;
    let oracle = 0;
    for (let j = k; j < k + RECOVERY_WINDOW; j += 1) {
      chosen += series[j]!.chosen;
      oracle += series[j]!.oracle;
    }
    if (chosen >= RECOVERY_LEVEL * oracle) return k;
  }
  return Infinity;
}
