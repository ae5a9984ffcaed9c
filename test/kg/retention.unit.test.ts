/**
 * The invariant that makes retention safe: after any retention passes, the profile rebuilt from the KG (rollups
 * plus the rows kept) equals the profile maintained incrementally from every result, delivered in any order with
 * duplicates. Property-based, on the in-memory adapter (the conformance suite holds both adapters to the same
 * retention semantics).
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { ExecutionResult } from '../../src/domain/messages.js';
import {
  applyExecution,
  computeExpertise,
  createExpertiseState,
  expertiseFromState,
  MS_PER_DAY,
} from '../../src/domain/index.js';
import { rebuildExpertiseState } from '../../src/kg/rebuild.js';
import { MemoryKnowledgeGraph } from '../support/memory-knowledge-graph.js';

const NOW = new Date('2026-06-15T12:00:00.000Z');
const HOUR = 3_600_000;

const executionArb = fc.record({
  success: fc.boolean(),
  // Whole milliseconds, as agents report them: day sums are then exact whatever the order of addition.
  durationMs: fc.integer({ min: 0, max: 600_000 }),
  // Up to 60 days back on an hourly grid, so that ties in finishedAt (and within-day rollups) happen often.
  finishedAt: fc
    .integer({ min: 0, max: 60 * 24 })
    .map((hoursAgo) => new Date(NOW.getTime() - hoursAgo * HOUR).toISOString()),
});

// At most 250: redelivered duplicates then stay within the state's dedupe memory (DEDUPE_MEMORY = 256).
const scenarioArb = fc.array(executionArb, { minLength: 0, maxLength: 250 }).chain((records) => {
  const history: ExecutionResult[] = records.map((r, i) => ({
    executionId: `ex-${String(i).padStart(4, '0')}`,
    taskId: `task-${i}`,
    agentId: 'agent-a',
    taskType: 'coding',
    ...r,
  }));
  return fc.record({
    history: fc.constant(history),
    // Delivery: a shuffle of the history with some results delivered again.
    delivery: fc
      .tuple(
        fc.shuffledSubarray(history, { minLength: history.length, maxLength: history.length }),
        fc.array(fc.nat({ max: Math.max(0, history.length - 1) }), { maxLength: 20 }),
      )
      .map(([shuffled, repeats]) => [...shuffled, ...repeats.flatMap((i) => history[i] ?? [])]),
    // Retention passes: cutoffs in days before NOW, applied in the order drawn (a later one may be earlier).
    cutoffsDays: fc.array(fc.integer({ min: 0, max: 61 }), { minLength: 1, maxLength: 3 }),
  });
});

describe('retention keeps rebuild = incremental', () => {
  it('holds for any history, delivery order, duplicates and retention passes', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async ({ history, delivery, cutoffsDays }) => {
        const incremental = delivery.reduce(applyExecution, createExpertiseState('coding'));
        const kg = new MemoryKnowledgeGraph();
        for (const e of delivery) await kg.recordExecution(e);
        let deleted = 0;
        for (const days of cutoffsDays) {
          deleted += (await kg.applyRetention(new Date(NOW.getTime() - days * MS_PER_DAY))).deleted;
        }
        const rebuilt = await rebuildExpertiseState(kg, 'agent-a', 'coding');
        expect(expertiseFromState(rebuilt, NOW)).toEqual(expertiseFromState(incremental, NOW));
        // …and both equal the batch computation over the full history (so neither is wrong in the same way).
        expect(expertiseFromState(rebuilt, NOW)).toEqual(computeExpertise(history, 'coding', NOW));
        // Retention did act whenever it could: only the 100 most recent (plus ties and newer ones) are left.
        expect((await kg.countExecutions('agent-a', 'coding')) + deleted).toBe(history.length);
        await kg.close();
      }),
      { numRuns: 150 },
    );
  });

  it('really deletes: a long history shrinks to the window plus what is newer than the cutoff', async () => {
    const kg = new MemoryKnowledgeGraph();
    for (let i = 0; i < 500; i += 1) {
      await kg.recordExecution({
        executionId: `ex-${i}`,
        taskId: `t-${i}`,
        agentId: 'agent-a',
        taskType: 'coding',
        success: i % 2 === 0,
        durationMs: 10,
        finishedAt: new Date(NOW.getTime() - i * HOUR).toISOString(), // ex-0 is the newest
      });
    }
    // A 2-day retention: 48 executions are newer than the cutoff, fewer than the 100 kept regardless.
    expect(await kg.applyRetention(new Date(NOW.getTime() - 2 * MS_PER_DAY))).toEqual({
      deleted: 400,
      pairs: 1,
    });
    expect(await kg.countExecutions('agent-a', 'coding')).toBe(100);
    const rollups = await kg.getDailyRollups('agent-a', 'coding');
    expect(rollups.reduce((n, r) => n + r.executions, 0)).toBe(400);
    expect(rollups.reduce((n, r) => n + r.successes, 0)).toBe(200);
  });
});
