/**
 * The seed formula as a policy: `chooseAgent` unchanged, over the candidates with a free slot. Deterministic, so
 * every decision has propensity 1 and nothing is ever explored.
 */
import { chooseAgent } from '../choose-agent.js';
import type { PolicyContext, PolicyDecision, ProbabilisticPolicy } from './types.js';
import { withCapacity } from './types.js';

export class SeedPolicy implements ProbabilisticPolicy {
  readonly name: string;
  private readonly useRecency: boolean;

  constructor(useRecency: boolean) {
    this.useRecency = useRecency;
    this.name = useRecency ? 'seed-recency' : 'seed';
  }

  choose(ctx: PolicyContext): PolicyDecision | null {
    const decision = chooseAgent(ctx.taskType, withCapacity(ctx.candidates), ctx.profiles, {
      useRecency: this.useRecency,
      now: ctx.now,
    });
    return decision && { ...decision, policy: this.name, propensity: 1, explored: false };
  }

  probabilities(ctx: PolicyContext): ReadonlyMap<string, number> {
    const decision = this.choose(ctx);
    return new Map(decision ? [[decision.agentId, 1]] : []);
  }
}
