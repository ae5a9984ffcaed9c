import { pino } from 'pino';
import { MemoryKnowledgeGraph } from '../support/memory-knowledge-graph.js';
import { AppliedMarks } from '../../src/worker/applied-marks.js';

const execution = (executionId: string) => ({
  executionId,
  taskId: `t-${executionId}`,
  agentId: 'a',
  taskType: 'coding',
  success: true,
  durationMs: 1,
  finishedAt: '2026-06-15T12:00:00.000Z',
});

describe('AppliedMarks', () => {
  it('writes marks in batches and flush() waits for them', async () => {
    const kg = new MemoryKnowledgeGraph();
    const calls: number[] = [];
    const markProfilesApplied = kg.markProfilesApplied.bind(kg);
    kg.markProfilesApplied = async (ids) => {
      calls.push(ids.length);
      await markProfilesApplied(ids);
    };
    for (const id of ['x', 'y', 'z']) await kg.recordExecution(execution(id));
    const marks = new AppliedMarks(kg, pino({ level: 'silent' }), 10_000, 2);
    marks.add('x');
    expect(await kg.isProfileApplied('x')).toBe(false); // not yet: waits for the timer or a full batch
    marks.add('y'); // a full batch goes at once
    marks.add('z');
    await marks.flush();
    expect(calls).toEqual([2, 1]);
    for (const id of ['x', 'y', 'z']) expect(await kg.isProfileApplied(id)).toBe(true);
  });

  it('logs and drops a failed batch instead of failing the caller', async () => {
    const kg = new MemoryKnowledgeGraph();
    kg.markProfilesApplied = () => Promise.reject(new Error('down'));
    const warnings: unknown[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => warnings.push(line) });
    const marks = new AppliedMarks(kg, log, 1);
    marks.add('x');
    await expect(marks.flush()).resolves.toBeUndefined();
    expect(String(warnings[0])).toContain('could not mark results applied');
  });
});
