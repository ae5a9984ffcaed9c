/**
 * The demo's simulated world (pure): agents with hidden, partly drifting skills per task type, a task stream
 * over 30 simulated days, and what random assignment and a perfect oracle would achieve on the same tasks.
 */
import { MS_PER_DAY } from '../domain/index.js';
import { createRandom } from '../simulator/prng.js';

export interface SimAgent {
  agentId: string;
  role: string;
  maxConcurrent: number;
  /** Hidden success probability per task type at simulated progress t in [0, 1]. */
  skill: Record<string, (t: number) => number>;
}

const flat = (p: number) => () => p;
const ramp = (from: number, to: number) => (t: number) => from + (to - from) * t;

export const SIM_TASK_TYPES = [
  'coding',
  'review',
  'testing',
  'debugging',
  'documentation',
  'security',
] as const;

/** Titles the task-type extractor recognises, so the demo exercises inference too. */
export const TITLES: Record<(typeof SIM_TASK_TYPES)[number], string[]> = {
  coding: ['Implement the export endpoint', 'Add pagination to search', 'Build the invoice PDF feature'],
  review: [
    'Review PR for the billing module',
    'Code review: retry policy',
    'Review the pull request for auth',
  ],
  testing: [
    'Write unit tests for the parser',
    'Add e2e tests for checkout',
    'Increase coverage of the scheduler',
  ],
  debugging: [
    'Fix crash when cart is empty',
    'Investigate flaky login error',
    'Fix regression in date parsing',
  ],
  documentation: ['Document the REST API', 'Update the README quick start', 'Write a tutorial for agents'],
  security: ['Patch the XSS vulnerability', 'Threat model for the upload service', 'Rotate leaked secrets'],
};

export const SIM_AGENTS: SimAgent[] = [
  {
    agentId: 'ada',
    role: 'developer',
    maxConcurrent: 4,
    skill: {
      coding: flat(0.92),
      review: flat(0.55),
      testing: flat(0.6),
      debugging: flat(0.8),
      documentation: flat(0.4),
      security: flat(0.35),
    },
  },
  {
    agentId: 'linus',
    role: 'developer',
    maxConcurrent: 4,
    skill: {
      coding: flat(0.7),
      review: flat(0.93),
      testing: flat(0.5),
      debugging: flat(0.7),
      documentation: flat(0.3),
      security: flat(0.6),
    },
  },
  {
    agentId: 'grace',
    role: 'developer',
    maxConcurrent: 4,
    // Learns testing over the month: the recency-weighted rate and the learning curve show it.
    skill: {
      coding: flat(0.6),
      review: flat(0.5),
      testing: ramp(0.3, 0.95),
      debugging: flat(0.55),
      documentation: flat(0.5),
      security: flat(0.4),
    },
  },
  {
    agentId: 'margaret',
    role: 'developer',
    maxConcurrent: 4,
    skill: {
      coding: flat(0.55),
      review: flat(0.6),
      testing: flat(0.65),
      debugging: flat(0.9),
      documentation: flat(0.45),
      security: flat(0.5),
    },
  },
  {
    agentId: 'mary',
    role: 'developer',
    maxConcurrent: 4,
    skill: {
      coding: flat(0.4),
      review: flat(0.65),
      testing: flat(0.45),
      debugging: flat(0.35),
      documentation: flat(0.93),
      security: flat(0.3),
    },
  },
  {
    agentId: 'bruce',
    role: 'developer',
    maxConcurrent: 4,
    skill: {
      coding: flat(0.5),
      review: flat(0.7),
      testing: flat(0.5),
      debugging: flat(0.6),
      documentation: flat(0.35),
      security: flat(0.92),
    },
  },
];

/** Deterministic PRNG (mulberry32, the simulator's) so a demo run is reproducible. */
export const prng = createRandom;

export interface SimTask {
  taskId: string;
  title: string;
  /** The type the title was written for (the worker infers it from the title). */
  intendedType: (typeof SIM_TASK_TYPES)[number];
  /** Simulated progress in [0, 1] and the matching simulated finish time. */
  progress: number;
  simulatedAt: string;
}

export const SIM_DAYS = 30;

export function generateTasks(count: number, runId: string, now: Date, seed = 42): SimTask[] {
  const random = prng(seed);
  const start = now.getTime() - SIM_DAYS * MS_PER_DAY;
  return Array.from({ length: count }, (_, i) => {
    const intendedType = SIM_TASK_TYPES[Math.floor(random() * SIM_TASK_TYPES.length)]!;
    const titles = TITLES[intendedType];
    const progress = count > 1 ? i / (count - 1) : 1;
    return {
      taskId: `${runId}-${String(i).padStart(5, '0')}`,
      title: titles[Math.floor(random() * titles.length)]!,
      intendedType,
      progress,
      simulatedAt: new Date(start + progress * SIM_DAYS * MS_PER_DAY - MS_PER_DAY / 48).toISOString(),
    };
  });
}

export function skillOf(
  agents: readonly SimAgent[],
  agentId: string,
  taskType: string,
  progress: number,
): number {
  return agents.find((a) => a.agentId === agentId)?.skill[taskType]?.(progress) ?? 0;
}

/** Expected success of random and oracle assignment over the same tasks. */
export function baselines(
  agents: readonly SimAgent[],
  tasks: readonly { taskType: string; progress: number }[],
): { random: number; oracle: number } {
  let random = 0;
  let oracle = 0;
  for (const task of tasks) {
    const skills = agents.map((a) => a.skill[task.taskType]?.(task.progress) ?? 0);
    random += skills.reduce((sum, p) => sum + p, 0) / skills.length;
    oracle += Math.max(...skills);
  }
  return { random: random / tasks.length, oracle: oracle / tasks.length };
}
