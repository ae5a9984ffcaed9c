/** Reassignment of timed-out assignments and of tasks held by a vanished agent, across replicas. */
import type {
  Assignment,
  ExecutionResult,
  TaskCommand,
  TaskStateRecord,
  Unassignable,
} from '../../src/domain/index.js';
import { MAX_ATTEMPTS, decide, fold, reserve } from '../../src/domain/index.js';
import { Kvm } from '@nats-io/kv';
import { headers } from '@nats-io/transport-node';
import { Buckets, Streams, Subjects } from '../../src/bus/subjects.js';
import { waitFor } from '../support/wait-for.js';
import type { Env } from './harness.js';
import { freePort, metric } from '../support/worker-metrics.js';
import {
  keyOf,
  memoryKg,
  publishTask,
  readInFlight,
  readStream,
  startEnv,
  startTestAgent,
  startWorker,
  stopEnv,
} from './harness.js';

let env: Env | undefined;
afterEach(async () => {
  await stopEnv(env);
  env = undefined;
});

const fast = { ASSIGNMENT_TIMEOUT_MS: '800', SWEEP_INTERVAL_MS: '100' };

async function taskState(e: Env, taskId: string): Promise<TaskStateRecord | undefined> {
  const entry = await (await new Kvm(e.js).open(Buckets.tasks)).get(taskId);
  return entry && entry.operation === 'PUT' ? entry.json<TaskStateRecord>() : undefined;
}

/** The task's record once it is completed; reassignment takes a timeout and a sweep, hence the long wait. */
function completed(e: Env, taskId: string, what: string): Promise<TaskStateRecord> {
  return waitFor(
    async () => {
      const s = await taskState(e, taskId);
      return s?.status === 'completed' ? s : undefined;
    },
    { timeoutMs: 20_000, what },
  );
}

/** One fast-timing worker, and a task held by 'stuck', an agent with one slot that never reports. */
async function withStuckTask(taskId: string): Promise<Env> {
  const e = await startEnv();
  env = e;
  await startWorker(e, fast);
  await startTestAgent(e, 'stuck', () => new Promise<never>(() => undefined), { maxConcurrent: 1 });
  await publishTask(e, { taskId, title: 'Implement it' });
  return e;
}

