import { describe, expect, it } from '@jest/globals';
import { isKgUnavailable, KgUnavailableError } from '../../src/errors.js';
import type { KnowledgeGraph } from '../../src/kg/knowledge-graph.js';
import { withCrashAfterRecord, withFaultInjection } from '../support/faulty-knowledge-graph.js';
import { MemoryKnowledgeGraph } from '../support/memory-knowledge-graph.js';
import { decision, execution } from './knowledge-graph.conformance.js';

/**
 * One call per method of the port. The mapped type makes a method added to KnowledgeGraph a compile error here
 * until it gets a call, so "every method" cannot silently skip one.
 */
type CallEveryMethod = { [K in keyof KnowledgeGraph]: (kg: KnowledgeGraph) => Promise<unknown> };

function callsFor(e: ReturnType<typeof execution>): CallEveryMethod {
  return {
    recordExecution: (kg) => kg.recordExecution(execution()),
    markProfileApplied: (kg) => kg.markProfileApplied(e.executionId),
    markProfilesApplied: (kg) => kg.markProfilesApplied([e.executionId]),
    isProfileApplied: (kg) => kg.isProfileApplied(e.executionId),
    getExecution: (kg) => kg.getExecution(e.executionId),
    getExecutionsForTaskType: (kg) => kg.getExecutionsForTaskType(e.agentId, e.taskType),
    getAgentExecutions: (kg) => kg.getAgentExecutions(e.agentId),
    getAllExecutionsForTaskType: (kg) => kg.getAllExecutionsForTaskType(e.agentId, e.taskType),
    countExecutions: (kg) => kg.countExecutions(e.agentId, e.taskType),
    listProfileKeys: (kg) => kg.listProfileKeys(),
    applyRetention: (kg) => kg.applyRetention(new Date(0)),
    getDailyRollups: (kg) => kg.getDailyRollups(e.agentId, e.taskType),
    recordDecision: (kg) => kg.recordDecision(decision()),
    listDecisions: (kg) => kg.listDecisions(new Date(0)),
    ping: (kg) => kg.ping(),
    close: (kg) => kg.close(),
  };
}

/** The methods an implementation of the port really has, read at run time from its prototype. */
function methodsOf(instance: object): string[] {
  return Object.getOwnPropertyNames(Object.getPrototypeOf(instance))
    .filter((name) => name !== 'constructor')
    .sort();
}

describe('withFaultInjection', () => {
  it('covers every method of the port: the table, the wrapper and the in-memory adapter agree', () => {
    const inner = new MemoryKnowledgeGraph();
    const table = Object.keys(callsFor(execution())).sort();
    expect(Object.keys(withFaultInjection(inner).kg).sort()).toEqual(table);
    expect(methodsOf(inner)).toEqual(table);
  });

  it('rejects every method with KgUnavailableError while on, and passes through when off', async () => {
    const inner = new MemoryKnowledgeGraph();
    const { kg, setUnavailable } = withFaultInjection(inner);
    const e = execution();
    expect(await kg.recordExecution(e)).toBe('created');

    setUnavailable(true);
    const calls = Object.entries(callsFor(e));
    for (const [method, call] of calls) {
      await expect(call(kg).then(() => method)).rejects.toBeInstanceOf(KgUnavailableError);
    }
    // Nothing reached the store while "down": one execution, not marked, and the store still open.
    expect(await inner.countExecutions(e.agentId, e.taskType)).toBe(1);
    expect(await inner.isProfileApplied(e.executionId)).toBe(false);
    await inner.ping();

    setUnavailable(false);
    for (const [method, call] of calls) {
      if (method === 'close') continue; // last, below: everything after it would reject
      await call(kg);
    }
    expect(await inner.countExecutions(e.agentId, e.taskType)).toBe(2);
    expect(await inner.isProfileApplied(e.executionId)).toBe(true);
    await kg.close();
    await expect(inner.ping()).rejects.toBeInstanceOf(KgUnavailableError);
  });
});

describe('withCrashAfterRecord', () => {
  it('writes through, then fails the call, and passes every other method through', async () => {
    const inner = new MemoryKnowledgeGraph();
    const seen: string[] = [];
    const kg = withCrashAfterRecord(inner, (e) => {
      seen.push(e.executionId);
      throw new Error('crash after the write');
    });
    const e = execution();
    await expect(kg.recordExecution(e)).rejects.toThrow('crash after the write');
    expect(seen).toEqual([e.executionId]);
    expect(await inner.getExecution(e.executionId)).not.toBeNull();
    expect(Object.keys(kg).sort()).toEqual(Object.keys(callsFor(e)).sort());
    await kg.markProfileApplied(e.executionId);
    expect(await inner.isProfileApplied(e.executionId)).toBe(true);
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
