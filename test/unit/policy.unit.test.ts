import fc from 'fast-check';
import type { PolicyContext } from '../../src/domain/index.js';
import {
  argmaxProbabilities,
  chooseAgent,
  createPolicy,
  DEFAULT_POLICY,
  isPolicyError,
  POLICIES,
  PolicyErrorCodes,
  rewardOf,
  sampleBeta,
} from '../../src/domain/index.js';
import { createRandom } from '../../src/simulator/index.js';
import { candidate, choiceShares, context, NOW, outcomes, profile } from './policy-given.js';

function errorCode(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isPolicyError(err) ? err.code : `not a PolicyError: ${String(err)}`;
  }
  return undefined;
}

describe('the policy registry', () => {
  it('creates every listed policy, the default among them', () => {
    expect(POLICIES).toContain(DEFAULT_POLICY);
    for (const name of POLICIES) {
      const options = name === 'cost-aware' ? { budgetCentsPerTask: 10 } : {};
      expect(createPolicy(name, options).name).toBe(name);
    }
  });

  it('rejects an unknown policy, an unknown option, a bad value and a missing budget with codes', () => {
    expect(errorCode(() => createPolicy('greedy'))).toBe(PolicyErrorCodes.UnknownPolicy);
    expect(errorCode(() => createPolicy('thompson', { temperature: 1 }))).toBe(
      PolicyErrorCodes.UnknownOption,
    );
    expect(errorCode(() => createPolicy('seed', { discount: 0.9 }))).toBe(PolicyErrorCodes.UnknownOption);
    expect(errorCode(() => createPolicy('thompson', { discount: 1.5 }))).toBe(PolicyErrorCodes.InvalidOption);
    expect(errorCode(() => createPolicy('thompson', { discount: 'soon' }))).toBe(
      PolicyErrorCodes.InvalidOption,
    );
    expect(errorCode(() => createPolicy('cost-aware'))).toBe(PolicyErrorCodes.MissingOption);
    expect(() => createPolicy('greedy')).toThrow(/known policies: seed, seed-recency, thompson/);
  });

  it('accepts numeric strings (options from the environment)', () => {
    expect(errorCode(() => createPolicy('cost-aware', { budgetCentsPerTask: '12.5', discount: '0.9' }))).toBe(
      undefined,
    );
  });
});

describe('the reward', () => {
  it('is 0 on failure, the quality on success when reported, else 1', () => {
    expect(rewardOf({ success: false, qualityScore: 0.9 })).toBe(0);
    expect(rewardOf({ success: true, qualityScore: 0.6 })).toBe(0.6);
    expect(rewardOf({ success: true })).toBe(1);
    expect(rewardOf({ success: true, qualityScore: 7 })).toBe(1);
  });
});

describe('seed and seed-recency', () => {
  const profiles = [profile('a', { coding: outcomes(20, 12) }), profile('b', { coding: outcomes(20, 18) })];

  it('decide exactly as chooseAgent, with propensity 1 and no exploration', () => {
    const ctx = context([candidate('a'), candidate('b')], profiles);
    for (const [name, useRecency] of [
      ['seed', false],
      ['seed-recency', true],
    ] as const) {
      const decision = createPolicy(name).choose(ctx)!;
      const plain = chooseAgent('coding', ctx.candidates, ctx.profiles, { useRecency, now: NOW })!;
      expect(decision).toMatchObject({ ...plain, policy: name, propensity: 1, explored: false });
    }
  });

  it('never choose an agent at capacity', () => {
    const decision = createPolicy('seed').choose(context([candidate('a'), candidate('b', 4, 4)], profiles))!;
    expect(decision.agentId).toBe('a');
    expect(createPolicy('seed').choose(context([candidate('b', 4, 4)], profiles))).toBeNull();
  });
});

