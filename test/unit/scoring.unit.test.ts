import type { AgentCandidate, LearningProfile, TaskTypeExpertise } from '../../src/index.js';
import {
  addTaskTypeExpertise,
  applyExecution,
  chooseAgent,
  computeExpertise,
  createExpertiseState,
  createLearningProfile,
  rankAgents,
  rankAgentsWithRecency,
  selectBest,
  updateProfileWithLearning,
} from '../../src/index.js';
import { NOW, execution } from './given.js';

function expertise(
  taskType: string,
  successRate: number,
  recentSuccessRate: number,
  total: number,
): TaskTypeExpertise {
  return {
    ...computeExpertise([], taskType, NOW),
    totalExecutions: total,
    windowSize: Math.min(100, total),
    successRate,
    recentSuccessRate,
    confidence: Math.min(1, total / 20),
  };
}

function profile(agentId: string, ...items: TaskTypeExpertise[]): LearningProfile {
  return items.reduce(addTaskTypeExpertise, createLearningProfile(agentId));
}

const candidates: AgentCandidate[] = [
  { agentId: 'a', successRate: 0.8, load: 0.5 },
  { agentId: 'b', successRate: 0.6, load: 0 },
  { agentId: 'c', successRate: 0.9, load: 1 },
];

describe('rankAgents', () => {
  it('applies 0.3·base + 0.5·expertise + 0.2·confidence on hand-computed numbers', () => {
    const profiles = new Map([
      ['a', profile('a', expertise('coding', 0.9, 0.5, 10))],
      ['b', profile('b', expertise('coding', 0.5, 0.9, 40))],
    ]);
    const ranking = rankAgents(candidates, 'coding', profiles);
    // a: base 0.8/1.5 = 0.53333, final = 0.16 + 0.45 + 0.1 = 0.71
    // b: base 0.6/1 = 0.6, final = 0.18 + 0.25 + 0.2 = 0.63
    // c: base 0.9/2 = 0.45, no profile → final = 0.135
    expect(ranking.map((s) => s.agentId)).toEqual(['a', 'b', 'c']);
    expect(ranking[0]!.baseScore).toBeCloseTo(0.8 / 1.5, 12);
    expect(ranking[0]!.finalScore).toBeCloseTo(0.71, 12);
    expect(ranking[1]!.finalScore).toBeCloseTo(0.63, 12);
    expect(ranking[2]).toMatchObject({ expertiseScore: 0, confidence: 0, hasData: false });
    expect(ranking[2]!.finalScore).toBeCloseTo(0.135, 12);
    expect(ranking[0]!.reasoning).toContain('0.710');
    expect(ranking[2]!.reasoning).toContain('no history');
  });

  it('accepts profiles as a plain object', () => {
    const ranking = rankAgents(candidates, 'coding', { c: profile('c', expertise('coding', 1, 1, 20)) });
    expect(ranking[0]!.agentId).toBe('c');
  });

  it('ignores expertise of other task types', () => {
    const ranking = rankAgents(candidates, 'review', { c: profile('c', expertise('coding', 1, 1, 20)) });
    expect(ranking.every((s) => s.expertiseScore === 0 && s.confidence === 0)).toBe(true);
  });

  it('keeps input order on ties', () => {
    const same: AgentCandidate[] = ['x', 'y', 'z'].map((agentId) => ({ agentId, successRate: 0.5, load: 0 }));
    expect(rankAgents(same, 'coding', {}).map((s) => s.agentId)).toEqual(['x', 'y', 'z']);
    expect(rankAgents([...same].reverse(), 'coding', {}).map((s) => s.agentId)).toEqual(['z', 'y', 'x']);
  });

  it('does not inherit properties of Object.prototype as profiles', () => {
    const ranking = rankAgents([{ agentId: 'constructor', successRate: 1, load: 0 }], 'coding', {});
    expect(ranking[0]!.hasData).toBe(false);
  });
});

