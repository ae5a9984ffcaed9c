import fc from 'fast-check';
import type { ExecutionData, ExpertiseState, TaskTypeExpertise } from '../../src/index.js';
import {
  applyExecution,
  computeExpertise,
  createExpertiseState,
  DEDUPE_MEMORY,
  EXPERTISE_STATE_VERSION,
  expertiseFromState,
  MS_PER_DAY,
} from '../../src/index.js';
import { NOW, execution } from './given.js';

const TOLERANCE = 1e-9;

function expectClose(actual: TaskTypeExpertise, expected: TaskTypeExpertise): void {
  const { learningCurve: actualCurve, ...actualRest } = actual;
  const { learningCurve: expectedCurve, ...expectedRest } = expected;
  expect(Object.keys(actualRest).sort()).toEqual(Object.keys(expectedRest).sort());
  for (const [key, value] of Object.entries(expectedRest)) {
    const got = (actualRest as Record<string, unknown>)[key];
    if (typeof value === 'number')
      expect(Math.abs((got as number) - value)).toBeLessThanOrEqual(TOLERANCE * Math.max(1, Math.abs(value)));
    else expect(got).toEqual(value);
  }
  expect(actualCurve.map((p) => p.day)).toEqual(expectedCurve.map((p) => p.day));
  actualCurve.forEach((point, i) => {
    const want = expectedCurve[i]!;
    expect(point.executions).toBe(want.executions);
    expect(point.successes).toBe(want.successes);
    expect(Math.abs(point.avgDurationMs - want.avgDurationMs)).toBeLessThanOrEqual(
      TOLERANCE * Math.max(1, want.avgDurationMs),
    );
  });
}

/** A timestamp between 60 days before NOW and 2 days after it; a coarse grid so that ties happen often. */
const finishedAtArb = fc.oneof(
  fc
    .integer({ min: -2 * 24, max: 60 * 24 })
    .map((hoursAgo) => new Date(NOW.getTime() - hoursAgo * 3_600_000).toISOString()),
  fc.integer({ min: 0, max: 5 }).map((days) => new Date(NOW.getTime() - days * MS_PER_DAY).toISOString()),
);

const executionArb = fc.record(
  {
    success: fc.boolean(),
    durationMs: fc.oneof(fc.integer({ min: 0, max: 600_000 }), fc.double({ min: 0, max: 1e6, noNaN: true })),
    finishedAt: finishedAtArb,
    costCents: fc.integer({ min: 0, max: 500 }),
    qualityScore: fc.double({ min: 0, max: 1, noNaN: true }),
  },
  { requiredKeys: ['success', 'durationMs', 'finishedAt'] },
);

/** Unique histories (ids assigned by position) with a delivery order that shuffles and duplicates them. */
function deliveryArb(minLength: number, maxLength: number) {
  return fc
    .array(executionArb, { minLength, maxLength })
    .chain((records) => {
      const history: ExecutionData[] = records.map((record, i) => ({ executionId: `ex-${i}`, ...record }));
      const n = history.length;
      return fc.record({
        history: fc.constant(history),
        order: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: n, maxLength: n }),
        duplicates: fc.array(fc.record({ index: fc.nat(), at: fc.double({ min: 0, max: 1, noNaN: true }) }), {
          maxLength: n === 0 ? 0 : 60,
        }),
      });
    })
    .map(({ history, order, duplicates }) => {
      const keyed = history.map((execution, i) => ({ execution, key: order[i]! }));
      for (const dup of duplicates) {
        const original = history[dup.index % history.length]!;
        keyed.push({ execution: { ...original }, key: dup.at });
      }
      keyed.sort((a, b) => a.key - b.key);
      return { history, delivered: keyed.map((k) => k.execution) };
    });
}

const applyAll = (executions: readonly ExecutionData[], state: ExpertiseState = createExpertiseState('x')) =>
  executions.reduce(applyExecution, state);

