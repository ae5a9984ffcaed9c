import type { ResultRow, ResultsFile, RunInfo } from '../../bench/results.js';
import { goalCells, meetsGoal, mergeResults, parseGoal, resultRow } from '../../bench/results.js';

const earlier: RunInfo = { date: '2026-01-01T00:00:00.000Z', node: 'v20.0.0', loadavg: [1, 1, 1] };
const now: RunInfo = { date: '2026-02-01T00:00:00.000Z', node: 'v20.1.0', loadavg: [2, 2, 2] };

const row = (section: string, metric: string, ratio: number): ResultRow =>
  resultRow(section, metric, { value: ratio }, ratio, '≤ 1.2');

describe('bench goals', () => {
  it('parses ≤ and ≥ bounds, with or without a space, and the ASCII spellings', () => {
    expect(parseGoal('≤ 1.2')).toEqual({ op: '≤', bound: 1.2 });
    expect(parseGoal('≥0.5')).toEqual({ op: '≥', bound: 0.5 });
    expect(parseGoal('<= 3')).toEqual({ op: '≤', bound: 3 });
    expect(parseGoal('>= 20')).toEqual({ op: '≥', bound: 20 });
  });

  it('rejects a goal that is not a bound, so it cannot pass as met', () => {
    expect(() => parseGoal('1.2')).toThrow(/not "≤ n" or "≥ n"/);
    expect(() => parseGoal('< 1.2')).toThrow();
    expect(() => parseGoal('≤ fast')).toThrow();
    expect(() => meetsGoal(1, '= 1')).toThrow();
  });

  it('meets an upper bound at or below it and a lower bound at or above it', () => {
    expect(meetsGoal(1.2, '≤ 1.2')).toBe(true);
    expect(meetsGoal(1.2001, '≤ 1.2')).toBe(false);
    expect(meetsGoal(0.5, '≥ 0.5')).toBe(true);
    expect(meetsGoal(0.4999, '≥ 0.5')).toBe(false);
    expect(meetsGoal(331, '≥ 20')).toBe(true);
    expect(meetsGoal(3.5, '≤ 3')).toBe(false);
  });

  it('misses on a NaN ratio and has no verdict without a goal or a ratio', () => {
    expect(meetsGoal(Number.NaN, '≤ 1.2')).toBe(false);
    expect(meetsGoal(Number.NaN, '≥ 0.5')).toBe(false);
    expect(meetsGoal(5.33, null)).toBeNull();
    expect(meetsGoal(null, '≤ 1.2')).toBeNull();
  });

  it('builds rows with their verdict and prints the goal, or — without one', () => {
    const missed = resultRow('worker', '1. throughput', { worker: 1, raw: 5 }, 0.2, '≥ 0.5');
    expect(missed).toEqual({
      section: 'worker',
      metric: '1. throughput',
      values: { worker: 1, raw: 5 },
      ratio: 0.2,
      goal: '≥ 0.5',
      met: false,
    });
    expect(goalCells(missed)).toEqual(['≥ 0.5', 'MISSED']);
    expect(goalCells(resultRow('core', 'applyExecution', {}, 0.99, '≤ 1.2'))).toEqual(['≤ 1.2', 'met']);
    expect(goalCells(resultRow('core', 'policy.choose (thompson)', {}, 5.33, null))).toEqual(['—', '']);
  });
});

describe('mergeResults', () => {
  const previous: ResultsFile = {
    ...earlier,
    sections: { core: earlier, worker: earlier },
    rows: [
      row('core', 'applyExecution', 0.9),
      row('core', 'rankAgents', 1.0),
      row('worker', '1. throughput', 0.2),
    ],
  };

  it('replaces only the sections that ran, in place, and keeps the others with their run info', () => {
    const merged = mergeResults(previous, now, ['core'], [row('core', 'applyExecution', 1.3)]);
    expect(merged.rows.map((r) => [r.section, r.metric, r.ratio])).toEqual([
      ['core', 'applyExecution', 1.3],
      ['worker', '1. throughput', 0.2],
    ]);
    expect(merged.rows[0]!.met).toBe(false);
    expect(merged.sections).toEqual({ core: now, worker: earlier });
    expect(merged).toMatchObject(now);
  });

  it('keeps the file order when a later section runs alone, and appends a section the file lacks', () => {
    const worker = mergeResults(previous, now, ['worker'], [row('worker', '1. throughput', 0.6)]);
    expect(worker.rows.map((r) => [r.section, r.ratio])).toEqual([
      ['core', 0.9],
      ['core', 1.0],
      ['worker', 0.6],
    ]);
    const added = mergeResults(previous, now, ['soak'], [row('soak', 'rss', 1.1)]);
    expect(added.rows.map((r) => r.section)).toEqual(['core', 'core', 'worker', 'soak']);
    expect(Object.keys(added.sections)).toEqual(['core', 'worker', 'soak']);
  });

  it('a full run without a previous file holds exactly its own rows', () => {
    const rows = [row('core', 'applyExecution', 1), row('worker', '1. throughput', 0.7)];
    const merged = mergeResults(undefined, now, ['core', 'worker'], rows);
    expect(merged).toEqual({ ...now, sections: { core: now, worker: now }, rows });
  });

  it('a section that ran and produced no rows leaves none of its old rows behind', () => {
    const merged = mergeResults(previous, now, ['core'], []);
    expect(merged.rows.map((r) => r.section)).toEqual(['worker']);
  });
});
