/**
 * The policy that decides a task: one per replica for each arm of the plan (cost-aware keeps its pacing state in the
 * instance). Under a split, a task's arm comes from a hash of its taskId, so every replica and every attempt of a
 * task asks the same policy, without any shared state.
 */
import type { PolicyPlan } from '../config/policy-plan.js';
import type { Policy } from '../domain/index.js';
import { createPolicy } from '../domain/index.js';

export class PolicyRouter {
  readonly #arms: { policy: Policy; upTo: number }[] = [];
  readonly #total: number;

  constructor(plan: PolicyPlan) {
    let upTo = 0;
    for (const arm of plan.arms) {
      upTo += arm.weight;
      this.#arms.push({ policy: createPolicy(arm.policy, plan.options[arm.policy] ?? {}), upTo });
    }
    if (this.#arms.length === 0) throw new RangeError('a policy plan needs at least one arm');
    this.#total = upTo;
  }

  get names(): string[] {
    return this.#arms.map((arm) => arm.policy.name);
  }

  policyFor(taskId: string): Policy {
    if (this.#arms.length === 1) return this.#arms[0]!.policy;
    const slot = splitHash(taskId) % this.#total;
    return this.#arms.find((arm) => slot < arm.upTo)!.policy;
  }
}

/** FNV-1a (32 bit) of the taskId's UTF-16 code units: stable across processes, versions and platforms. */
export function splitHash(taskId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < taskId.length; i += 1) {
    hash ^= taskId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}
