/** Which registered agents may take a task: one rule per test, each shown rejecting and (as control) admitting. */
import type { AgentRegistration, EligibilityInput, TaskArrived } from '../../src/domain/index.js';
import { findEligibleAgents } from '../../src/domain/index.js';
import { NOW } from './given.js';

const HEARTBEAT_TIMEOUT_MS = 30_000;

/** A registered agent whose last heartbeat was `ageMs` before NOW. */
function agent(
  agentId: string,
  overrides: Partial<AgentRegistration> = {},
  ageMs = 1_000,
): AgentRegistration {
  return {
    agentId,
    role: 'developer',
    maxConcurrent: 2,
    heartbeatAt: new Date(NOW.getTime() - ageMs).toISOString(),
    ...overrides,
  };
}

const task: TaskArrived = { taskId: 't-1', title: 'Implement the export' };

/** Given these agents (and in-flight counts), when eligibility is computed for `task`. */
function given(
  agents: AgentRegistration[],
  overrides: Partial<Omit<EligibilityInput, 'agents'>> & { inFlightOf?: Record<string, number> } = {},
) {
  const { inFlightOf = {}, ...rest } = overrides;
  const result = findEligibleAgents({
    task,
    taskType: 'coding',
    agents,
    inFlight: (id) => inFlightOf[id] ?? 0,
    successRate: (id) => (id === 'a' ? 0.9 : 0.5),
    now: NOW,
    heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS,
    ...rest,
  });
  return {
    eligible: result.eligible.map((e) => e.agentId),
    rejected: Object.fromEntries(result.rejected.map((r) => [r.agentId, r.why])),
    result,
  };
}

describe('findEligibleAgents', () => {
  it('admits a live agent with spare capacity, with its load and success rate for scoring', () => {
    const { result } = given([agent('a', { maxConcurrent: 4 })], { inFlightOf: { a: 1 } });
    expect(result).toEqual({
      eligible: [{ agentId: 'a', successRate: 0.9, load: 0.25, maxConcurrent: 4, inFlight: 1 }],
      rejected: [],
    });
  });

  it('rejects an agent whose heartbeat is older than the timeout, and admits one exactly at it', () => {
    const { eligible, rejected } = given([
      agent('stale', {}, HEARTBEAT_TIMEOUT_MS + 1),
      agent('edge', {}, HEARTBEAT_TIMEOUT_MS),
    ]);
    expect(eligible).toEqual(['edge']);
    expect(rejected).toEqual({ stale: 'no heartbeat for 30s' });
  });

  it('rejects an agent whose heartbeat cannot be read (never "alive by default")', () => {
    const { eligible, rejected } = given([agent('garbled', { heartbeatAt: 'yesterday' })]);
    expect(eligible).toEqual([]);
    expect(rejected['garbled']).toMatch(/^no heartbeat/);
  });

  it('rejects an excluded agent (the one the task timed out on)', () => {
    const { eligible, rejected } = given([agent('a'), agent('b')], { exclude: new Set(['a']) });
    expect(eligible).toEqual(['b']);
    expect(rejected).toEqual({ a: 'excluded for this task' });
  });

  it("rejects agents outside the task's candidate list when it has one", () => {
    const { eligible, rejected } = given([agent('a'), agent('b')], {
      task: { ...task, candidates: ['b'] },
    });
    expect(eligible).toEqual(['b']);
    expect(rejected).toEqual({ a: "not in the task's candidates" });
  });

  it('rejects agents of another role when the task requires one', () => {
    const { eligible, rejected } = given([agent('a', { role: 'reviewer' }), agent('b')], {
      task: { ...task, requiredRole: 'developer' },
    });
    expect(eligible).toEqual(['b']);
    expect(rejected).toEqual({ a: 'role reviewer ≠ developer' });
  });

  it('rejects an agent that declares task types without this one; no declaration (or an empty one) takes all', () => {
    const { eligible, rejected } = given([
      agent('a', { taskTypes: ['review'] }),
      agent('b', { taskTypes: ['review', 'coding'] }),
      agent('c', { taskTypes: [] }),
      agent('d'),
    ]);
    expect(eligible).toEqual(['b', 'c', 'd']);
    expect(rejected).toEqual({ a: 'does not take coding' });
  });

  it('rejects an agent at capacity and admits it one slot below', () => {
    const { eligible, rejected } = given([agent('a'), agent('b')], { inFlightOf: { a: 2, b: 1 } });
    expect(eligible).toEqual(['b']);
    expect(rejected).toEqual({ a: 'at capacity (2)' });
  });

  it('reports the first reason that applies, in the order heartbeat, exclusion, candidates, role, type, capacity', () => {
    const { rejected } = given([agent('a', { role: 'reviewer', taskTypes: ['review'] }, 60_000)], {
      task: { ...task, requiredRole: 'developer', candidates: ['b'] },
      exclude: new Set(['a']),
      inFlightOf: { a: 5 },
    });
    expect(rejected).toEqual({ a: 'no heartbeat for 60s' });
  });

  it('orders candidates by agentId whatever the registry order, so ties rank the same on every replica', () => {
    const { eligible } = given([agent('c'), agent('a'), agent('b')]);
    expect(eligible).toEqual(['a', 'b', 'c']);
  });
});
