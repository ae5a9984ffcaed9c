/**
 * Conformance suite for every {@link KnowledgeGraph} adapter (in the spirit of BullMQ's adapter-conformance tests):
 * each adapter's test file calls `describeKnowledgeGraphConformance` with a factory for a fresh, empty store.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { ExecutionResult } from '../../src/domain/messages.js';
import { isKgUnavailable } from '../../src/errors.js';
import { computeExpertise, expertiseFromState } from '../../src/domain/index.js';
import { rebuildExpertiseState } from '../../src/kg/rebuild.js';
import type { DecisionRecord, KnowledgeGraph } from '../../src/kg/knowledge-graph.js';

let seq = 0;
export function execution(overrides: Partial<ExecutionResult> = {}): ExecutionResult {
  seq += 1;
  return {
    executionId: `exec-${String(seq).padStart(6, '0')}`,
    taskId: `task-${seq}`,
    agentId: 'agent-a',
    taskType: 'coding',
    success: true,
    durationMs: 1000,
    finishedAt: new Date(Date.UTC(2026, 0, 1) + seq * 1000).toISOString(),
    ...overrides,
  };
}

export function decision(overrides: Partial<DecisionRecord> = {}): DecisionRecord {
  seq += 1;
  return {
    taskId: `task-${seq}`,
    attempt: 1,
    taskType: 'coding',
    policy: 'thompson',
    mode: 'learned',
    chosen: 'agent-a',
    propensity: 0.75,
    explored: false,
    candidates: [
      {
        agentId: 'agent-a',
        successRate: 0.8,
        load: 0.25,
        maxConcurrent: 4,
        inFlight: 1,
        expertise: {
          successRate: 0.9,
          recentSuccessRate: 0.85,
          windowSize: 10,
          totalExecutions: 12,
          confidence: 0.6,
        },
        score: { base: 0.64, expertise: 0.9, confidence: 0.6, final: 0.762 },
      },
      {
        agentId: 'agent-b',
        successRate: 0.5,
        load: 0,
        maxConcurrent: 2,
        inFlight: 0,
        score: { base: 0.5, expertise: 0, confidence: 0, final: 0.15 },
      },
    ],
    at: new Date(Date.UTC(2026, 0, 1) + seq * 1000).toISOString(),
    ...overrides,
  };
}

/** Records in parallel batches: fast, and exercises concurrent writers of distinct ids. */
async function recordAll(kg: KnowledgeGraph, executions: ExecutionResult[], batch = 100): Promise<void> {
  for (let i = 0; i < executions.length; i += batch) {
    const results = await Promise.all(executions.slice(i, i + batch).map((e) => kg.recordExecution(e)));
    expect(results.every((r) => r === 'created')).toBe(true);
  }
}

const ids = (list: ExecutionResult[]) => list.map((e) => e.executionId);