describe('rankAgentsWithRecency', () => {
  it('uses recentSuccessRate as expertise', () => {
    const profiles = {
      a: profile('a', expertise('coding', 0.9, 0.5, 10)),
      b: profile('b', expertise('coding', 0.5, 0.9, 10)),
    };
    const ranking = rankAgentsWithRecency(candidates.slice(0, 2), 'coding', profiles, NOW);
    expect(ranking[0]!.agentId).toBe('b');
    expect(ranking.find((s) => s.agentId === 'b')!.expertiseScore).toBe(0.9);
  });

  it('recomputes recency at `now` when the profile carries the incremental state', () => {
    const state = [execution(1, false), execution(20, true)].reduce(
      applyExecution,
      createExpertiseState('coding'),
    );
    const p: LearningProfile = { agentId: 'a', expertise: {}, states: { coding: state } };
    const now = rankAgentsWithRecency([candidates[0]!], 'coding', { a: p }, NOW)[0]!;
    const later = rankAgentsWithRecency(
      [candidates[0]!],
      'coding',
      { a: p },
      new Date(NOW.getTime() + 30 * 86_400_000),
    )[0]!;
    expect(later.expertiseScore).toBeGreaterThan(now.expertiseScore);
  });
});

describe('selectBest', () => {
  it('is the first of the ranking, undefined without candidates', () => {
    const profiles = { b: profile('b', expertise('coding', 1, 1, 20)) };
    expect(selectBest(candidates, 'coding', profiles)?.agentId).toBe('b');
    expect(selectBest([], 'coding', profiles)).toBeUndefined();
  });
});

describe('chooseAgent', () => {
  it('returns null for no candidates', () => {
    expect(chooseAgent('coding', [], {})).toBeNull();
  });

  it('falls back to the lowest load when no candidate has data for the task type', () => {
    const decision = chooseAgent('coding', candidates, { c: profile('c', expertise('review', 1, 1, 20)) });
    expect(decision).toMatchObject({ agentId: 'b', mode: 'load-fallback' });
    expect(decision!.ranking.map((s) => s.agentId)).toEqual(['b', 'a', 'c']);
    expect(decision!.reasoning).toContain('least-loaded');
  });

  it('breaks load ties in the fallback by input order', () => {
    const tied: AgentCandidate[] = [
      { agentId: 'p', successRate: 0.1, load: 0.5 },
      { agentId: 'q', successRate: 0.9, load: 0.5 },
    ];
    expect(chooseAgent('coding', tied, {})!.agentId).toBe('p');
  });

  it('uses the learned ranking as soon as one candidate has data', () => {
    const decision = chooseAgent('coding', candidates, { c: profile('c', expertise('coding', 1, 1, 20)) });
    expect(decision).toMatchObject({ agentId: 'c', mode: 'learned' });
  });

  it('selects the recency variant with useRecency', () => {
    const profiles = {
      a: profile('a', expertise('coding', 0.9, 0.1, 20)),
      b: profile('b', expertise('coding', 0.5, 0.9, 20)),
    };
    expect(chooseAgent('coding', candidates.slice(0, 2), profiles)!.agentId).toBe('a');
    expect(
      chooseAgent('coding', candidates.slice(0, 2), profiles, { useRecency: true, now: NOW })!.agentId,
    ).toBe('b');
  });
});

describe('profile adapter', () => {
  it('adds expertise without mutating the input profile', () => {
    const empty = createLearningProfile('a');
    const withCoding = addTaskTypeExpertise(empty, expertise('coding', 0.7, 0.7, 5));
    expect(empty.expertise).toEqual({});
    expect(withCoding.expertise['coding']!.successRate).toBe(0.7);
    expect(withCoding.agentId).toBe('a');
  });

  it('takes the swarm success rate from learned expertise when there is any', () => {
    const swarm = { agentId: 'a', successRate: 0.5, load: 0.2, role: 'developer' };
    const learned = profile('a', expertise('coding', 0.95, 0.9, 30), expertise('review', 0, 0, 0));
    expect(updateProfileWithLearning(swarm, learned, 'coding')).toEqual({ ...swarm, successRate: 0.95 });
    expect(updateProfileWithLearning(swarm, learned, 'review')).toBe(swarm);
    expect(updateProfileWithLearning(swarm, learned, 'testing')).toBe(swarm);
  });
});
