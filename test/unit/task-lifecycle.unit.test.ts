/**
 * The task lifecycle decider: one given/when/then per rule, then properties over random command sequences.
 */
import fc from 'fast-check';
import type {
  Assignment,
  Decision,
  TaskCommand,
  TaskEvent,
  TaskStateRecord,
  TimeoutReason,
} from '../../src/domain/index.js';
import {
  MAX_ATTEMPTS,
  TRANSITIONS,
  canMove,
  decide,
  evolve,
  fold,
  holderOf,
  isLive,
} from '../../src/domain/index.js';
import { IllegalTransitionError } from '../../src/errors.js';

const T0 = new Date('2026-06-15T12:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

function assignment(agentId: string, attempt: number, when = T0): Assignment {
  return {
    taskId: 'task-1',
    agentId,
    taskType: 'coding',
    policy: 'learned',
    score: { base: 0.5, expertise: 0.5, confidence: 0.5, final: 0.5 },
    ranking: [],
    reasoning: 'test',
    assignedAt: when.toISOString(),
    attempt,
    task: { taskId: 'task-1', title: 'Implement it' },
  };
}

const assign = (agentId: string, seconds = 0): TaskCommand => ({
  type: 'assign',
  assignment: assignment(agentId, 1, at(seconds)),
  firstSeenAt: T0,
  at: at(seconds),
});
const reassign = (agentId: string, attempt: number, seconds = 0): TaskCommand => ({
  type: 'reassign',
  assignment: assignment(agentId, attempt, at(seconds)),
  at: at(seconds),
});
const timeOut = (
  agentId: string,
  attempt: number,
  why: TimeoutReason = 'timeout',
  countsAsFailure = true,
): TaskCommand => ({ type: 'time-out', agentId, attempt, why, countsAsFailure, at: at(60) });
const complete = (agentId: string, attempt: number, success = true): TaskCommand => ({
  type: 'complete',
  agentId,
  attempt,
  success,
  at: at(30),
});
/** A result the server received `receivedSeconds` after T0 (the timeouts above happen at 60). */
const acceptResult = (
  agentId: string,
  attempt: number,
  receivedSeconds = 30,
  timeout = false,
): TaskCommand => ({
  type: 'accept-result',
  agentId,
  attempt,
  receivedAt: at(receivedSeconds),
  timeout,
  at: at(receivedSeconds),
});
const giveUp = (): TaskCommand => ({
  type: 'give-up',
  taskId: 'task-1',
  reason: 'nobody',
  firstSeenAt: T0,
  at: at(300),
});

/** Given these commands were accepted in order, the state they led to. */
function given(...commands: TaskCommand[]): TaskStateRecord | null {
  let state: TaskStateRecord | null = null;
  for (const command of commands) {
    const decision = decide(state, command);
    if (!decision.ok) throw new Error(`given: ${command.type} was refused: ${decision.rejection.reason}`);
    state = fold(decision.events, state);
  }
  return state;
}

function events(decision: Decision): TaskEvent[] {
  if (!decision.ok)
    throw new Error(`expected acceptance, got ${decision.rejection.code}: ${decision.rejection.reason}`);
  return decision.events;
}

function rejection(decision: Decision): string {
  if (decision.ok)
    throw new Error(`expected a rejection, got ${decision.events.map((e) => e.type).join(', ')}`);
  return decision.rejection.code;
}

describe('the transition table', () => {
  it('lets nothing out of a final status and nothing but assign or give up out of none', () => {
    expect(TRANSITIONS.completed).toEqual([]);
    expect(TRANSITIONS.unassignable).toEqual([]);
    expect([...TRANSITIONS.none].sort()).toEqual(['assigned', 'unassignable']);
    expect(canMove('completed', 'reassigned')).toBe(false);
    expect(canMove('timed-out', 'reassigned')).toBe(true);
  });

  it('evolve throws on an event the table forbids', () => {
    const done = given(assign('a'), complete('a', 1));
    const stray: TaskEvent = {
      type: 'timed-out',
      agentId: 'a',
      attempt: 1,
      why: 'timeout',
      charged: true,
      at: at(90).toISOString(),
    };
    expect(() => evolve(done, stray)).toThrow(IllegalTransitionError);
  });
});

describe('arrive', () => {
  it('wants attempt 1 of an unknown task', () => {
    expect(events(decide(null, { type: 'arrive', attempt: 1, at: T0 }))).toEqual([]);
  });
  it('refuses attempt 1 once the task has a record (a duplicate arrival)', () => {
    expect(rejection(decide(given(assign('a')), { type: 'arrive', attempt: 1, at: T0 }))).toBe(
      'already-decided',
    );
  });
  it('wants attempt n only right after attempt n − 1 timed out', () => {
    const timedOut = given(assign('a'), timeOut('a', 1));
    expect(events(decide(timedOut, { type: 'arrive', attempt: 2, at: T0 }))).toEqual([]);
    expect(rejection(decide(timedOut, { type: 'arrive', attempt: 3, at: T0 }))).toBe('already-decided');
    expect(rejection(decide(null, { type: 'arrive', attempt: 2, at: T0 }))).toBe('unknown-task');
  });
});

describe('assign and reassign', () => {
  it('given no record, when assigned, then the agent holds attempt 1 live', () => {
    const state = given(assign('a'));
    expect(state).toMatchObject({ status: 'assigned', agentId: 'a', attempt: 1 });
    expect(holderOf(state!, 1)).toMatchObject({ agentId: 'a', assignedAt: T0.toISOString() });
  });
  it('given a live assignment, when another replica assigns, then it is refused', () => {
    expect(rejection(decide(given(assign('a')), assign('b')))).toBe('already-decided');
  });
  it('given a timeout, when reassigned to another agent, then that agent holds attempt 2', () => {
    const state = given(assign('a'), timeOut('a', 1), reassign('b', 2, 70));
    expect(state).toMatchObject({ status: 'reassigned', agentId: 'b', attempt: 2 });
    expect(holderOf(state!, 1)?.agentId).toBe('a');
    expect(holderOf(state!, 2)?.agentId).toBe('b');
  });
  it('never reassigns to an agent the task timed out on', () => {
    expect(rejection(decide(given(assign('a'), timeOut('a', 1)), reassign('a', 2)))).toBe('excluded-agent');
  });
  it('never reassigns a completed task', () => {
    expect(rejection(decide(given(assign('a'), complete('a', 1)), reassign('b', 2)))).toBe('already-decided');
  });
});

describe('a task taken back many times', () => {
  /** Attempts 1..n, each held by agent a<k> and timed out. */
  function bounced(n: number): TaskStateRecord {
    const commands: TaskCommand[] = [assign('a1'), timeOut('a1', 1)];
    for (let k = 2; k <= n; k += 1) commands.push(reassign(`a${k}`, k), timeOut(`a${k}`, k));
    return given(...commands)!;
  }

  it('still never goes back to its first agent after more timeouts than the history keeps', () => {
    const state = bounced(30); // 60 history entries; the history keeps the last 50
    expect(state.history.some((h) => h.agentId === 'a1')).toBe(false);
    expect(rejection(decide(state, reassign('a1', 31)))).toBe('excluded-agent');
    expect(events(decide(state, reassign('fresh', 31)))).toHaveLength(1);
  });

  it(`is given up, not assigned again, after MAX_ATTEMPTS (${MAX_ATTEMPTS}) attempts`, () => {
    const state = bounced(MAX_ATTEMPTS);
    expect(rejection(decide(state, { type: 'arrive', attempt: MAX_ATTEMPTS + 1, at: at(90) }))).toBe(
      'attempts-exhausted',
    );
    expect(
      events(decide(bounced(MAX_ATTEMPTS - 1), { type: 'arrive', attempt: MAX_ATTEMPTS, at: at(90) })),
    ).toEqual([]);
    expect(events(decide(state, giveUp()))[0]).toMatchObject({ type: 'gave-up' });
  });
});

describe('results', () => {
  it('counts a result only from the agent that held that attempt', () => {
    const state = given(assign('a'), timeOut('a', 1), reassign('b', 2));
    expect(events(decide(state, acceptResult('a', 1)))).toEqual([]);
    expect(events(decide(state, acceptResult('b', 2)))).toEqual([]);
    expect(rejection(decide(state, acceptResult('a', 2)))).toBe('not-held');
    expect(rejection(decide(state, acceptResult('c', 1)))).toBe('not-held');
    expect(rejection(decide(state, acceptResult('b', 3)))).toBe('not-held');
    expect(rejection(decide(null, acceptResult('a', 1)))).toBe('unknown-task');
  });
  it('given a live attempt, when its holder completes, then the task is completed', () => {
    const state = given(assign('a'), complete('a', 1, false));
    expect(state).toMatchObject({ status: 'completed', agentId: 'a' });
    expect(state!.history.at(-1)).toMatchObject({ status: 'completed', note: 'failed', attempt: 1 });
  });
  it('a charged timeout is the outcome of its attempt: a result received after it does not count', () => {
    const state = given(assign('a'), timeOut('a', 1), reassign('b', 2));
    expect(rejection(decide(state, acceptResult('a', 1, 61)))).toBe('superseded');
    expect(events(decide(state, acceptResult('a', 1, 59)))).toEqual([]); // reached the server in time
    expect(events(decide(state, acceptResult('a', 1, 61, true)))).toEqual([]); // the worker's own timeout record
  });
  it('an uncharged timeout leaves the late result as the evidence, and is no evidence itself', () => {
    const undelivered = given(assign('a'), timeOut('a', 1, 'undelivered'));
    const notCounted = given(assign('a'), timeOut('a', 1, 'timeout', false));
    for (const state of [undelivered, notCounted]) {
      expect(events(decide(state, acceptResult('a', 1, 61)))).toEqual([]);
      expect(rejection(decide(state, acceptResult('a', 1, 61, true)))).toBe('already-decided');
    }
  });
  it('a live attempt has no timeout to count', () => {
    expect(rejection(decide(given(assign('a')), acceptResult('a', 1, 30, true)))).toBe('already-decided');
  });
  it('a late result for a taken-back attempt is evidence but does not complete the task', () => {
    const state = given(assign('a'), timeOut('a', 1), reassign('b', 2));
    expect(events(decide(state, complete('a', 1)))).toEqual([]);
  });
  it('a repeated completion changes nothing', () => {
    expect(events(decide(given(assign('a'), complete('a', 1)), complete('a', 1)))).toEqual([]);
  });
});

describe('time out', () => {
  it('charges the agent for an assignment it received, not for one never delivered', () => {
    const [charged] = events(decide(given(assign('a')), timeOut('a', 1, 'timeout')));
    const [free] = events(decide(given(assign('a')), timeOut('a', 1, 'undelivered')));
    expect(charged).toMatchObject({ type: 'timed-out', charged: true });
    expect(free).toMatchObject({ type: 'timed-out', charged: false });
    expect(holderOf(evolve(given(assign('a')), free!), 1)?.charged).toBe(false);
  });
  it('is idempotent: a second sweep of the same attempt changes nothing', () => {
    expect(events(decide(given(assign('a'), timeOut('a', 1)), timeOut('a', 1)))).toEqual([]);
  });
  it('refuses to take back a completed task or one held by someone else', () => {
    expect(rejection(decide(given(assign('a'), complete('a', 1)), timeOut('a', 1)))).toBe('already-decided');
    expect(rejection(decide(given(assign('a')), timeOut('b', 1)))).toBe('not-held');
  });
});

describe('deliver', () => {
  it('marks the live attempt as received', () => {
    const state = given(assign('a'), { type: 'deliver', attempt: 1, at: at(1) });
    expect(holderOf(state!, 1)?.deliveredAt).toBe(at(1).toISOString());
    expect(rejection(decide(state, { type: 'deliver', attempt: 2, at: at(1) }))).toBe('already-decided');
  });
});

describe('give up', () => {
  it('gives up a task never assigned or timed out, and nothing live or done', () => {
    expect(given(giveUp())).toMatchObject({ status: 'unassignable', attempt: 0, taskId: 'task-1' });
    expect(given(assign('a'), timeOut('a', 1), giveUp())).toMatchObject({ status: 'unassignable' });
    expect(rejection(decide(given(assign('a')), giveUp()))).toBe('already-decided');
    expect(rejection(decide(given(giveUp()), assign('a')))).toBe('already-decided');
  });
});

describe('legacy records (written before holders were kept)', () => {
  it('still know the latest holder', () => {
    const { holders: _dropped, ...legacy } = given(assign('a'))!;
    expect(events(decide(legacy, acceptResult('a', 1)))).toEqual([]);
    expect(rejection(decide(legacy, acceptResult('b', 1)))).toBe('not-held');
    expect(fold(events(decide(legacy, complete('a', 1))), legacy)).toMatchObject({ status: 'completed' });
  });
});

describe('properties over random command sequences', () => {
  const agents = ['a', 'b', 'c'];
  const command = fc.oneof(
    fc.constantFrom(...agents).map((agent) => ({ kind: 'assign' as const, agent })),
    fc.record({
      kind: fc.constant('reassign' as const),
      agent: fc.constantFrom(...agents),
      attempt: fc.integer({ min: 1, max: 5 }),
    }),
    fc.record({
      kind: fc.constant('complete' as const),
      agent: fc.constantFrom(...agents),
      attempt: fc.integer({ min: 1, max: 5 }),
      success: fc.boolean(),
    }),
    fc.record({
      kind: fc.constant('time-out' as const),
      agent: fc.constantFrom(...agents),
      attempt: fc.integer({ min: 1, max: 5 }),
      why: fc.constantFrom<TimeoutReason>('timeout', 'agent-gone', 'undelivered'),
    }),
    fc.record({
      kind: fc.constant('result' as const),
      agent: fc.constantFrom(...agents),
      attempt: fc.integer({ min: 1, max: 5 }),
    }),
    fc.record({ kind: fc.constant('deliver' as const), attempt: fc.integer({ min: 1, max: 5 }) }),
    fc.constant({ kind: 'give-up' as const }),
  );
  type Spec = typeof command extends fc.Arbitrary<infer T> ? T : never;

  function toCommand(spec: Spec, step: number): TaskCommand {
    switch (spec.kind) {
      case 'assign':
        return assign(spec.agent, step);
      case 'reassign':
        return reassign(spec.agent, spec.attempt, step);
      case 'complete':
        return complete(spec.agent, spec.attempt, spec.success);
      case 'time-out':
        return timeOut(spec.agent, spec.attempt, spec.why);
      case 'result':
        return acceptResult(spec.agent, spec.attempt);
      case 'deliver':
        return { type: 'deliver', attempt: spec.attempt, at: at(step) };
      case 'give-up':
        return giveUp();
    }
  }

  it('keeps every invariant of the lifecycle', () => {
    fc.assert(
      fc.property(fc.array(command, { maxLength: 40 }), (specs) => {
        let state: TaskStateRecord | null = null;
        // An independent model: who each accepted assignment went to, and whether anything finished the task.
        const heldBy = new Map<number, string>();
        const timedOutOn = new Set<string>();
        let finished = false;
        specs.forEach((spec, step) => {
          const cmd = toCommand(spec, step);
          const decision = decide(state, cmd);
          if (cmd.type === 'accept-result' || cmd.type === 'complete') {
            // A result counts only for an agent that held the task at that attempt.
            expect(decision.ok).toBe(heldBy.get(cmd.attempt) === cmd.agentId);
          }
          if (!decision.ok) return;
          for (const event of decision.events) {
            if (event.type === 'assigned') {
              expect(finished).toBe(false); // a completed or given-up task is never (re)assigned
              expect(timedOutOn.has(event.agentId)).toBe(false);
              expect(event.attempt).toBe(heldBy.size + 1); // attempts are consecutive: one live at a time
              heldBy.set(event.attempt, event.agentId);
            }
            if (event.type === 'timed-out') timedOutOn.add(event.agentId);
            if (event.type === 'completed' || event.type === 'gave-up') finished = true;
            state = evolve(state, event); // throws on an illegal transition
          }
          if (state !== null) {
            const current: TaskStateRecord = state;
            // At most one live assignment, and it is the latest one.
            if (isLive(current)) expect(current.agentId).toBe(heldBy.get(current.attempt));
            expect(current.attempt).toBe(heldBy.size);
          }
        });
      }),
      { numRuns: 2_000 },
    );
  });
});