describe('reassignment', () => {
  it('reassigns a task whose result does not arrive in time to another agent, exactly once across two replicas', async () => {
    env = await startEnv();
    const kg = await memoryKg(env);
    await startWorker(env, fast, { kg });
    await startWorker(env, fast, { kg });
    const never = new Promise<never>(() => undefined);
    await startTestAgent(env, 'stuck', () => never, { maxConcurrent: 1 });
    const done: Assignment[] = [];
    // Only 'stuck' is registered at first, so it gets the task.
    await publishTask(env, { taskId: 'slow-1', title: 'Implement it' });
    await waitFor(async () => (await taskState(env!, 'slow-1'))?.agentId === 'stuck', {
      what: 'the first assignment',
    });
    await startTestAgent(env, 'fine', async (a) => {
      done.push(a);
      return { success: true };
    });
    const final = await completed(env, 'slow-1', 'completion by the second agent');
    expect(final.agentId).toBe('fine');
    expect(final.attempt).toBe(2);
    expect(final.history.map((h) => h.status)).toEqual(['assigned', 'timed-out', 'reassigned', 'completed']);
    expect(done.map((a) => [a.taskId, a.attempt])).toEqual([['slow-1', 2]]);
    const assignments = (await readStream(env, Streams.assignments)).map((m) => m.json<Assignment>());
    expect(assignments.map((a) => `${a.agentId}#${a.attempt}`).sort()).toEqual(['fine#2', 'stuck#1']);
    // The timeout counts as a failed execution of the agent that held the task.
    const timeout = await waitFor(
      async () => (await kg.getExecution(keyOf({ taskId: 'slow-1', agentId: 'stuck' }))) ?? undefined,
    );
    expect(timeout).toMatchObject({ agentId: 'stuck', success: false, error: 'timeout' });
    const capacity = await new Kvm(env.js).open(Buckets.capacity);
    await waitFor(
      async () =>
        Object.keys((await capacity.get('stuck'))?.json<{ inFlight: object }>().inFlight ?? {}).length === 0,
      {
        what: 'the stuck reservation to be released',
      },
    );
  });

  it('does not count a result that arrives after its charged timeout, release capacity twice or reassign again', async () => {
    env = await startEnv();
    const kg = await memoryKg(env);
    const port = await freePort();
    await startWorker(env, { ...fast, HTTP_PORT: String(port) }, { kg });
    let release: (() => void) | undefined;
    await startTestAgent(
      env,
      'late',
      () => new Promise((resolve) => (release = () => resolve({ success: true }))),
      { maxConcurrent: 1 },
    );
    await publishTask(env, { taskId: 'late-1', title: 'Write docs' });
    await waitFor(() => release, { what: 'the first agent to start' });
    const taken: Assignment[] = [];
    let hold: (() => void) | undefined;
    await startTestAgent(env, 'second', (a) => {
      taken.push(a);
      return new Promise((resolve) => (hold = () => resolve({ success: true })));
    });
    await waitFor(() => taken.length === 1, { timeoutMs: 15_000, what: 'the reassignment' });
    const lateKey = keyOf({ taskId: 'late-1', agentId: 'late' });
    const timeout = await waitFor(async () => (await kg.getExecution(lateKey)) ?? undefined, {
      what: 'the timeout in the KG',
    });
    release!(); // the first agent finally reports success, after the deadline
    await waitFor(async () => (await metric(port, 'vapora_results_total', { outcome: 'superseded' })) === 1, {
      what: 'the late result to be handled',
    });
    // One outcome for attempt 1: the timeout, not the late success.
    expect(timeout).toMatchObject({ agentId: 'late', success: false, error: 'timeout', attempt: 1 });
    expect(await kg.getExecution(lateKey)).toEqual(timeout);
    expect(await kg.countExecutions('late', 'documentation')).toBe(1);
    expect((await taskState(env, 'late-1'))!.status).toBe('reassigned');
    expect(await readInFlight(env, 'second')).toBe(1); // still held by the live assignee
    hold!();
    await waitFor(async () => (await taskState(env!, 'late-1'))?.status === 'completed');
    const results = (await readStream(env, Streams.results)).map((m) => m.json<ExecutionResult>());
    expect(
      results
        .filter((r) => r.taskId === 'late-1')
        .map((r) => `${r.agentId}#${r.attempt}`)
        .sort(),
    ).toEqual(['late#1', 'late#1', 'second#2']); // the late report, the worker's timeout, the live result
    expect((await readStream(env, Streams.assignments)).length).toBe(2);
  });

  it('still reassigns when a producer published the reassignment request, with a guessable id, before the timeout', async () => {
    env = await withStuckTask('squat-1');
    await waitFor(async () => (await taskState(env!, 'squat-1'))?.agentId === 'stuck');
    // Anyone allowed to publish tasks may do this: a request for attempt 2, early, with another body, under the id
    // a worker that set message ids would use. While attempt 1 is live it is refused (settled, acked).
    const h = headers();
    h.set('Vapora-Attempt', '2');
    h.set('Nats-Msg-Id', 'squat-1.reassign.2');
    const forged = { taskId: 'squat-1', title: 'Write the docs', taskType: 'documentation' };
    await env.js.publish(Subjects.taskArrived, JSON.stringify(forged), { headers: h });
    const done: Assignment[] = [];
    await startTestAgent(env, 'fine', async (a) => {
      done.push(a);
      return { success: true };
    });
    const final = await completed(env, 'squat-1', 'the real reassignment to complete the task');
    expect(final.history.map((h) => h.status)).toEqual(['assigned', 'timed-out', 'reassigned', 'completed']);
    expect(done.map((a) => [a.agentId, a.attempt, a.task.title, a.taskType])).toEqual([
      ['fine', 2, 'Implement it', final.assignment!.taskType],
    ]);
    expect(final.assignment!.taskType).not.toBe('documentation');
  });

  it('takes a reassigned task from its record, not from a forged request that wins the race to it', async () => {
    env = await withStuckTask('rec-1');
    const first = await waitFor(async () => {
      const s = await taskState(env!, 'rec-1');
      return s?.status === 'timed-out' ? s : undefined;
    });
    // Nobody else can take it: the worker's own request is handed back with a growing delay. Meanwhile a forged
    // request for attempt 2 (another title and type, a 1 ms deadline that would get the next agent charged) comes
    // in, with an agent that can take it.
    await new Promise((r) => setTimeout(r, 4_000));
    const got: Assignment[] = [];
    await startTestAgent(env, 'fine', async (a) => {
      got.push(a);
      return { success: true };
    });
    const h = headers();
    h.set('Vapora-Attempt', '2');
    const forged = { taskId: 'rec-1', title: 'Write the docs', taskType: 'documentation', timeoutMs: 1 };
    await env.js.publish(Subjects.taskArrived, JSON.stringify(forged), { headers: h });
    await completed(env, 'rec-1', 'the task to be completed by the new agent');
    expect(got.map((a) => [a.agentId, a.attempt, a.task.title, a.taskType, a.task.timeoutMs])).toEqual([
      ['fine', 2, 'Implement it', first.assignment!.taskType, undefined],
    ]);
  });

  it('releases the slot a resent task reserved while its record was timed out', async () => {
    env = await withStuckTask('p-1');
    await waitFor(async () => (await taskState(env!, 'p-1'))?.status === 'timed-out');
    await waitFor(async () => (await readInFlight(env!, 'stuck')) === 0, {
      what: "'stuck' to be free again",
    });
    // The producer sends the task again under a new message id, with a week-long deadline. Attempt 1 is decided
    // without reading the record, so a slot of 'stuck' is reserved before the record's create is refused.
    const h = headers();
    h.set('Nats-Msg-Id', 'p-1#resend');
    const resent = { taskId: 'p-1', title: 'Implement it', timeoutMs: 604_800_000 };
    await env.js.publish(Subjects.taskArrived, JSON.stringify(resent), { headers: h });
    // 'stuck' has one slot: another task for it is assigned only if that reservation was given back.
    await publishTask(env, { taskId: 'other-1', title: 'Implement that', candidates: ['stuck'] });
    await waitFor(async () => (await taskState(env!, 'other-1'))?.agentId === 'stuck', {
      timeoutMs: 10_000,
      what: "other-1 to get 'stuck'",
    });
    expect((await taskState(env, 'p-1'))!.status).toBe('timed-out');
  });

  it('releases, well before its deadline, a reservation left for a task that is live with another agent', async () => {
    env = await startEnv();
    await startWorker(env, { SWEEP_INTERVAL_MS: '100' });
    const never = () => new Promise<never>(() => undefined);
    await startTestAgent(env, 'holder', never, { maxConcurrent: 2 });
    await startTestAgent(env, 'loser', never, { maxConcurrent: 2 });
    await publishTask(env, { taskId: 'live-1', title: 'Implement it', candidates: ['holder'] });
    await waitFor(async () => (await taskState(env!, 'live-1'))?.agentId === 'holder');
    // What a decision that reserved 'loser' and then lost the write of the record (or crashed) leaves behind.
    const capacity = await new Kvm(env.js).open(Buckets.capacity);
    const left = reserve(undefined, 'loser', 'live-1', 2, new Date(), 600_000);
    if (left.kind !== 'reserved') throw new Error('could not build the reservation');
    await capacity.put('loser', JSON.stringify(left.next));
    await waitFor(async () => (await readInFlight(env!, 'loser')) === 0, {
      timeoutMs: 10_000,
      what: "the leftover reservation on 'loser' to be released",
    });
    expect(await readInFlight(env, 'holder')).toBe(1);
    expect((await taskState(env, 'live-1'))!.agentId).toBe('holder');
  });

  it(`gives a task up, announced as unassignable, when asked for attempt ${MAX_ATTEMPTS + 1}`, async () => {
    env = await startEnv();
    await startWorker(env, fast);
    // A record the worker would have written: the task taken back MAX_ATTEMPTS times, from a different agent each.
    const t0 = Date.now() - 3_600_000;
    const attemptOf = (agentId: string, attempt: number): Assignment => ({
      taskId: 'bounced-1',
      agentId,
      taskType: 'coding',
      policy: 'thompson',
      score: { base: 0, expertise: 0, confidence: 0, final: 0 },
      ranking: [],
      reasoning: 'test',
      assignedAt: new Date(t0 + attempt * 1000).toISOString(),
      attempt,
      task: { taskId: 'bounced-1', title: 'Implement it' },
    });
    let record: TaskStateRecord | null = null;
    for (let k = 1; k <= MAX_ATTEMPTS; k += 1) {
      const when = new Date(t0 + k * 1000);
      const commands: TaskCommand[] = [
        k === 1
          ? { type: 'assign', assignment: attemptOf(`a${k}`, k), firstSeenAt: new Date(t0), at: when }
          : { type: 'reassign', assignment: attemptOf(`a${k}`, k), at: when },
        { type: 'time-out', agentId: `a${k}`, attempt: k, why: 'timeout', countsAsFailure: true, at: when },
      ];
      for (const command of commands) {
        const decision = decide(record, command);
        if (!decision.ok) throw new Error(decision.rejection.reason);
        record = fold(decision.events, record);
      }
    }
    await (await new Kvm(env.js).open(Buckets.tasks)).create('bounced-1', JSON.stringify(record));
    const h = headers();
    h.set('Vapora-Attempt', String(MAX_ATTEMPTS + 1));
    await env.js.publish(Subjects.taskArrived, JSON.stringify({ taskId: 'bounced-1', title: 'x' }), {
      headers: h,
    });
    const final = await waitFor(async () => {
      const state = await taskState(env!, 'bounced-1');
      return state?.status === 'unassignable' ? state : undefined;
    });
    expect(final.history.at(-1)?.note).toMatch(new RegExp(`taken back ${MAX_ATTEMPTS} times`));
    const announced = (await readStream(env, Streams.tasks, 'vapora.tasks.unassignable')).map((m) =>
      m.json<Unassignable>(),
    );
    expect(announced).toHaveLength(1);
    expect(announced[0]).toMatchObject({
      taskId: 'bounced-1',
      task: { title: 'Implement it' },
      firstSeenAt: new Date(t0).toISOString(),
    });
    expect(await readStream(env, Streams.assignments)).toHaveLength(0);
  });

  it('gives a task back when its agent is gone', async () => {
    env = await startEnv();
    await startWorker(env, { SWEEP_INTERVAL_MS: '100' });
    let received = 0;
    const never = () => {
      received += 1;
      return new Promise<never>(() => undefined);
    };
    await startTestAgent(env, 'ghost', never, { maxConcurrent: 2 });
    await publishTask(env, { taskId: 'ghosted', title: 'Review the PR' });
    // Received, not only decided: an assignment the agent never fetched is taken back as undelivered instead.
    await waitFor(() => received === 1, { what: 'the agent to receive the assignment' });
    // The agent vanishes without deregistering: its heartbeat stops and its registration ages.
    const agents = await new Kvm(env.js).open(Buckets.agents);
    const stale = {
      agentId: 'ghost',
      role: 'developer',
      maxConcurrent: 2,
      heartbeatAt: new Date(Date.now() - 120_000).toISOString(),
    };
    await env.agents[0]!.stop(0);
    await agents.put('ghost', JSON.stringify(stale));
    const state = await waitFor(
      async () => {
        const s = await taskState(env!, 'ghosted');
        return s?.status === 'timed-out' || s?.status === 'unassignable' ? s : undefined;
      },
      { timeoutMs: 15_000, what: 'the task to be taken back' },
    );
    expect(state.history.find((h) => h.status === 'timed-out')?.note).toBe('agent gone');
  });
});
