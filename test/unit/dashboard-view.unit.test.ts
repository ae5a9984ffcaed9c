import { describe, expect, it } from '@jest/globals';
import type { DeadLetterRecord } from '../../src/bus/dead-letter-record.js';
import { applyEvent, dashboardView, emptyState, FEED_LIMIT } from '../../src/dashboard/view.js';
import type { AgentRegistration, Assignment, ExecutionData } from '../../src/domain/index.js';
import {
  applyExecution,
  createExpertiseState,
  createPolicy,
  toProfileRecord,
} from '../../src/domain/index.js';

const NOW = new Date('2026-03-10T12:00:00Z');
const SEED = createPolicy('seed');
const DAY = 86_400_000;

const agent = (
  agentId: string,
  ageMs: number,
  extra: Partial<AgentRegistration> = {},
): AgentRegistration => ({
  agentId,
  role: 'developer',
  maxConcurrent: 4,
  heartbeatAt: new Date(NOW.getTime() - ageMs).toISOString(),
  ...extra,
});

function profile(agentId: string, outcomes: boolean[]) {
  let state = createExpertiseState('review');
  outcomes.forEach((success, i) => {
    const execution: ExecutionData = {
      executionId: `${agentId}-${i}`,
      success,
      durationMs: 1000,
      finishedAt: new Date(NOW.getTime() - (outcomes.length - i) * DAY).toISOString(),
    };
    state = applyExecution(state, execution);
  });
  return toProfileRecord(agentId, state, NOW);
}

const assignment = (taskId: string, agentId: string, policy: Assignment['policy']): Assignment => ({
  taskId,
  agentId,
  taskType: 'review',
  policy,
  score: { base: 0.5, expertise: 0.5, confidence: 0.1, final: 0.42 },
  ranking: [],
  reasoning: `because ${agentId}`,
  assignedAt: NOW.toISOString(),
  attempt: 1,
  task: { taskId, title: 't' },
});

const deadLetter = (seq: number, origin: string, reason: string): DeadLetterRecord => ({
  seq,
  subject: `vapora.dlq.${origin.slice('vapora.'.length)}`,
  origin,
  reason,
  receivedAt: NOW.toISOString(),
  size: 3,
});

