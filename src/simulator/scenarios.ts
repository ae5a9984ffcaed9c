/**
 * The simulated worlds: agents with hidden skills per task type (the probability that an execution succeeds),
 * prices, capacity, and the events each scenario is about. Skills share an agent-wide component (a strong agent
 * tends to be strong at every type, as in practice) plus a per-type part. Every agent starts with two executions
 * per task type of history, as a running system has; a late joiner has none.
 */
import { createRandom, deriveSeed } from './prng.js';

export const SCENARIOS = ['stationary', 'drift', 'late-joiner', 'unlucky-start', 'cost', 'delayed'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export const SIM_TYPES = ['coding', 'review', 'testing'] as const;
const AGENTS = 6;
const WARMUP_PER_TYPE = 2;

export interface SimAgentSpec {
  agentId: string;
  maxConcurrent: number;
  /** First step at which the agent is registered. */
  joinsAt: number;
  /** Skill per task type before `skillChange`. */
  skill: Record<string, number>;
  /** Mean price per task in cents, per task type. */
  costCents: Record<string, number>;
}

export interface SkillChange {
  step: number;
  agentId: string;
  taskType: string;
  skill: number;
}

export interface WarmupExecution {
  agentId: string;
  taskType: string;
  success: boolean;
}

export interface World {
  scenario: ScenarioName;
  steps: number;
  types: readonly string[];
  agents: SimAgentSpec[];
  changes: SkillChange[];
  /** Steps at which the best agent of some task types changes abruptly, with those types (for recovery). */
  shifts: { step: number; types: string[] }[];
  warmup: WarmupExecution[];
  /** Mean task duration in steps (one task arrives per step); 0 = the result arrives before the next task. */
  meanDurationSteps: number;
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

/** The hidden skill of `agent` for `taskType` at `step`. */
export function skillAt(world: World, agent: SimAgentSpec, taskType: string, step: number): number {
  let skill = agent.skill[taskType] ?? 0;
  for (const change of world.changes)
    if (change.agentId === agent.agentId && change.taskType === taskType && step >= change.step)
      skill = change.skill;
  return skill;
}

function bestAgent(agents: readonly SimAgentSpec[], taskType: string): SimAgentSpec {
  return agents.reduce((best, a) => ((a.skill[taskType] ?? 0) > (best.skill[taskType] ?? 0) ? a : best));
}

export function buildWorld(scenario: ScenarioName, seed: number, steps: number): World {
  const random = createRandom(deriveSeed(SCENARIOS.indexOf(scenario), seed, 1));
  const types = [...SIM_TYPES];
  const agents: SimAgentSpec[] = Array.from({ length: AGENTS }, (_, i) => {
    const general = random();
    const price = 5 + 10 * random();
    const skill: Record<string, number> = {};
    const costCents: Record<string, number> = {};
    for (const type of types) {
      skill[type] = round3(Math.min(0.9, Math.max(0.1, 0.25 + 0.4 * general + 0.3 * random())));
      // In the cost scenario the price follows skill steeply (the best model costs disproportionately more).
      costCents[type] = round3(scenario === 'cost' ? 1 + 40 * skill[type] ** 4 : price);
    }
    return {
      agentId: `agent-${i + 1}`,
      maxConcurrent: scenario === 'delayed' ? 2 : 4,
      joinsAt: 0,
      skill,
      costCents,
    };
  });

  const changes: SkillChange[] = [];
  const shifts: World['shifts'] = [];
  if (scenario === 'drift') {
    // The best agent of two of the three types collapses half-way.
    const step = Math.floor(steps / 2);
    const changed = types.slice(0, 2);
    for (const type of changed)
      changes.push({ step, agentId: bestAgent(agents, type).agentId, taskType: type, skill: 0.2 });
    shifts.push({ step, types: changed });
  }
  if (scenario === 'late-joiner') {
    // A newcomer, better than anyone at two types, registers a third of the way in.
    const step = Math.floor(steps / 3);
    const changed = types.slice(1);
    const skill: Record<string, number> = {};
    const costCents: Record<string, number> = {};
    for (const type of types) {
      skill[type] = changed.includes(type) ? 0.95 : 0.5;
      costCents[type] = 10;
    }
    agents.push({ agentId: `agent-${AGENTS + 1}`, maxConcurrent: 4, joinsAt: step, skill, costCents });
    shifts.push({ step, types: changed });
  }

  const warmup: WarmupExecution[] = [];
  for (const agent of agents) {
    if (agent.joinsAt > 0) continue;
    for (const type of types) {
      const unlucky = scenario === 'unlucky-start' && bestAgent(agents, type) === agent;
      for (let k = 0; k < WARMUP_PER_TYPE; k += 1)
        warmup.push({
          agentId: agent.agentId,
          taskType: type,
          success: !unlucky && random() < (agent.skill[type] ?? 0),
        });
    }
  }
  return {
    scenario,
    steps,
    types,
    agents,
    changes,
    shifts,
    warmup,
    meanDurationSteps: scenario === 'delayed' ? 5 : 0,
  };
}
