/** Given-helpers for policy tests: profiles with incremental states built from readable outcome strings. */
import type {
  ExecutionData,
  LearningProfile,
  Policy,
  PolicyCandidate,
  PolicyContext,
} from '../../src/domain/index.js';
import {
  applyExecution,
  createExpertiseState,
  expertiseFromState,
  MS_PER_DAY,
} from '../../src/domain/index.js';
import { createRandom } from '../../src/simulator/index.js';

export const NOW = new Date('2026-06-15T12:00:00.000Z');

let counter = 0;

/**
 * A profile from outcome strings per task type, oldest first: '1' success, '0' failure, e.g. { coding: '1101' }.
 * `costCents` is attached to every execution when given.
 */
export function profile(
  agentId: string,
  outcomes: Record<string, string>,
  costCents?: number,
): LearningProfile {
  const states: NonNullable<LearningProfile['states']> = {};
  const expertise: LearningProfile['expertise'] = {};
  for (const [taskType, text] of Object.entries(outcomes)) {
    let state = createExpertiseState(taskType);
    [...text].forEach((c, i) => {
      const execution: ExecutionData = {
        executionId: `${agentId}-${taskType}-${String(++counter).padStart(6, '0')}`,
        success: c === '1',
        durationMs: 1000,
        finishedAt: new Date(NOW.getTime() - (text.length - i) * MS_PER_DAY * 0.01),
        ...(costCents === undefined ? {} : { costCents }),
      };
      state = applyExecution(state, execution);
    });
    states[taskType] = state;
    expertise[taskType] = expertiseFromState(state, NOW);
  }
  return { agentId, expertise, states };
}

/** `n` outcomes with `successes` successes spread evenly. */
export function outcomes(n: number, successes: number): string {
  let text = '';
  for (let i = 0; i < n; i += 1)
    text += Math.floor(((i + 1) * successes) / n) > Math.floor((i * successes) / n) ? '1' : '0';
  return text;
}

export function candidate(agentId: string, inFlight = 0, maxConcurrent = 4): PolicyCandidate {
  return { agentId, successRate: 0.7, load: inFlight / maxConcurrent, inFlight, maxConcurrent };
}

export function context(
  candidates: PolicyCandidate[],
  profiles: LearningProfile[],
  taskType = 'coding',
): PolicyContext {
  return { taskType, candidates, profiles: new Map(profiles.map((p) => [p.agentId, p])), now: NOW };
}

/** How often each agent is chosen over `n` decisions, with one seeded random stream. */
export function choiceShares(policy: Policy, ctx: PolicyContext, n: number, seed = 1): Map<string, number> {
  const random = createRandom(seed);
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i += 1) {
    const agentId = policy.choose({ ...ctx, random })?.agentId;
    if (agentId !== undefined) counts.set(agentId, (counts.get(agentId) ?? 0) + 1);
  }
  return new Map([...counts].map(([id, count]) => [id, count / n]));
}
