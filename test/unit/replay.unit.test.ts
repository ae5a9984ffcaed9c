import type { LoggedDecision } from '../../src/domain/index.js';
import { estimateOffPolicy } from '../../src/domain/index.js';
import { replayCheck } from '../../src/simulator/index.js';

const decision = (chosen: string, propensity: number, reward: number, cost?: number): LoggedDecision => ({
  candidates: [
    { agentId: 'a', predictedReward: 0.5, predictedCost: 10 },
    { agentId: 'b', predictedReward: 0.5, predictedCost: 2 },
  ],
  chosen,
  propensity,
  reward,
  ...(cost === undefined ? {} : { cost }),
});

describe('off-policy estimators', () => {
  // Logged under a 50:50 policy: a succeeds every time, b never.
  const logs = [
    decision('a', 0.5, 1, 10),
    decision('b', 0.5, 0, 2),
    decision('a', 0.5, 1, 10),
    decision('b', 0.5, 0, 2),
  ];
  const alwaysA = () => new Map([['a', 1]]);

  it('compute IPS, SNIPS and DR by their definitions', () => {
    const estimate = estimateOffPolicy(logs, alwaysA);
    // IPS: mean of w·r = (2 + 0 + 2 + 0) / 4; SNIPS: Σ w·r / Σ w = 4 / 4; DR: 0.5 + w·(r − 0.5) on a, 0.5 on b.
    expect(estimate.ips.value).toBeCloseTo(1, 12);
    expect(estimate.snips.value).toBeCloseTo(1, 12);
    expect(estimate.dr.value).toBeCloseTo((1.5 + 0.5 + 1.5 + 0.5) / 4, 12);
    expect(estimate.effectiveSampleSize).toBeCloseTo(2, 12);
    expect(estimate.ips.low).toBeLessThan(estimate.ips.value);
    expect(estimate.ips.high).toBeGreaterThan(estimate.ips.value);
  });

  it('estimate cost the same way', () => {
    const estimate = estimateOffPolicy(logs, () => new Map([['b', 1]]), { outcome: 'cost' });
    expect(estimate.snips.value).toBeCloseTo(2, 12);
    expect(estimate.ips.value).toBeCloseTo(2, 12);
    expect(estimate.dr.value).toBeCloseTo(2, 12);
  });

  it('refuse a propensity outside (0, 1]', () => {
    expect(() => estimateOffPolicy([decision('a', 0, 1)], alwaysA)).toThrow(RangeError);
    expect(() => estimateOffPolicy([decision('a', 1.2, 1)], alwaysA)).toThrow(/not in \(0, 1\]/);
  });
});

describe('replay on the simulator', () => {
  it('estimates the seed formula from the default policy’s logs within ±2 percentage points', () => {
    for (const seed of [1, 2]) {
      const [row] = replayCheck({ scenario: 'stationary', seed, steps: 10_000, targets: ['seed'] });
      const { truth, estimate } = row!;
      expect(estimate.decisions).toBe(10_000);
      expect(Math.abs(estimate.snips.value - truth)).toBeLessThanOrEqual(0.02);
      expect(Math.abs(estimate.dr.value - truth)).toBeLessThanOrEqual(0.02);
      expect(Math.abs(estimate.ips.value - truth)).toBeLessThanOrEqual(0.02);
    }
  });
});
