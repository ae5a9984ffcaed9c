import {
  AgentRegistrationSchema,
  ExecutionResultSchema,
  TaskArrivedSchema,
  decode,
} from '../../src/index.js';

const result = {
  executionId: 'ex-1',
  taskId: 'task-1',
  agentId: 'agent-1',
  taskType: 'coding',
  success: true,
  durationMs: 1200,
  finishedAt: '2026-06-15T12:00:00.000Z',
};

function problemsOf(payload: unknown): string {
  const decoded = decode(
    ExecutionResultSchema,
    typeof payload === 'string' ? payload : JSON.stringify(payload),
  );
  if (decoded.ok) throw new Error('expected a rejection');
  return decoded.reason;
}

describe('decode', () => {
  it('accepts a valid execution result and keeps its type', () => {
    const decoded = decode(ExecutionResultSchema, new TextEncoder().encode(JSON.stringify(result)));
    expect(decoded).toEqual({ ok: true, value: result });
  });

  it('rejects non-JSON and invalid UTF-8', () => {
    expect(problemsOf('{"executionId": ')).toMatch(/^\/ payload is not JSON/);
    const bad = decode(ExecutionResultSchema, new Uint8Array([0xff, 0xfe, 0x00]));
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.reason).toContain('not valid UTF-8');
  });

  it('names a missing required field', () => {
    const { agentId: _drop, ...missing } = result;
    expect(problemsOf(missing)).toContain('/agentId is required');
  });

  it('names a field of the wrong type', () => {
    expect(problemsOf({ ...result, success: 'yes' })).toContain('/success');
    expect(problemsOf({ ...result, durationMs: '12' })).toContain('/durationMs');
  });

  it('rejects empty ids', () => {
    expect(problemsOf({ ...result, executionId: '' })).toContain('/executionId');
  });

  it.each(['agent.1', 'agent*', 'agent>', 'agent 1', 'agent\t1'])(
    'rejects the subject-illegal id %j',
    (id) => {
      expect(problemsOf({ ...result, agentId: id })).toMatch(/\/agentId .*NATS subject token/);
    },
  );

  it('rejects negative durations', () => {
    expect(problemsOf({ ...result, durationMs: -1 })).toContain('/durationMs');
  });

  it.each(['yesterday', '2026-06-15', '2026-13-45T00:00:00Z', '1718452800'])(
    'rejects the timestamp %j',
    (ts) => {
      expect(problemsOf({ ...result, finishedAt: ts })).toContain('/finishedAt');
    },
  );

  it('rejects quality outside [0,1]', () => {
    expect(problemsOf({ ...result, qualityScore: 1.5 })).toContain('/qualityScore');
    expect(problemsOf({ ...result, qualityScore: -0.1 })).toContain('/qualityScore');
  });

  it('reports several problems at once, one per field', () => {
    const reason = problemsOf({ ...result, success: 1, durationMs: -5, taskId: '' });
    expect(reason).toContain('/success');
    expect(reason).toContain('/durationMs');
    expect(reason).toContain('/taskId');
  });

  it('validates task arrivals and agent registrations', () => {
    expect(decode(TaskArrivedSchema, JSON.stringify({ taskId: 't1', title: 'Fix bug' })).ok).toBe(true);
    const noTitle = decode(TaskArrivedSchema, JSON.stringify({ taskId: 't1' }));
    expect(!noTitle.ok && noTitle.reason).toContain('/title is required');
    const registration = {
      agentId: 'a1',
      role: 'developer',
      maxConcurrent: 2,
      heartbeatAt: '2026-06-15T12:00:00Z',
    };
    expect(decode(AgentRegistrationSchema, JSON.stringify(registration)).ok).toBe(true);
    const zero = decode(AgentRegistrationSchema, JSON.stringify({ ...registration, maxConcurrent: 0 }));
    expect(!zero.ok && zero.reason).toContain('/maxConcurrent');
  });
});
