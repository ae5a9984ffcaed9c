/**
 * The budget frontier of a world: the best expected success any allocation can reach with a mean spend per task
 * of at most `budgetCentsPerTask`, knowing every skill and price, every agent always free (a linear programme:
 * task types arrive uniformly; for a price λ each type takes argmax skill − λ·cost, and the budget is met exactly
 * by mixing the two allocations on either side of the critical λ). Returned as a share of the unconstrained
 * oracle's success. Skills are taken at step 0 (the cost scenario has no skill changes).
 */
import type { World } from './scenarios.js';
import { skillAt } from './scenarios.js';

export interface BudgetFrontier {
  /** Best expected success per task within the budget ÷ the unconstrained oracle's. */
  share: number;
  /** The unconstrained oracle's spend per task (mean price of the best agent per type). */
  oracleSpendCents: number;
}

export function budgetFrontier(world: World, budgetCentsPerTask: number): BudgetFrontier {
  const agents = world.agents.filter((a) => a.joinsAt === 0);
  const allocate = (lambda: number): { success: number; spend: number } => {
    let success = 0;
    let spend = 0;
    for (const type of world.types) {
      let best = agents[0]!;
      let bestValue = -Infinity;
      for (const agent of agents) {
        const value = skillAt(world, agent, type, 0) - lambda * agent.costCents[type]!;
        if (value > bestValue) [best, bestValue] = [agent, value];
      }
      success += skillAt(world, best, type, 0) / world.types.length;
      spend += best.costCents[type]! / world.types.length;
    }
    return { success, spend };
  };
  const unconstrained = allocate(0);
  if (unconstrained.spend <= budgetCentsPerTask) return { share: 1, oracleSpendCents: unconstrained.spend };
  let low = 0;
  let high = 1;
  while (allocate(high).spend > budgetCentsPerTask && high < 1e6) high *= 2;
  for (let i = 0; i < 60; i += 1) {
    const mid = (low + high) / 2;
    if (allocate(mid).spend > budgetCentsPerTask) low = mid;
    else high = mid;
  }
  const over = allocate(low);
  const under = allocate(high);
  const mix =
    over.spend === under.spend ? 0 : (budgetCentsPerTask - under.spend) / (over.spend - under.spend);
  const success = under.success + Math.min(1, Math.max(0, mix)) * (over.success - under.success);
  return { share: success / unconstrained.success, oracleSpendCents: unconstrained.spend };
}
