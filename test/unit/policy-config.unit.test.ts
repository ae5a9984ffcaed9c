/** POLICY, POLICY_SPLIT and POLICY_BUDGET_CENTS_PER_TASK: checked at start, and the split sticky by taskId. */
import { describe, expect, it } from '@jest/globals';
import { loadWorkerConfig } from '../../src/config/config.js';
import { parsePolicySplit } from '../../src/config/policy-plan.js';
import { isConfigError } from '../../src/errors.js';
import { PolicyRouter, splitHash } from '../../src/worker/policy-router.js';

function problemOf(env: Record<string, string>): string {
  try {
    loadWorkerConfig(env);
  } catch (err) {
    expect(isConfigError(err)).toBe(true);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

describe('policy configuration', () => {
  it('takes POLICY, and POLICY wins over the deprecated USE_RECENCY', () => {
    expect(loadWorkerConfig({ POLICY: 'Seed' }).policy.arms).toEqual([{ policy: 'seed', weight: 1 }]);
    expect(loadWorkerConfig({ POLICY: 'thompson', USE_RECENCY: 'true' }).policy.arms).toEqual([
      { policy: 'thompson', weight: 1 },
    ]);
  });

  it('rejects an unknown POLICY naming the variable and the known policies', () => {
    const message = problemOf({ POLICY: 'greedy' });
    expect(message).toContain('POLICY="greedy"');
    expect(message).toContain('thompson');
  });

  it('parses POLICY_SPLIT and rejects unknown names, bad weights and repeats', () => {
    expect(loadWorkerConfig({ POLICY_SPLIT: 'thompson:90, seed:10' }).policy.arms).toEqual([
      { policy: 'thompson', weight: 90 },
      { policy: 'seed', weight: 10 },
    ]);
    expect(problemOf({ POLICY_SPLIT: 'thompson:90,greedy:10' })).toMatch(
      /POLICY_SPLIT: unknown policy 'greedy'/,
    );
    expect(problemOf({ POLICY_SPLIT: 'thompson:0' })).toContain('POLICY_SPLIT');
    expect(problemOf({ POLICY_SPLIT: 'thompson:x' })).toContain('POLICY_SPLIT');
    expect(parsePolicySplit('seed:1,seed:2')).toEqual({ ok: false, message: "policy 'seed' is named twice" });
    expect(parsePolicySplit(' , ').ok).toBe(false);
  });

  it('needs POLICY_BUDGET_CENTS_PER_TASK for cost-aware, as a number > 0', () => {
    expect(problemOf({ POLICY: 'cost-aware' })).toContain('POLICY_BUDGET_CENTS_PER_TASK must be set');
    expect(problemOf({ POLICY_SPLIT: 'cost-aware:1,seed:1' })).toContain('POLICY_BUDGET_CENTS_PER_TASK');
    expect(problemOf({ POLICY: 'cost-aware', POLICY_BUDGET_CENTS_PER_TASK: '-2' })).toContain(
      'POLICY_BUDGET_CENTS_PER_TASK="-2" must be a number greater than 0',
    );
    const plan = loadWorkerConfig({ POLICY: 'cost-aware', POLICY_BUDGET_CENTS_PER_TASK: '2.5' }).policy;
    expect(plan.options['cost-aware']).toEqual({ budgetCentsPerTask: 2.5 });
  });

  it('gives POLICY_EPSILON to the policies that explore uniformly, as a number in [0, 1)', () => {
    const plan = loadWorkerConfig({
      POLICY_SPLIT: 'thompson:50,cost-aware:25,seed:25',
      POLICY_BUDGET_CENTS_PER_TASK: '3',
      POLICY_EPSILON: '0.05',
    }).policy;
    expect(plan.options['thompson']).toEqual({ epsilon: 0.05 });
    expect(plan.options['cost-aware']).toEqual({ budgetCentsPerTask: 3, epsilon: 0.05 });
    expect(plan.options['seed']).toBeUndefined();
    const router = new PolicyRouter(plan);
    const thompson = router.policyFor(
      Array.from({ length: 100 }, (_, i) => `t-${i}`).find((id) => router.policyFor(id).name === 'thompson')!,
    );
    expect(thompson.name).toBe('thompson');
    for (const bad of ['1', '0.9995', '-0.1', 'often'])
      expect(problemOf({ POLICY_EPSILON: bad })).toContain('POLICY_EPSILON');
    expect(problemOf({ POLICY_EPSILON: '0.9995' })).toContain('must be a number from 0 to 0.999');
    expect(loadWorkerConfig({ POLICY_EPSILON: '0.999' }).policy.options['thompson']).toEqual({
      epsilon: 0.999,
    });
    // Set where nothing would use it: said at start, not silently ignored.
    expect(problemOf({ POLICY: 'seed', POLICY_EPSILON: '0.05' })).toContain('no policy in POLICY uses it');
  });
});

describe('PolicyRouter', () => {
  const ids = Array.from({ length: 4000 }, (_, i) => `task-${i}`);

  it('sends each task to the same arm every time, in any router instance', () => {
    const plan = loadWorkerConfig({ POLICY_SPLIT: 'thompson:90,seed:10' }).policy;
    const a = new PolicyRouter(plan);
    const b = new PolicyRouter(plan);
    for (const id of ids.slice(0, 500)) expect(a.policyFor(id).name).toBe(b.policyFor(id).name);
    expect(a.names).toEqual(['thompson', 'seed']);
  });

  it('splits roughly by weight', () => {
    const router = new PolicyRouter(loadWorkerConfig({ POLICY_SPLIT: 'thompson:90,seed:10' }).policy);
    const seed = ids.filter((id) => router.policyFor(id).name === 'seed').length / ids.length;
    // 4000 draws of p = 0.1: sd ≈ 0.005; 0.07..0.13 is six sd wide on each side.
    expect(seed).toBeGreaterThan(0.07);
    expect(seed).toBeLessThan(0.13);
  });

  it('hashes with a fixed function (FNV-1a), so replicas of different versions agree', () => {
    expect(splitHash('')).toBe(0x811c9dc5);
    expect(splitHash('a')).toBe(0xe40c292c);
  });
});
