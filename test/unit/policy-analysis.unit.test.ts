/** policies compare and replay as pure functions over decisions joined with outcomes. */
import { describe, expect, it } from '@jest/globals';
import type { DecisionOutcome } from '../../src/cli/policy-analysis.js';
import {
  comparePolicies,
  contextOf,
  parseSince,
  replayPolicy,
  replayPrecision,
} from '../../src/cli/policy-analysis.js';
import type { DecisionRecord } from '../../src/kg/decision-record.js';

const candidates: DecisionRecord['candidates'] = [
  {
    agentId: 'good',
    successRate: 0.9,
    load: 0,
    maxConcurrent: 4,
    inFlight: 0,
    expertise: {
      successRate: 0.9,
      recentSuccessRate: 0.9,
      windowSize: 20,
      totalExecutions: 20,
      confidence: 1,
    },
    score: { base: 0.9, expertise: 0.9, confidence: 1, final: 0.92 },
  },
  {
    agentId: 'bad',
    successRate: 0.2,
    load: 0,
    maxConcurrent: 4,
    inFlight: 0,
    score: { base: 0.2, expertise: 0, confidence: 0, final: 0.06 },
  },
];

function row(
  i: number,
  policy: string,
  chosen: string,
  propensity: number,
  success?: boolean,
): DecisionOutcome {
  const decision: DecisionRecord = {
    taskId: `t-${i}`,
    attempt: 1,
    taskType: 'coding',
    policy,
    mode: 'learned',
    chosen,
    propensity,
    explored: false,
    candidates,
    at: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
  };
  return success === undefined
    ? { decision }
    : { decision, outcome: { success, reward: success ? 1 : 0, costCents: chosen === 'good' ? 4 : 1 } };
}

describe('comparePolicies', () => {
  it('rates each arm on its outcomes only and differences against seed', () => {
    const rows = [
      ...Array.from({ length: 8 }, (_, i) => row(i, 'seed', 'good', 1, i < 6)),
      ...Array.from({ length: 8 }, (_, i) => row(10 + i, 'thompson', 'good', 0.8, true)),
      row(30, 'thompson', 'bad', 0.2), // no outcome yet
    ];
    const c = comparePolicies(rows);
    const seed = c.summaries.find((s) => s.policy === 'seed')!;
    const thompson = c.summaries.find((s) => s.policy === 'thompson')!;
    expect([seed.decisions, seed.outcomes, seed.success.value]).toEqual([8, 8, 0.75]);
    expect(seed.success.low).toBeLessThan(0.75);
    expect([thompson.decisions, thompson.outcomes, thompson.success.value]).toEqual([9, 8, 1]);
    expect(c.baseline).toBe('seed');
    expect(c.differences).toHaveLength(1);
    expect(c.differences[0]!.success.value).toBeCloseTo(0.25, 10);
    // All of thompson's outcomes succeeded (no spread), so the interval's width is seed's alone.
    expect(c.differences[0]!.success.high - c.differences[0]!.success.low).toBeCloseTo(
      seed.success.high - seed.success.low,
      10,
    );
  });

  it('takes the largest arm as baseline without seed, and reports nothing on an empty log', () => {
    const rows = [
      row(1, 'random', 'good', 0.5, true),
      row(2, 'thompson', 'good', 1, true),
      row(3, 'thompson', 'good', 1, false),
    ];
    expect(comparePolicies(rows).baseline).toBe('thompson');
    expect(comparePolicies([])).toEqual({ summaries: [], baseline: null, differences: [] });
  });
});

describe('replayPolicy', () => {
  it('recovers seed always picking the good agent from random logs (IPS = SNIPS = 1)', () => {
    const rows = Array.from({ length: 20 }, (_, i) =>
      i % 2 === 0 ? row(i, 'random', 'good', 0.5, true) : row(i, 'random', 'bad', 0.5, false),
    );
    const r = replayPolicy('seed', {}, [...rows, row(99, 'random', 'bad', 0.5)]);
    expect(r.decisions).toBe(20);
    expect(r.pending).toBe(1);
    expect(r.loggedBy).toEqual({ random: 20 });
    expect(r.observed.reward).toBe(0.5);
    expect(r.reward.ips.value).toBeCloseTo(1, 10);
    expect(r.reward.snips.value).toBeCloseTo(1, 10);
    expect(r.cost.snips.value).toBeCloseTo(4, 10);
  });

  it('rejects an unknown policy even on an empty log', () => {
    expect(() => replayPolicy('greedy', {}, [])).toThrow(/unknown policy 'greedy'/);
  });

  it('rebuilds the logged context: candidates, and expertise only where it was logged', () => {
    const ctx = contextOf(row(1, 'seed', 'good', 1, true).decision);
    expect(ctx.candidates.map((c) => c.agentId)).toEqual(['good', 'bad']);
    const profiles = ctx.profiles as ReadonlyMap<string, unknown>;
    expect([...profiles.keys()]).toEqual(['good']);
  });
});

describe('replayPrecision', () => {
  it('says ±2 pp is out of reach on a short log, and within reach on a long one where the target agrees', () => {
    const short = Array.from({ length: 20 }, (_, i) =>
      i % 2 === 0 ? row(i, 'random', 'good', 0.5, true) : row(i, 'random', 'bad', 0.5, false),
    );
    const few = replayPrecision(replayPolicy('seed', {}, short));
    expect(few.enough).toBe(false);
    // Every weighted outcome is a success, so the intervals have no width; 10 effective decisions still say ±14 pp.
    expect(few.halfWidth).toBeGreaterThan(0.1);
    // seed logged 4,000 times, 80% successes: every weight is 1, so the interval is the sample's, ±1.96·0.4/√4000.
    const long = Array.from({ length: 4000 }, (_, i) => row(i, 'seed', 'good', 1, i % 5 !== 0));
    const many = replayPrecision(replayPolicy('seed', {}, long));
    expect(many.enough).toBe(true);
    expect(many.halfWidth).toBeCloseTo((1.96 * 0.4) / Math.sqrt(4000), 3);
  });
});

describe('parseSince', () => {
  const now = new Date('2026-03-10T12:00:00.000Z');
  it.each([
    ['7d', '2026-03-03T12:00:00.000Z'],
    ['12h', '2026-03-10T00:00:00.000Z'],
    ['30m', '2026-03-10T11:30:00.000Z'],
    ['2026-03-01', '2026-03-01T00:00:00.000Z'],
  ])('%s', (text, expected) => {
    expect(parseSince(text, now)?.toISOString()).toBe(expected);
  });
  it.each(['week', '7', '-1d', ''])('rejects %j', (text) => {
    expect(parseSince(text, now)).toBeUndefined();
  });
});
