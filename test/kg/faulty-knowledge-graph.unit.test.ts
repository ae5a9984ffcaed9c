import { describe, expect, it } from '@jest/globals';
import { isKgUnavailable, KgUnavailableError } from '../../src/errors.js';
import { withFaultInjection } from '../../src/kg/faulty-knowledge-graph.js';
import { MemoryKnowledgeGraph } from '../../src/kg/memory-knowledge-graph.js';
import { execution } from './knowledge-graph.conformance.js';

describe('withFaultInjection', () => {
  it('rejects every method with KgUnavailableError while on, and passes through when off', async () => {
    const inner = new MemoryKnowledgeGraph();
    const { kg, setUnavailable } = withFaultInjection(inner);
    const e = execution();
    expect(await kg.recordExecution(e)).toBe('created');

    setUnavailable(true);
    const calls: (() => Promise<unknown>)[] = [
      () => kg.recordExecution(execution()),
      () => kg.markProfileApplied(e.executionId),
      () => kg.isProfileApplied(e.executionId),
      () => kg.getExecution(e.executionId),
      () => kg.getExecutionsForTaskType(e.agentId, e.taskType),
      () => kg.getAgentExecutions(e.agentId),
      () => kg.getAllExecutionsForTaskType(e.agentId, e.taskType),
      () => kg.countExecutions(e.agentId, e.taskType),
      () => kg.listProfileKeys(),
      () => kg.ping(),
      () => kg.close(),
    ];
    for (const call of calls) await expect(call()).rejects.toBeInstanceOf(KgUnavailableError);
    // Nothing reached the store while "down".
    expect(await inner.countExecutions(e.agentId, e.taskType)).toBe(1);
    expect(await inner.isProfileApplied(e.executionId)).toBe(false);

    setUnavailable(false);
    await kg.markProfileApplied(e.executionId);
    expect(await kg.isProfileApplied(e.executionId)).toBe(true);
    await kg.ping();
  });
});

describe('KgUnavailableError', () => {
  it('carries name, code and cause, and is recognised by isKgUnavailable', () => {
    const cause = new Error('socket closed');
    const err = new KgUnavailableError('down', { cause });
    expect(err.name).toBe('KgUnavailableError');
    expect(err.code).toBe('KG_UNAVAILABLE');
    expect(err.cause).toBe(cause);
    expect(isKgUnavailable(err)).toBe(true);
    expect(isKgUnavailable({ code: 'KG_UNAVAILABLE' })).toBe(true);
    expect(isKgUnavailable(new Error('down'))).toBe(false);
    expect(isKgUnavailable(null)).toBe(false);
  });
});
