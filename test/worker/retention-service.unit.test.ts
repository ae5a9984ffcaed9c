import { describe, expect, it } from '@jest/globals';
import { pino } from 'pino';
import { RetentionService, retentionInterval } from '../../src/worker/retention-service.js';
import { withFaultInjection } from '../support/faulty-knowledge-graph.js';
import { MemoryKnowledgeGraph } from '../support/memory-knowledge-graph.js';
import { waitFor } from '../support/wait-for.js';

const NOW = new Date('2026-06-15T12:00:00.000Z');
const log = pino({ level: 'silent' });
/** A logger that counts its warnings (a failed pass logs one). */
function countingLog() {
  const counter = { warnings: 0 };
  return { counter, log: pino({ level: 'warn' }, { write: () => (counter.warnings += 1) }) };
}

async function kgWith(count: number, hoursApart: number) {
  const kg = new MemoryKnowledgeGraph();
  for (let i = 0; i < count; i += 1) {
    await kg.recordExecution({
      executionId: `ex-${i}`,
      taskId: `t-${i}`,
      agentId: 'agent-a',
      taskType: 'coding',
      success: true,
      durationMs: 5,
      finishedAt: new Date(NOW.getTime() - i * hoursApart * 3_600_000).toISOString(),
    });
  }
  return kg;
}

describe('RetentionService', () => {
  it('deletes what finished before clock − retention, beyond the 100 most recent', async () => {
    const kg = await kgWith(150, 1);
    const service = new RetentionService({ kg, retentionMs: 120 * 3_600_000, log, clock: () => NOW });
    // 120 h: executions 121…149 h old are past it (29); all are beyond the 100 most recent, so all go.
    expect(await service.pass()).toEqual({ deleted: 29, pairs: 1 });
    expect(await kg.countExecutions('agent-a', 'coding')).toBe(121);
    expect(await service.pass()).toEqual({ deleted: 0, pairs: 0 });
  });

  it('runs periodically and survives a failed pass', async () => {
    const faulty = withFaultInjection(await kgWith(150, 24));
    faulty.setUnavailable(true);
    const passes: number[] = [];
    const { counter, log: warnLog } = countingLog();
    const service = new RetentionService({
      kg: faulty.kg,
      retentionMs: 86_400_000,
      log: warnLog,
      intervalMs: 20,
      clock: () => NOW,
      onPass: (r) => passes.push(r.deleted),
    });
    service.start();
    await waitFor(() => counter.warnings >= 2, { what: 'two failed passes' });
    expect(passes).toEqual([]);
    faulty.setUnavailable(false);
    await waitFor(() => passes.length >= 2, { what: 'two passes after the KG came back' });
    await service.stop();
    expect(passes[0]).toBe(50);
    expect(passes.slice(1).every((n) => n === 0)).toBe(true);
  });

  it('spaces passes by a quarter of the retention, within 10 s and an hour', () => {
    expect(retentionInterval(120_000)).toBe(30_000);
    expect(retentionInterval(1_000)).toBe(10_000);
    expect(retentionInterval(90 * 86_400_000)).toBe(3_600_000);
  });
});