describe('dashboard view', () => {
  it('marks an agent gone when its registry entry is older than the heartbeat timeout, and shows load', () => {
    const state = emptyState();
    applyEvent(state, { kind: 'agent', agentId: 'a', value: agent('a', 1_000) });
    applyEvent(state, { kind: 'agent', agentId: 'b', value: agent('b', 60_000) });
    applyEvent(state, {
      kind: 'capacity',
      agentId: 'a',
      value: { agentId: 'a', inFlight: { t1: { at: NOW.toISOString(), deadline: NOW.toISOString() } } },
    });
    const view = dashboardView(state, NOW, 30_000, SEED);
    expect(view.agents.map((a) => [a.agentId, a.alive, a.inFlight, a.heartbeatAgeMs])).toEqual([
      ['a', true, 1, 1_000],
      ['b', false, 0, 60_000],
    ]);
    applyEvent(state, { kind: 'agent', agentId: 'a', value: null });
    expect(dashboardView(state, NOW, 30_000, SEED).agents.map((a) => a.agentId)).toEqual(['b']);
  });

  it('ranks the alive agents with the policy formula and draws one curve point per day', () => {
    const state = emptyState();
    for (const id of ['good', 'poor', 'dead'])
      applyEvent(state, { kind: 'agent', agentId: id, value: agent(id, id === 'dead' ? 99_000 : 0) });
    applyEvent(state, {
      kind: 'profile',
      key: 'good.review',
      value: profile('good', [true, true, true, false]),
    });
    applyEvent(state, { kind: 'profile', key: 'poor.review', value: profile('poor', [false, false, true]) });
    applyEvent(state, {
      kind: 'profile',
      key: 'dead.review',
      value: profile('dead', [true, true, true, true]),
    });
    const [review] = dashboardView(state, NOW, 30_000, SEED).taskTypes;
    expect(review?.taskType).toBe('review');
    // The gone agent has the best history but is not a candidate.
    expect(review?.ranking.map((r) => r.agentId)).toEqual(['good', 'poor']);
    const good = review!.ranking[0]!;
    expect(good.expertiseScore).toBeCloseTo(0.75);
    expect(good.finalScore).toBeCloseTo(0.3 * good.baseScore + 0.5 * 0.75 + 0.2 * (4 / 20));
    expect(review?.curves.find((c) => c.agentId === 'good')?.points.map((p) => p.successRate)).toEqual([
      1, 1, 1, 0,
    ]);
  });

  it("orders the ranking by the policy's own choice probabilities: Thompson gives a newcomer a chance", () => {
    const state = emptyState();
    for (const id of ['good', 'poor', 'new'])
      applyEvent(state, { kind: 'agent', agentId: id, value: agent(id, 0) });
    applyEvent(state, { kind: 'profile', key: 'good.review', value: profile('good', Array(30).fill(true)) });
    applyEvent(state, { kind: 'profile', key: 'poor.review', value: profile('poor', Array(30).fill(false)) });
    const seed = dashboardView(state, NOW, 30_000, SEED).taskTypes[0]!;
    const thompson = dashboardView(state, NOW, 30_000, createPolicy('thompson')).taskTypes[0]!;
    expect(seed.policy).toBe('seed');
    expect(thompson.policy).toBe('thompson');
    // The seed formula is greedy: all on the best; Thompson spreads its probability, and tries the newcomer.
    expect(seed.ranking[0]).toMatchObject({ agentId: 'good', chance: 1 });
    expect(seed.ranking.slice(1).map((r) => r.chance)).toEqual([0, 0]);
    const chance = new Map(thompson.ranking.map((r) => [r.agentId, r.chance]));
    expect(thompson.ranking[0]!.agentId).toBe('good');
    expect(chance.get('new')).toBeGreaterThan(0.01);
    expect(chance.get('new')).toBeGreaterThan(chance.get('poor')!);
    expect([...chance.values()].reduce((a, b) => a + b, 0)).toBeCloseTo(1, 2);
    const order = thompson.ranking.map((r) => r.chance);
    expect(order).toEqual([...order].sort((a, b) => b - a));
  });

  it('leaves out a profile entry it cannot read instead of failing every view', () => {
    const state = emptyState();
    applyEvent(state, { kind: 'agent', agentId: 'good', value: agent('good', 0) });
    applyEvent(state, { kind: 'profile', key: 'good.review', value: profile('good', [true, false]) });
    // A cache entry without the fields the dashboard reads (written by hand, or by an older version).
    const broken = { note: 'not a profile' } as unknown as ReturnType<typeof profile>;
    applyEvent(state, { kind: 'profile', key: 'good.coding', value: broken });
    const view = dashboardView(state, NOW, 30_000, SEED);
    expect(view.taskTypes.map((t) => t.taskType)).toEqual(['review']);
    expect(view.taskTypes[0]?.ranking.map((r) => r.agentId)).toEqual(['good']);
  });

  it('keeps the latest decisions first, and books results to the policy that assigned the task', () => {
    const state = emptyState();
    for (let i = 0; i < FEED_LIMIT + 5; i += 1) {
      applyEvent(state, {
        kind: 'assignment',
        assignment: assignment(`t${i}`, 'a', i % 2 ? 'learned' : 'load-fallback'),
      });
    }
    applyEvent(state, {
      kind: 'assignment',
      assignment: { ...assignment('p', 'a', 'learned'), propensity: 0.25 },
    });
    const result = (taskId: string, success: boolean) => ({
      kind: 'result' as const,
      timeout: false,
      result: {
        taskId,
        agentId: 'a',
        taskType: 'review',
        success,
        durationMs: 5,
        finishedAt: NOW.toISOString(),
        costCents: 10,
      },
    });
    applyEvent(state, result('p', true));
    applyEvent(state, result('t53', false));
    const view = dashboardView(state, NOW, 30_000, SEED);
    expect(view.decisions).toHaveLength(FEED_LIMIT);
    expect(view.decisions[0]).toMatchObject({ taskId: 'p', propensity: 0.25 });
    expect(view.policies).toEqual([
      { policy: 'learned', assignments: 28, results: 2, successRate: 0.5, avgCostCents: 10 },
      { policy: 'load-fallback', assignments: 28, results: 0, successRate: null, avgCostCents: null },
    ]);
    expect(view.results.map((r) => r.policy)).toEqual(['learned', 'learned']);
  });

  it('counts dead letters by origin and reason', () => {
    const state = emptyState();
    applyEvent(state, {
      kind: 'dead-letter',
      record: deadLetter(1, 'vapora.tasks.arrived', 'invalid task: x'),
    });
    applyEvent(state, {
      kind: 'dead-letter',
      record: deadLetter(2, 'vapora.results.a', 'unassigned result'),
    });
    applyEvent(state, {
      kind: 'dead-letter',
      record: deadLetter(3, 'vapora.results.a', 'unassigned result'),
    });
    const { deadLetters } = dashboardView(state, NOW, 30_000, SEED);
    expect(deadLetters.total).toBe(3);
    expect(deadLetters.byOrigin).toEqual([
      { origin: 'vapora.results.a', reason: 'unassigned result', count: 2 },
      { origin: 'vapora.tasks.arrived', reason: 'invalid task: x', count: 1 },
    ]);
    expect(deadLetters.latest.map((d) => d.seq)).toEqual([3, 2, 1]);
  });
});
