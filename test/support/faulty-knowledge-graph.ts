/**
 * Fault injection for tests, as wrappers of the {@link KnowledgeGraph} port: the worker is handed the wrapper as
 * its KG and cannot tell it from a real one, so no hook or switch has to exist in src/.
 */
import { KgUnavailableError } from '../../src/errors.js';
import type { KnowledgeGraph } from '../../src/kg/knowledge-graph.js';

/** Runs one call of the wrapped store; may refuse it, or act before or after it. */
export type Around = <T>(method: keyof KnowledgeGraph, call: () => Promise<T>) => Promise<T>;

/** Every method of the port, forwarded to `inner` through `around`. */
export function interceptKnowledgeGraph(inner: KnowledgeGraph, around: Around): KnowledgeGraph {
  // A typed object literal: a method added to the port is a compile error here until it is forwarded.
  return {
    recordExecution: (e) => around('recordExecution', () => inner.recordExecution(e)),
    markProfileApplied: (id) => around('markProfileApplied', () => inner.markProfileApplied(id)),
    markProfilesApplied: (ids) => around('markProfilesApplied', () => inner.markProfilesApplied(ids)),
    isProfileApplied: (id) => around('isProfileApplied', () => inner.isProfileApplied(id)),
    getExecution: (id) => around('getExecution', () => inner.getExecution(id)),
    getExecutionsForTaskType: (a, t, limit) =>
      around('getExecutionsForTaskType', () => inner.getExecutionsForTaskType(a, t, limit)),
    getAgentExecutions: (a, limit) => around('getAgentExecutions', () => inner.getAgentExecutions(a, limit)),
    getAllExecutionsForTaskType: (a, t) =>
      around('getAllExecutionsForTaskType', () => inner.getAllExecutionsForTaskType(a, t)),
    countExecutions: (a, t) => around('countExecutions', () => inner.countExecutions(a, t)),
    listProfileKeys: () => around('listProfileKeys', () => inner.listProfileKeys()),
    applyRetention: (before, keep) => around('applyRetention', () => inner.applyRetention(before, keep)),
    getDailyRollups: (a, t) => around('getDailyRollups', () => inner.getDailyRollups(a, t)),
    recordDecision: (d) => around('recordDecision', () => inner.recordDecision(d)),
    listDecisions: (since) => around('listDecisions', () => inner.listDecisions(since)),
    ping: () => around('ping', () => inner.ping()),
    close: () => around('close', () => inner.close()),
  };
}

export interface FaultInjectedKnowledgeGraph {
  kg: KnowledgeGraph;
  setUnavailable(on: boolean): void;
}

/**
 * While "unavailable" is on, every method rejects with {@link KgUnavailableError} without touching the wrapped
 * store (as if the network were cut).
 */
export function withFaultInjection(inner: KnowledgeGraph): FaultInjectedKnowledgeGraph {
  let unavailable = false;
  // Checked at call time, not at wrap time: flipping the switch affects calls made after it.
  const kg = interceptKnowledgeGraph(inner, (_method, call) =>
    unavailable
      ? Promise.reject(new KgUnavailableError('knowledge graph unavailable (fault injected by test)'))
      : call(),
  );
  return {
    kg,
    setUnavailable(on: boolean) {
      unavailable = on;
    },
  };
}

/**
 * recordExecution writes through to `inner`, then runs `after`, whose throw (or process exit) is a crash between
 * the KG write and whatever the caller does next. Every other method passes through.
 */
export function withCrashAfterRecord(
  inner: KnowledgeGraph,
  after: (execution: Parameters<KnowledgeGraph['recordExecution']>[0]) => void | Promise<void>,
): KnowledgeGraph {
  return {
    ...interceptKnowledgeGraph(inner, (_method, call) => call()),
    recordExecution: async (execution) => {
      const outcome = await inner.recordExecution(execution);
      await after(execution);
      return outcome;
    },
  };
}
