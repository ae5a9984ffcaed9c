import { computeExpertise, confidenceFor, MS_PER_DAY, recencyWeight } from '../../src/index.js';
import { NOW, dailyHistory, execution } from './given.js';
import { InvalidInputError } from '../../src/errors.js';

describe('computeExpertise', () => {
  it('gives zeros, unknown trend and no curve for an empty history', () => {
    const e = computeExpertise([], 'coding', NOW);
    expect(e).toMatchObject({
      taskType: 'coding',
      totalExecutions: 0,
      windowSize: 0,
      successRate: 0,
      recentSuccessRate: 0,
      confidence: 0,
      avgDurationMs: 0,
      learningCurve: [],
      trend: 'unknown',
      lastExecutionAt: null,
      asOf: NOW.toISOString(),
    });
  });

  it('handles one execution', () => {
    const e = computeExpertise([execution(1, true, 500)], 'coding', NOW);
    expect(e.totalExecutions).toBe(1);
    expect(e.successRate).toBe(1);
    expect(e.recentSuccessRate).toBe(1);
    expect(e.confidence).toBe(0.05);
    expect(e.avgDurationMs).toBe(500);
    expect(e.lastExecutionAt).toBe(new Date(NOW.getTime() - MS_PER_DAY).toISOString());
    expect(e.learningCurve).toHaveLength(1);
  });

  it("reproduces the seed's example: 20 daily executions, 18 successes", () => {
    const e = computeExpertise(dailyHistory(20, 18), 'coding', NOW);
    expect(e.successRate).toBeCloseTo(0.9, 12);
    expect(e.totalExecutions).toBe(20);
    expect(e.confidence).toBe(1);
  });

  it('weights recent executions: a recent failure hurts more than an old one', () => {
    const recentFailure = computeExpertise([execution(1, false), execution(20, true)], 'x', NOW);
    const oldFailure = computeExpertise([execution(1, true), execution(20, false)], 'x', NOW);
    const w1 = recencyWeight(1);
    const w20 = recencyWeight(20);
    expect(recentFailure.recentSuccessRate).toBeCloseTo(w20 / (w1 + w20), 12);
    expect(oldFailure.recentSuccessRate).toBeCloseTo(w1 / (w1 + w20), 12);
    expect(recentFailure.successRate).toBe(0.5);
  });

  it('treats an execution exactly 7 days old without the 3x boost', () => {
    const e = computeExpertise([execution(7, true), execution(0, false)], 'x', NOW);
    expect(e.recentSuccessRate).toBeCloseTo(Math.exp(-1) / (Math.exp(-1) + 3), 12);
  });

  it('counts future timestamps (clock skew) as age 0', () => {
    const e = computeExpertise([execution(-2, true), execution(0, false)], 'x', NOW);
    expect(e.recentSuccessRate).toBeCloseTo(0.5, 12);
    expect(e.lastExecutionAt).toBe(new Date(NOW.getTime() + 2 * MS_PER_DAY).toISOString());
  });

  it('uses only the 100 most recent executions for rates but counts all of them', () => {
    // 50 old failures, then 100 recent successes: the window holds only the successes.
    const history = [
      ...Array.from({ length: 50 }, (_, i) => execution(60 + i, false, 9000)),
      ...Array.from({ length: 100 }, (_, i) => execution(i / 10, true, 1000)),
    ];
    const e = computeExpertise(history, 'x', NOW);
    expect(e.totalExecutions).toBe(150);
    expect(e.windowSize).toBe(100);
    expect(e.successRate).toBe(1);
    expect(e.avgDurationMs).toBe(1000);
    expect(e.confidence).toBe(1);
  });

  it('breaks finishedAt ties by executionId (the larger id is more recent)', () => {
    const at = NOW.toISOString();
    const history = [
      ...Array.from({ length: 100 }, (_, i) => ({
        executionId: `b-${String(i).padStart(3, '0')}`,
        success: true,
        durationMs: 1,
        finishedAt: at,
      })),
      { executionId: 'a-000', success: false, durationMs: 1, finishedAt: at },
      { executionId: 'c-000', success: false, durationMs: 1, finishedAt: at },
    ];
    const e = computeExpertise(history, 'x', NOW);
    // c-000 outranks every b-*, a-000 ranks last: exactly one failure stays in the window.
    expect(e.windowSize).toBe(100);
    expect(e.successRate).toBeCloseTo(0.99, 12);
  });

  it('counts a duplicated executionId once', () => {
    const one = execution(1, true);
    expect(computeExpertise([one, one, { ...one }], 'x', NOW).totalExecutions).toBe(1);
  });

  it('draws one curve point per UTC day over the last 30 days only', () => {
    const history = [
      execution(0, true, 100),
      execution(0.01, false, 300),
      execution(1, true, 100),
      execution(29, true, 100),
      execution(31, false, 100),
      execution(45, false, 100),
    ];
    const e = computeExpertise(history, 'x', NOW);
    expect(e.learningCurve.map((p) => p.day)).toEqual(['2026-05-17', '2026-06-14', '2026-06-15']);
    expect(e.learningCurve[2]).toEqual({
      day: '2026-06-15',
      executions: 2,
      successes: 1,
      successRate: 0.5,
      avgDurationMs: 200,
    });
    expect(e.totalExecutions).toBe(6);
  });

  it('includes days later than now (clock skew) in the curve', () => {
    const e = computeExpertise([execution(-1.5, true)], 'x', NOW);
    expect(e.learningCurve.map((p) => p.day)).toEqual(['2026-06-17']);
  });

  describe('trend (success rate of [0,7) days minus [7,14) days)', () => {
    const periods = (recentOk: number, recentN: number, prevOk: number, prevN: number) => [
      ...Array.from({ length: recentN }, (_, i) => execution(1 + i * 0.1, i < recentOk)),
      ...Array.from({ length: prevN }, (_, i) => execution(8 + i * 0.1, i < prevOk)),
    ];
    it.each([
      ['improving', periods(9, 10, 5, 10)],
      ['declining', periods(5, 10, 9, 10)],
      ['stable', periods(8, 10, 8, 10)],
      ['unknown', periods(3, 3, 1, 2)],
      ['unknown', periods(1, 2, 3, 3)],
    ])('is %s', (trend, history) => {
      expect(computeExpertise(history, 'x', NOW).trend).toBe(trend);
    });

    it('uses strict thresholds of ±0.05', () => {
      // 0.65 − 0.60 = 0.05 exactly → stable, not improving.
      const atThreshold = periods(13, 20, 12, 20);
      expect(computeExpertise(atThreshold, 'x', NOW).trend).toBe('stable');
      const above = periods(14, 20, 12, 20);
      expect(computeExpertise(above, 'x', NOW).trend).toBe('improving');
    });
  });

  it('rejects an invalid timestamp with a RangeError', () => {
    expect(() =>
      computeExpertise(
        [{ executionId: 'e', success: true, durationMs: 1, finishedAt: 'yesterday' }],
        'x',
        NOW,
      ),
    ).toThrow(InvalidInputError);
  });
});

describe('confidenceFor', () => {
  it('is min(1, n/20)', () => {
    expect(confidenceFor(0)).toBe(0);
    expect(confidenceFor(10)).toBe(0.5);
    expect(confidenceFor(20)).toBe(1);
    expect(confidenceFor(1000)).toBe(1);
  });
});