export function describeKnowledgeGraphConformance(
  name: string,
  factory: () => Promise<KnowledgeGraph>,
): void {
  describe(`KnowledgeGraph conformance: ${name}`, () => {
    let kg: KnowledgeGraph;
    beforeEach(async () => {
      kg = await factory();
    });
    afterEach(async () => {
      await kg.close();
    });

    it('reports created for a new id and existed for a repeat', async () => {
      const e = execution();
      expect(await kg.recordExecution(e)).toBe('created');
      expect(await kg.recordExecution(e)).toBe('existed');
      expect(await kg.countExecutions(e.agentId, e.taskType)).toBe(1);
    });

    it('keeps the first write when a second write of the same id differs', async () => {
      const first = execution({ success: true, durationMs: 10 });
      await kg.recordExecution(first);
      expect(await kg.recordExecution({ ...first, success: false, durationMs: 99, taskType: 'review' })).toBe(
        'existed',
      );
      expect(await kg.getExecution(first.executionId)).toEqual(first);
      expect(await kg.countExecutions(first.agentId, 'review')).toBe(0);
    });

    it('gives exactly one created among 10 concurrent writes of the same id', async () => {
      // Several rounds: a write-write conflict inside the store is timing-dependent.
      for (let round = 0; round < 20; round++) {
        const e = execution();
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) => kg.recordExecution({ ...e, durationMs: i })),
        );
        expect(results.filter((r) => r === 'created')).toHaveLength(1);
        expect(results.filter((r) => r === 'existed')).toHaveLength(9);
        // The winner's content is stored whole, not a mix of writers.
        const stored = await kg.getExecution(e.executionId);
        expect(stored).toEqual({ ...e, durationMs: stored?.durationMs });
        expect(results[stored?.durationMs ?? -1]).toBe('created');
      }
      expect(await kg.countExecutions('agent-a', 'coding')).toBe(20);
    });

    it('answers each of a burst of writes, new and repeated ids mixed, as if written one by one', async () => {
      // A burst larger than one insert batch: new ids, ids recorded before the burst, and ids repeated within it.
      const before = Array.from({ length: 50 }, () => execution());
      await recordAll(kg, before);
      const fresh = Array.from({ length: 300 }, () => execution());
      const repeats = [...fresh.slice(0, 100), fresh[299]!].map((e) => ({ ...e, durationMs: 7 }));
      const burst = [...fresh, ...before, ...repeats];
      const results = await Promise.all(burst.map((e) => kg.recordExecution(e)));
      // Every fresh id is created exactly once, by its first write; everything else existed.
      expect(results.slice(0, 300).every((r) => r === 'created')).toBe(true);
      expect(results.slice(300).every((r) => r === 'existed')).toBe(true);
      expect(await kg.countExecutions('agent-a', 'coding')).toBe(350);
      expect(await kg.getExecution(fresh[0]!.executionId)).toEqual(fresh[0]);
      expect(await kg.getExecution(fresh[299]!.executionId)).toEqual(fresh[299]);
    });

    it('returns getExecutionsForTaskType most recent first, ties by executionId desc, honouring limit', async () => {
      const t = (s: number) => new Date(Date.UTC(2026, 1, 1, 0, 0, s)).toISOString();
      await recordAll(kg, [
        execution({ executionId: 'b', finishedAt: t(2) }),
        execution({ executionId: 'a', finishedAt: t(2) }),
        execution({ executionId: 'c', finishedAt: t(2) }),
        execution({ executionId: 'z', finishedAt: t(1) }),
        execution({ executionId: 'y', finishedAt: t(3) }),
        execution({ executionId: 'other-type', finishedAt: t(4), taskType: 'review' }),
        execution({ executionId: 'other-agent', finishedAt: t(4), agentId: 'agent-b' }),
      ]);
      expect(ids(await kg.getExecutionsForTaskType('agent-a', 'coding'))).toEqual(['y', 'c', 'b', 'a', 'z']);
      expect(ids(await kg.getExecutionsForTaskType('agent-a', 'coding', 3))).toEqual(['y', 'c', 'b']);
      expect(await kg.getExecutionsForTaskType('agent-a', 'unknown')).toEqual([]);
    });

    it('orders by instant, not by the string a producer sent', async () => {
      await kg.recordExecution(execution({ executionId: 'late', finishedAt: '2026-03-01T12:00:00+02:00' }));
      await kg.recordExecution(execution({ executionId: 'early', finishedAt: '2026-03-01T10:30:00Z' }));
      // 12:00+02:00 is 10:00Z: earlier than 10:30Z despite sorting later as a string.
      expect(ids(await kg.getExecutionsForTaskType('agent-a', 'coding'))).toEqual(['early', 'late']);
    });

    it('caps getExecutionsForTaskType at 100 by default', async () => {
      await recordAll(
        kg,
        Array.from({ length: 105 }, () => execution()),
      );
      const window = await kg.getExecutionsForTaskType('agent-a', 'coding');
      expect(window).toHaveLength(100);
      expect(await kg.countExecutions('agent-a', 'coding')).toBe(105);
      // The 5 oldest (the first recorded) are the ones left out.
      expect(window[window.length - 1]?.finishedAt).toBe(
        new Date(Date.parse(window[0]!.finishedAt) - 99_000).toISOString(),
      );
    });

    it('getAgentExecutions spans task types in the same order and honours limit', async () => {
      await recordAll(kg, [
        execution({ executionId: 'e1', taskType: 'coding' }),
        execution({ executionId: 'e2', taskType: 'review' }),
        execution({ executionId: 'e3', taskType: 'testing' }),
        execution({ executionId: 'e4', agentId: 'agent-b' }),
      ]);
      expect(ids(await kg.getAgentExecutions('agent-a'))).toEqual(['e3', 'e2', 'e1']);
      expect(ids(await kg.getAgentExecutions('agent-a', 2))).toEqual(['e3', 'e2']);
      expect(ids(await kg.getAgentExecutions('agent-b'))).toEqual(['e4']);
    });

    it('counts per (agent, taskType) and 0 when none', async () => {
      await recordAll(kg, [
        execution(),
        execution(),
        execution({ taskType: 'review' }),
        execution({ agentId: 'agent-b' }),
      ]);
      expect(await kg.countExecutions('agent-a', 'coding')).toBe(2);
      expect(await kg.countExecutions('agent-a', 'review')).toBe(1);
      expect(await kg.countExecutions('agent-b', 'coding')).toBe(1);
      expect(await kg.countExecutions('agent-c', 'coding')).toBe(0);
    });

    it('lists distinct profile keys sorted by agentId then taskType', async () => {
      expect(await kg.listProfileKeys()).toEqual([]);
      await recordAll(kg, [
        execution({ agentId: 'b', taskType: 'coding' }),
        execution({ agentId: 'a', taskType: 'review' }),
        execution({ agentId: 'a', taskType: 'coding' }),
        execution({ agentId: 'a', taskType: 'coding' }),
      ]);
      expect(await kg.listProfileKeys()).toEqual([
        { agentId: 'a', taskType: 'coding' },
        { agentId: 'a', taskType: 'review' },
        { agentId: 'b', taskType: 'coding' },
      ]);
    });

    it('tracks the profile-applied flag: null unknown, false recorded, true once marked', async () => {
      const e = execution();
      expect(await kg.isProfileApplied(e.executionId)).toBeNull();
      await kg.recordExecution(e);
      expect(await kg.isProfileApplied(e.executionId)).toBe(false);
      await kg.markProfileApplied(e.executionId);
      expect(await kg.isProfileApplied(e.executionId)).toBe(true);
      // A repeat write neither resets the flag nor leaks it into the record.
      expect(await kg.recordExecution(e)).toBe('existed');
      expect(await kg.isProfileApplied(e.executionId)).toBe(true);
      expect(await kg.getExecution(e.executionId)).toEqual(e);
    });

    it('marks many executions at once and ignores ids never recorded', async () => {
      const [a, b, c] = [execution(), execution(), execution()];
      await recordAll(kg, [a, b, c]);
      await kg.markProfilesApplied([a.executionId, c.executionId, 'never-recorded']);
      expect(await kg.isProfileApplied(a.executionId)).toBe(true);
      expect(await kg.isProfileApplied(b.executionId)).toBe(false);
      expect(await kg.isProfileApplied(c.executionId)).toBe(true);
      expect(await kg.isProfileApplied('never-recorded')).toBeNull();
      await kg.markProfilesApplied([]);
    });

    it('refuses to mark an unknown execution, with an error that is not "unavailable"', async () => {
      const err = await kg.markProfileApplied('never-recorded').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(Error);
      expect(isKgUnavailable(err)).toBe(false);
      expect(await kg.isProfileApplied('never-recorded')).toBeNull();
    });

    it('round-trips every optional field and normalises timestamps to toISOString form', async () => {
      const full = execution({
        executionId: '42', // numeric-looking ids stay string ids
        startedAt: '2026-01-31T13:59:58.5+02:00',
        finishedAt: '2026-01-31T12:00:00.123456Z',
        qualityScore: 0.75,
        costCents: 3,
        provider: 'claude',
        error: 'none really',
        durationMs: 1500.5,
        success: false,
      });
      await kg.recordExecution(full);
      expect(await kg.getExecution('42')).toEqual({
        ...full,
        startedAt: '2026-01-31T11:59:58.500Z',
        finishedAt: '2026-01-31T12:00:00.123Z',
      });
    });

    it('leaves absent optional fields absent (no null, no undefined-valued keys)', async () => {
      const bare = execution({ qualityScore: undefined });
      await kg.recordExecution(bare);
      const stored = await kg.getExecution(bare.executionId);
      expect(Object.keys(stored ?? {}).sort()).toEqual(
        ['agentId', 'durationMs', 'executionId', 'finishedAt', 'success', 'taskId', 'taskType'].sort(),
      );
      const [listed] = await kg.getExecutionsForTaskType(bare.agentId, bare.taskType);
      expect(Object.keys(listed ?? {})).not.toContain('startedAt');
      expect(await kg.getExecution('missing')).toBeNull();
    });

    it('returns every execution from getAllExecutionsForTaskType, even more than 1000', async () => {
      const many = Array.from({ length: 1200 }, () => execution());
      await recordAll(kg, [...many, execution({ taskType: 'review' }), execution({ agentId: 'agent-b' })]);
      const all = await kg.getAllExecutionsForTaskType('agent-a', 'coding');
      expect(all).toHaveLength(1200);
      expect(new Set(ids(all))).toEqual(new Set(ids(many)));
      expect(await kg.getAllExecutionsForTaskType('agent-a', 'unknown')).toEqual([]);
    });

    describe('retention', () => {
      const DAY = 86_400_000;
      const day0 = Date.UTC(2026, 2, 1);
      /** `perDay` executions an hour apart on each of `days` UTC days from day0; every third one fails. */
      const spread = (days: number, perDay: number, over: Partial<ExecutionResult> = {}) =>
        Array.from({ length: days * perDay }, (_, i) =>
          execution({
            finishedAt: new Date(
              day0 + Math.floor(i / perDay) * DAY + (i % perDay) * 3_600_000,
            ).toISOString(),
            success: i % 3 !== 0,
            durationMs: 100 + i,
            ...over,
          }),
        );
      const sum = (list: ExecutionResult[], f: (e: ExecutionResult) => number) =>
        list.reduce((total, e) => total + f(e), 0);

      it('rolls up and deletes what is older than the cutoff, keeping each pair’s most recent', async () => {
        const a = spread(3, 10);
        const b = spread(1, 3, { agentId: 'agent-b' });
        await recordAll(kg, [...a, ...b]);
        // Cutoff at the start of day 2 (index 2): days 0 and 1 of agent-a go; agent-b has only 3 ≤ keep.
        expect(await kg.applyRetention(new Date(day0 + 2 * DAY), 5)).toEqual({ deleted: 20, pairs: 1 });
        expect(await kg.countExecutions('agent-a', 'coding')).toBe(10);
        expect(await kg.countExecutions('agent-b', 'coding')).toBe(3);
        expect(ids(await kg.getExecutionsForTaskType('agent-a', 'coding', 100)).sort()).toEqual(
          ids(a.slice(20)).sort(),
        );
        const day = (k: number) => new Date(day0 + k * DAY).toISOString().slice(0, 10);
        const rollup = (list: ExecutionResult[], k: number) => ({
          agentId: 'agent-a',
          taskType: 'coding',
          day: day(k),
          executions: list.length,
          successes: list.filter((e) => e.success).length,
          totalDurationMs: sum(list, (e) => e.durationMs),
        });
        expect(await kg.getDailyRollups('agent-a', 'coding')).toEqual([
          rollup(a.slice(0, 10), 0),
          rollup(a.slice(10, 20), 1),
        ]);
        expect(await kg.getDailyRollups('agent-b', 'coding')).toEqual([]);
        // Idempotent: nothing left to do.
        expect(await kg.applyRetention(new Date(day0 + 2 * DAY), 5)).toEqual({ deleted: 0, pairs: 0 });
        // A later cutoff: `keep` wins over age, and a day already rolled up grows instead of being replaced.
        expect(await kg.applyRetention(new Date(day0 + 30 * DAY), 5)).toEqual({ deleted: 5, pairs: 1 });
        expect(ids(await kg.getExecutionsForTaskType('agent-a', 'coding', 100))).toEqual(
          ids(a.slice(25)).reverse(),
        );
        const rollups = await kg.getDailyRollups('agent-a', 'coding');
        expect(rollups.at(-1)).toEqual(rollup(a.slice(20, 25), 2));
        expect(sum(a, () => 1)).toBe(rollups.reduce((n, r) => n + r.executions, 0) + 5);
        expect(await kg.listProfileKeys()).toEqual([
          { agentId: 'agent-a', taskType: 'coding' },
          { agentId: 'agent-b', taskType: 'coding' },
        ]);
      });

      it('keeps executions tied in finishedAt with the oldest one kept', async () => {
        const at = new Date(day0).toISOString();
        const tied = Array.from({ length: 4 }, () => execution({ finishedAt: at }));
        await recordAll(kg, [execution({ finishedAt: new Date(day0 - DAY).toISOString() }), ...tied]);
        expect(await kg.applyRetention(new Date(day0 + DAY), 2)).toEqual({ deleted: 1, pairs: 1 });
        expect(await kg.countExecutions('agent-a', 'coding')).toBe(4);
      });

      it('counts each execution once when passes run concurrently', async () => {
        await recordAll(kg, spread(4, 24));
        const cutoff = new Date(day0 + 3 * DAY);
        const passes = await Promise.all([1, 2, 3].map(() => kg.applyRetention(cutoff, 5)));
        expect(passes.reduce((n, p) => n + p.deleted, 0)).toBe(72);
        const rollups = await kg.getDailyRollups('agent-a', 'coding');
        expect(rollups.map((r) => r.executions)).toEqual([24, 24, 24]);
        expect(await kg.countExecutions('agent-a', 'coding')).toBe(24);
      });

      it('rejects keeping fewer than one execution per pair', async () => {
        await expect(kg.applyRetention(new Date(), 0)).rejects.toThrow(/at least 1/);
      });

      it('leaves a rebuild equal to the profile of the full history', async () => {
        // 60 days × 4 executions (240, more than the window of 100), retention at 20 days before `now`.
        const all = spread(60, 4);
        await recordAll(kg, all);
        const now = new Date(day0 + 60 * DAY);
        const before = computeExpertise(all, 'coding', now);
        const { deleted } = await kg.applyRetention(new Date(now.getTime() - 20 * DAY));
        expect(deleted).toBe(140); // 240 − the 100 most recent (the 25 most recent days)
        expect(expertiseFromState(await rebuildExpertiseState(kg, 'agent-a', 'coding'), now)).toEqual(before);
        expect(before.learningCurve.length).toBe(29); // days 31–59: now’s own day has none yet
        expect(before.totalExecutions).toBe(240);
      });
    });

    it('logs a decision once per (task, attempt) and reads it back whole', async () => {
      const d = decision();
      expect(await kg.recordDecision(d)).toBe('created');
      expect(await kg.recordDecision({ ...d, chosen: 'agent-b', propensity: 0.25 })).toBe('existed');
      expect(
        await kg.recordDecision({ ...d, attempt: 2, at: new Date(Date.parse(d.at) + 1).toISOString() }),
      ).toBe('created');
      const listed = await kg.listDecisions(new Date(0));
      expect(listed).toEqual([d, { ...d, attempt: 2, at: new Date(Date.parse(d.at) + 1).toISOString() }]);
      expect(listed[0]!.candidates[1]).not.toHaveProperty('expertise');
    });

    it('lists decisions from `since` on, oldest first, with `at` normalised', async () => {
      const base = Date.UTC(2026, 1, 1, 12);
      const late = decision({ taskId: 't-late', at: new Date(base + 2000).toISOString() });
      const early = decision({ taskId: 't-early', at: '2026-02-01T14:00:00+02:00' });
      const before = decision({ taskId: 't-before', at: new Date(base - 1).toISOString() });
      const tieB = decision({ taskId: 't-b', at: new Date(base + 1000).toISOString() });
      const tieA = decision({ taskId: 't-a', at: new Date(base + 1000).toISOString() });
      await Promise.all([late, early, before, tieB, tieA].map((d) => kg.recordDecision(d)));
      const listed = await kg.listDecisions(new Date(base));
      expect(listed.map((d) => d.taskId)).toEqual(['t-early', 't-a', 't-b', 't-late']);
      expect(listed[0]!.at).toBe('2026-02-01T12:00:00.000Z');
      expect(await kg.listDecisions(new Date(base + 5000))).toEqual([]);
    });

    it('answers ping while open and rejects as unavailable once closed', async () => {
      await expect(kg.ping()).resolves.toBeUndefined();
      await kg.close();
      const err = await kg.ping().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isKgUnavailable(err)).toBe(true);
      await expect(kg.close()).resolves.toBeUndefined(); // idempotent (afterEach closes again)
    });
  });
}
