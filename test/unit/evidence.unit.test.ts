/** A result is a claim; evidence is the claim bounded by the worker's own record of the assignment. */
import type { ExecutionResult } from '../../src/domain/index.js';
import { evidenceId, toEvidence } from '../../src/domain/index.js';

const ASSIGNED = '2026-06-15T12:00:00.000Z';
const RECEIVED = new Date('2026-06-15T12:10:00.000Z');
const NOW = new Date('2026-06-15T12:10:01.000Z');
const held = { attempt: 2, taskType: 'coding', assignedAt: ASSIGNED };

function claim(overrides: Partial<ExecutionResult> = {}): ExecutionResult {
  return {
    executionId: 'whatever-the-agent-says',
    taskId: 'task-1',
    agentId: 'coder-1',
    taskType: 'security',
    success: true,
    durationMs: 60_000,
    finishedAt: '2026-06-15T12:05:00.000Z',
    ...overrides,
  };
}

describe('evidenceId', () => {
  it('is one key per (task, attempt, agent), whatever the agent reports', () => {
    expect(evidenceId('task-1', 2, 'coder-1')).toBe('task-1:2:coder-1');
    expect(toEvidence(claim({ executionId: 'a' }), held, RECEIVED, NOW).executionId).toBe(
      toEvidence(claim({ executionId: 'b' }), held, RECEIVED, NOW).executionId,
    );
  });
  it('cannot be made to collide by ids that contain the separator', () => {
    expect(evidenceId('x:1', 2, 'y')).not.toBe(evidenceId('x', 1, '2:y'));
  });
});

describe('toEvidence', () => {
  it('keeps the agent id it reported, but the task type and attempt come from the assignment', () => {
    const evidence = toEvidence(claim(), held, RECEIVED, NOW);
    expect(evidence).toMatchObject({
      executionId: 'task-1:2:coder-1',
      reportedExecutionId: 'whatever-the-agent-says',
      taskType: 'coding',
      attempt: 2,
      success: true,
      finishedAt: '2026-06-15T12:05:00.000Z',
      durationMs: 60_000,
    });
  });
  it('clamps a finish in the future to when the server received the result', () => {
    const evidence = toEvidence(claim({ finishedAt: '9999-12-31T23:59:59Z' }), held, RECEIVED, NOW);
    expect(evidence.finishedAt).toBe(RECEIVED.toISOString());
  });
  it('never lets a result move time past the worker clock, even when the server clock is ahead', () => {
    const serverAhead = new Date(NOW.getTime() + 3_600_000);
    const evidence = toEvidence(claim({ finishedAt: '9999-12-31T23:59:59Z' }), held, serverAhead, NOW);
    expect(evidence.finishedAt).toBe(NOW.toISOString());
  });
  it('clamps a finish before the assignment to the assignment', () => {
    const evidence = toEvidence(
      claim({ finishedAt: '2000-01-01T00:00:00Z', startedAt: '1999-01-01T00:00:00Z' }),
      held,
      RECEIVED,
      NOW,
    );
    expect(evidence.finishedAt).toBe(ASSIGNED);
    expect(evidence.startedAt).toBe(ASSIGNED);
    expect(evidence.durationMs).toBe(0);
  });
  it('bounds the duration by how long the assignment existed', () => {
    const evidence = toEvidence(claim({ durationMs: 1e15 }), held, RECEIVED, NOW);
    expect(evidence.durationMs).toBe(5 * 60_000);
  });
});
