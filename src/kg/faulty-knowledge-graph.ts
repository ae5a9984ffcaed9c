/**
 * Test-only fault switch for chaos tests: wraps a {@link KnowledgeGraph} so that, while "unavailable" is on, every
 * method rejects with {@link KgUnavailableError} without touching the wrapped store (as if the network were cut).
 * The worker wires it only when a test-mode env var asks for it; production code never constructs it.
 */
import { KgUnavailableError } from '../errors.js';
import type { KnowledgeGraph } from './knowledge-graph.js';

export interface FaultInjectedKnowledgeGraph {
  kg: KnowledgeGraph;
  setUnavailable(on: boolean): void;
}

export function withFaultInjection(inner: KnowledgeGraph): FaultInjectedKnowledgeGraph {
  let unavailable = false;
  // Checked at call time, not at wrap time: flipping the switch affects calls made after it.
  const guard = <T>(call: () => Promise<T>): Promise<T> =>
    unavailable
      ? Promise.reject(new KgUnavailableError('knowledge graph unavailable (fault injected by test)'))
      : call();

  const kg: KnowledgeGraph = {
    recordExecution: (e) => guard(() => inner.recordExecution(e)),
    markProfileApplied: (id) => guard(() => inner.markProfileApplied(id)),
    markProfilesApplied: (ids) => guard(() => inner.markProfilesApplied(ids)),
    isProfileApplied: (id) => guard(() => inner.isProfileApplied(id)),
    getExecution: (id) => guard(() => inner.getExecution(id)),
    getExecutionsForTaskType: (a, t, limit) => guard(() => inner.getExecutionsForTaskType(a, t, limit)),
    getAgentExecutions: (a, limit) => guard(() => inner.getAgentExecutions(a, limit)),
    getAllExecutionsForTaskType: (a, t) => guard(() => inner.getAllExecutionsForTaskType(a, t)),
    countExecutions: (a, t) => guard(() => inner.countExecutions(a, t)),
    listProfileKeys: () => guard(() => inner.listProfileKeys()),
    ping: () => guard(() => inner.ping()),
    close: () => guard(() => inner.close()),
  };
  return {
    kg,
    setUnavailable(on: boolean) {
      unavailable = on;
    },
  };
}