describe('thompson', () => {
  const thompson = createPolicy('thompson');

  it('mostly picks the agent that is clearly better, and says when it explores', () => {
    const ctx = context(
      [candidate('weak'), candidate('strong')],
      [profile('weak', { coding: outcomes(40, 16) }), profile('strong', { coding: outcomes(40, 36) })],
    );
    expect(choiceShares(thompson, ctx, 400).get('strong')).toBeGreaterThan(0.97);
    const decision = thompson.choose({ ...ctx, random: createRandom(3) })!;
    expect(decision.policy).toBe('thompson');
    expect(decision.explored).toBe(decision.agentId !== 'strong');
  });

  it('tries a newcomer soon without trusting it over a proven agent', () => {
    const ctx = context(
      [candidate('proven'), candidate('average'), candidate('poor'), candidate('newcomer')],
      [
        profile('proven', { coding: outcomes(40, 36) }),
        profile('average', { coding: outcomes(40, 24) }),
        profile('poor', { coding: outcomes(40, 18) }),
        profile('newcomer', {}),
      ],
    );
    const shares = choiceShares(thompson, ctx, 1000);
    const newcomer = shares.get('newcomer') ?? 0;
    // Its prior is the population's (below the proven agent's record) and wide: tried within a few dozen tasks,
    // but the proven agent still gets most of them.
    expect(newcomer).toBeGreaterThan(0.03);
    expect(newcomer).toBeLessThan(0.4);
    expect(shares.get('proven')!).toBeGreaterThan(0.5);
  });

  it('gives an agent that failed its first two tries another chance', () => {
    const ctx = context(
      [candidate('steady'), candidate('unlucky')],
      [profile('steady', { coding: outcomes(40, 28) }), profile('unlucky', { coding: '00' })],
    );
    expect(choiceShares(thompson, ctx, 1000).get('unlucky') ?? 0).toBeGreaterThan(0.01);
  });

  it('drops an agent whose recent results collapsed, though its history is long and good', () => {
    const collapsed = outcomes(80, 76) + '0000000000' + '0001000000';
    const ctx = context(
      [candidate('fallen'), candidate('solid')],
      [profile('fallen', { coding: collapsed }), profile('solid', { coding: outcomes(60, 45) })],
    );
    expect(choiceShares(thompson, ctx, 400).get('solid')).toBeGreaterThan(0.9);
  });

  it('borrows from the agent’s other task types for a type it has never done', () => {
    const ctx = context(
      [candidate('generalist'), candidate('weakling')],
      [
        profile('generalist', { review: outcomes(40, 38), testing: outcomes(40, 37) }),
        profile('weakling', { review: outcomes(40, 12), testing: outcomes(40, 10) }),
      ],
    );
    expect(choiceShares(thompson, ctx, 400).get('generalist')).toBeGreaterThan(0.6);
  });

  it('lets load lower preference between equals and never picks an agent at capacity', () => {
    const same = outcomes(40, 30);
    const profiles = [profile('idle', { coding: same }), profile('busy', { coding: same })];
    const shares = choiceShares(
      thompson,
      context([candidate('idle', 0), candidate('busy', 3)], profiles),
      1000,
    );
    expect(shares.get('idle')!).toBeGreaterThan(shares.get('busy')!);
    expect(
      choiceShares(thompson, context([candidate('idle'), candidate('busy', 4)], profiles), 200).get('busy'),
    ).toBe(undefined);
    expect(thompson.choose(context([candidate('busy', 4)], profiles))).toBeNull();
  });

  it('falls back to the least loaded when nobody knows anything', () => {
    const decision = thompson.choose({
      ...context([candidate('x', 2), candidate('y', 1), candidate('z', 3)], []),
      random: createRandom(1),
    })!;
    expect(decision).toMatchObject({ agentId: 'y', mode: 'load-fallback', propensity: 1 });
  });

  it('reports a propensity that matches how often the choice is made', () => {
    const ctx = context(
      [candidate('a'), candidate('b'), candidate('c')],
      [
        profile('a', { coding: outcomes(10, 7) }),
        profile('b', { coding: outcomes(6, 4) }),
        profile('c', { coding: '10' }),
      ],
    );
    const probabilities = createPolicy('thompson').probabilities(ctx);
    const shares = choiceShares(thompson, ctx, 4000);
    for (const id of ['a', 'b', 'c'])
      expect(Math.abs((shares.get(id) ?? 0) - probabilities.get(id)!)).toBeLessThan(0.025);
    const decision = thompson.choose({ ...ctx, random: createRandom(9) })!;
    expect(decision.propensity).toBeCloseTo(probabilities.get(decision.agentId)!, 3);
  });
});

describe('cost-aware', () => {
  it('shifts toward the cheaper agent as it paces to a budget below the expensive one', () => {
    const profiles = [
      profile('premium', { coding: outcomes(40, 36) }, 20),
      profile('budget', { coding: outcomes(40, 32) }, 5),
    ];
    const ctx = context([candidate('premium'), candidate('budget')], profiles);
    const costAware = createPolicy('cost-aware', { budgetCentsPerTask: 8 });
    const random = createRandom(4);
    const picks = Array.from({ length: 2000 }, () => costAware.choose({ ...ctx, random })!.agentId);
    const late = picks.slice(1000);
    const spend = late.reduce((sum, id) => sum + (id === 'premium' ? 20 : 5), 0) / late.length;
    expect(Math.abs(spend - 8)).toBeLessThan(0.8);
    // Unconstrained, Thompson sampling would pick the premium agent almost always.
    expect(choiceShares(createPolicy('thompson'), ctx, 400).get('premium')).toBeGreaterThan(0.9);
  });
});

