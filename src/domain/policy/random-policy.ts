/**
 * Uniform choice among the candidates with a free slot: the baseline every learning policy must beat, and the
 * logging policy with the widest support for off-policy evaluation. The ranking carries the seed scores, for the
 * record; the choice ignores them.
 */
import { rankAgents } from '../scoring.js';
import type { PolicyContext, PolicyDecision, ProbabilisticPolicy } from './types.js';
import { withCapacity } from './types.js';

export class RandomPolicy implements ProbabilisticPolicy {
  readonly name = 'random';

  choose(ctx: PolicyContext): PolicyDecision | null {
    const open = withCapacity(ctx.candidates);
    if (open.length === 0) return null;
    const random = ctx.random ?? Math.random;
    const picked = open[Math.min(open.length - 1, Math.floor(random() * open.length))]!;
    const ranking = rankAgents(open, ctx.taskType, ctx.profiles);
    const chosen = ranking.find((s) => s.agentId === picked.agentId)!;
    return {
      agentId: chosen.agentId,
      mode: 'learned',
      ranking,
      chosen,
      reasoning: `uniform random choice of ${chosen.agentId} among ${open.length} candidate(s) with a free slot`,
      policy: this.name,
      propensity: 1 / open.length,
      explored: chosen !== ranking[0],
    };
  }

  probabilities(ctx: PolicyContext): ReadonlyMap<string, number> {
    const open = withCapacity(ctx.candidates);
    return new Map(open.map((c) => [c.agentId, 1 / open.length]));
  }
}