describe('incremental expertise state', () => {
  it('equals the batch computation for any order and any duplicates (histories up to 250)', () => {
    // 250 unique executions < DEDUPE_MEMORY, so every duplicate is within the dedupe memory.
    expect(DEDUPE_MEMORY).toBeGreaterThan(250);
    fc.assert(
      fc.property(deliveryArb(0, 250), ({ history, delivered }) => {
        expectClose(expertiseFromState(applyAll(delivered), NOW), computeExpertise(history, 'x', NOW));
      }),
      { numRuns: 2000 },
    );
  });

  it('equals the batch computation for histories longer than the window', () => {
    fc.assert(
      fc.property(deliveryArb(101, 250), ({ history, delivered }) => {
        const state = applyAll(delivered);
        expect(state.window).toHaveLength(100);
        expectClose(expertiseFromState(state, NOW), computeExpertise(history, 'x', NOW));
      }),
      { numRuns: 500 },
    );
  });

  it('survives a JSON round trip between any two applications', () => {
    fc.assert(
      fc.property(deliveryArb(1, 150), fc.nat(), ({ history, delivered }, cut) => {
        const split = cut % delivered.length;
        const revived = JSON.parse(JSON.stringify(applyAll(delivered.slice(0, split)))) as ExpertiseState;
        const state = applyAll(delivered.slice(split), revived);
        expectClose(expertiseFromState(state, NOW), computeExpertise(history, 'x', NOW));
      }),
      { numRuns: 300 },
    );
  });

  it('does not change when the same execution is applied twice', () => {
    fc.assert(
      fc.property(deliveryArb(1, 120), fc.nat(), ({ delivered }, pick) => {
        const state = applyAll(delivered);
        const again = applyExecution(state, delivered[pick % delivered.length]!);
        expect(again).toBe(state);
      }),
      { numRuns: 300 },
    );
  });

  it('stays bounded in size however long the history', () => {
    let state = createExpertiseState('coding');
    for (let i = 0; i < 20_000; i += 1)
      state = applyExecution(state, execution(i / 100, i % 3 !== 0, 1234.5, NOW, `ex-${i}`));
    expect(state.totalExecutions).toBe(20_000);
    expect(state.window).toHaveLength(100);
    expect(state.recentIds).toHaveLength(DEDUPE_MEMORY);
    expect(state.days.length).toBeLessThanOrEqual(41);
    expect(JSON.stringify(state).length).toBeLessThan(20_000);
  });

  it('recomputes recency at read time', () => {
    const state = applyAll([execution(1, false), execution(20, true)]);
    const today = expertiseFromState(state, NOW).recentSuccessRate;
    const muchLater = expertiseFromState(state, new Date(NOW.getTime() + 30 * MS_PER_DAY)).recentSuccessRate;
    expect(muchLater).toBeGreaterThan(today);
  });

  it("keeps each window entry's cost and quality when the result reported them", () => {
    const state = applyAll([
      { ...execution(1, true), costCents: 12.5, qualityScore: 0.8 },
      execution(0.5, false),
    ]);
    expect(state.version).toBe(EXPERTISE_STATE_VERSION);
    const [recent, older] = state.window;
    expect(recent).not.toHaveProperty('costCents');
    expect(recent).not.toHaveProperty('qualityScore');
    expect(older).toMatchObject({ costCents: 12.5, qualityScore: 0.8 });
  });

  it('reads a version-1 state from the cache and upgrades it on the next update', () => {
    const history = [execution(3, true), execution(2, false), execution(1, true)];
    // A state as version 1 wrote it: no version-2 fields anywhere, version 1.
    const current = applyAll(history.slice(0, 2));
    const v1 = JSON.parse(
      JSON.stringify({
        ...current,
        version: 1,
        window: current.window.map(({ executionId, finishedAtMs, success, durationMs }) => ({
          executionId,
          finishedAtMs,
          success,
          durationMs,
        })),
      }),
    ) as ExpertiseState;
    expect(v1.version).toBe(1);
    expectClose(expertiseFromState(v1, NOW), computeExpertise(history.slice(0, 2), 'x', NOW));

    const next = applyExecution(v1, { ...history[2]!, costCents: 7 });
    expect(next.version).toBe(EXPERTISE_STATE_VERSION);
    expect(EXPERTISE_STATE_VERSION).toBeGreaterThan(1);
    expect(next.window[0]).toMatchObject({ executionId: history[2]!.executionId, costCents: 7 });
    expectClose(expertiseFromState(next, NOW), computeExpertise(history, 'x', NOW));
    // A duplicate changes nothing, so it does not upgrade either: the next real update will.
    expect(applyExecution(v1, history[0]!)).toBe(v1);
  });
});