describe('propensities (properties)', () => {
  const outcomeArb = fc
    .array(fc.boolean(), { maxLength: 60 })
    .map((bits) => bits.map((b) => (b ? '1' : '0')).join(''));
  const agentArb = fc.record({
    coding: outcomeArb,
    review: outcomeArb,
    inFlight: fc.integer({ min: 0, max: 4 }),
    cost: fc.option(fc.integer({ min: 1, max: 30 }), { nil: undefined }),
  });
  const scenarioArb = fc.record({
    agents: fc.array(agentArb, { minLength: 1, maxLength: 7 }),
    policy: fc.constantFrom('thompson', 'cost-aware', 'random', 'seed', 'seed-recency'),
    seed: fc.integer({ min: 1, max: 1_000_000 }),
    epsilon: fc.constantFrom(0, 0.05),
  });

  it('are in (0, 1], sum to 1 over the candidates, and match the decision', () => {
    fc.assert(
      fc.property(scenarioArb, ({ agents, policy: name, seed, epsilon }) => {
        const profiles = agents.map((a, i) =>
          profile(`ag-${i}`, { coding: a.coding, review: a.review }, a.cost),
        );
        const ctx: PolicyContext = {
          ...context(
            agents.map((a, i) => candidate(`ag-${i}`, a.inFlight)),
            profiles,
          ),
          random: createRandom(seed),
        };
        const options =
          name === 'cost-aware'
            ? { budgetCentsPerTask: 10, epsilon }
            : name === 'thompson'
              ? { epsilon }
              : {};
        const policy = createPolicy(name, options);
        const probabilities = policy.probabilities(ctx);
        const decision = policy.choose(ctx);
        const open = agents.filter((a) => a.inFlight < 4).length;
        if (open === 0) {
          expect(decision).toBeNull();
          return;
        }
        const sum = [...probabilities.values()].reduce((a, b) => a + b, 0);
        expect(Math.abs(sum - 1)).toBeLessThan(1e-9);
        expect(decision).not.toBeNull();
        expect(decision!.propensity).toBeGreaterThan(0);
        expect(decision!.propensity).toBeLessThanOrEqual(1);
        const full = ctx.candidates.find((c) => c.agentId === decision!.agentId)!;
        expect(full.inFlight).toBeLessThan(full.maxConcurrent);
        // The logged propensity is the decision's probability (to the grid's accuracy).
        expect(Math.abs(decision!.propensity - (probabilities.get(decision!.agentId) ?? 0))).toBeLessThan(
          5e-3,
        );
      }),
      { numRuns: 300 },
    );
  });

  it('the grid integration agrees with Monte Carlo on random posteriors', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            alpha: fc.double({ min: 0.3, max: 500, noNaN: true }),
            beta: fc.double({ min: 0.3, max: 500, noNaN: true }),
          }),
          { minLength: 2, maxLength: 4 },
        ),
        fc.array(fc.double({ min: 0, max: 0.1, noNaN: true }), { minLength: 4, maxLength: 4 }),
        fc.integer({ min: 1, max: 1000 }),
        (params, shifts, seed) => {
          const exact = argmaxProbabilities(params, shifts);
          const random = createRandom(seed);
          const wins = params.map(() => 0);
          const draws = 20_000;
          for (let n = 0; n < draws; n += 1) {
            let best = 0;
            let bestScore = -Infinity;
            params.forEach((p, i) => {
              const score = sampleBeta(p, random) - shifts[i]!;
              if (score > bestScore) [best, bestScore] = [i, score];
            });
            wins[best]! += 1;
          }
          // Five of Monte Carlo's own standard errors, plus the integration's error (about 10⁻³).
          exact.forEach((p, i) => {
            const standardError = Math.sqrt(Math.max(p * (1 - p), 1e-4) / draws);
            expect(Math.abs(p - wins[i]! / draws)).toBeLessThan(3e-3 + 5 * standardError);
          });
        },
      ),
      { numRuns: 25 },
    );
  });
});
