/** The assigner against a real nats-server and embedded SurrealDB: decisions, fallback, give-up, capacity. */
import { Kvm, KvWatchInclude } from '@nats-io/kv';
import type { Assignment, CapacityRecord, TaskStateRecord, Unassignable } from '../../src/domain/index.js';
import { HOLD_FOR_ROOM_MS } from '../../src/worker/assigner.js';
import { inFlightCount } from '../../src/domain/index.js';
import { Buckets, Streams } from '../../src/bus/subjects.js';
import { waitFor } from '../support/wait-for.js';
import { freePort, metric } from '../support/worker-metrics.js';
import type { Env } from './harness.js';
import {
  publishResult,
  publishTask,
  readInFlight,
  readProfile,
  readStream,
  result,
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

const assignments = async (e: Env) =>
  (await readStream(e, Streams.assignments)).map((m) => m.json<Assignment>());

describe('assigner', () => {
  it('with a roster, offers no task to an agent off it, even one with a live registry entry', async () => {
    env = await startEnv();
    await startWorker(env, { AGENTS: 'a1:developer:4' });
    let ran = 0;
    await startTestAgent(env, 'a1', () => {
      ran += 1;
      return Promise.resolve({ success: true });
    });
    // An agent taken off the roster: its entry is still in the registry, fresh and roomier than a1.
    const ghost = {
      agentId: 'ghost',
      role: 'developer',
      maxConcurrent: 100,
      heartbeatAt: new Date().toISOString(),
    };
    await (await new Kvm(env.js).open(Buckets.agents)).put('ghost', JSON.stringify(ghost));
    for (let i = 0; i < 12; i += 1)
      await publishTask(env, { taskId: `r-${i}`, title: 'Implement the export' });
    await waitFor(() => ran === 12, { timeoutMs: 20_000, what: 'a1 to run every task' });
    const published = await assignments(env);
    expect(published).toHaveLength(12);
    expect(published.filter((a) => a.agentId !== 'a1')).toEqual([]);
  });

  it('turns one published task into exactly one assignment event', async () => {
    env = await startEnv();
    await startWorker(env);
    const seen: string[] = [];
    await startTestAgent(env, 'solo', async (a) => {
      seen.push(a.taskId);
      return { success: true };
    });
    await publishTask(env, { taskId: 't-1', title: 'Implement the login endpoint' });
    // Publishing the same task again (same Nats-Msg-Id) must not create a second assignment.
    await publishTask(env, { taskId: 't-1', title: 'Implement the login endpoint' });
    await waitFor(() => seen.length === 1, { what: 'the agent to receive the task' });
    const published = await assignments(env);
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({
      taskId: 't-1',
      agentId: 'solo',
      taskType: 'coding',
      mode: 'load-fallback',
      attempt: 1,
    });
    expect(published[0]!.reasoning).toContain('least-loaded');
  });

  it('falls back to the least-loaded agent when nobody has history for the task type', async () => {
    env = await startEnv();
    await startWorker(env);
    const release: (() => void)[] = [];
    const blocking = async () =>
      new Promise<{ success: boolean }>((r) => release.push(() => r({ success: true })));
    await startTestAgent(env, 'busy', blocking, { maxConcurrent: 4 });
    await startTestAgent(env, 'idle', blocking, { maxConcurrent: 4 });
    // Occupy 'busy' with two tasks it alone may take.
    await publishTask(env, { taskId: 'b-1', title: 'Write docs', candidates: ['busy'] });
    await publishTask(env, { taskId: 'b-2', title: 'Write docs', candidates: ['busy'] });
    await waitFor(async () => (await readInFlight(env!, 'busy')) === 2, { what: 'busy to hold two tasks' });
    await publishTask(env, { taskId: 'x-1', title: 'Review the pull request' });
    const x = await waitFor(async () => (await assignments(env!)).find((a) => a.taskId === 'x-1'));
    expect(x).toMatchObject({ agentId: 'idle', mode: 'load-fallback', taskType: 'review' });
    release.forEach((r) => r());
  });

  it('keeps handlers for tasks another agent can take now while tasks for a full agent wait for its slot', async () => {
    env = await startEnv();
    // Two handlers. A task waiting for a full agent's slot gives its handler back, so the others go on serving.
    await startWorker(env, { WORKER_CONCURRENCY: '2' });
    const never = () => new Promise<never>(() => undefined);
    await startTestAgent(env, 'full', never, { maxConcurrent: 1 });
    await startTestAgent(env, 'free', never, { maxConcurrent: 4 });
    await publishTask(env, { taskId: 'f-0', title: 'Write docs', candidates: ['full'] });
    await waitFor(async () => (await readInFlight(env!, 'full')) === 1, { what: "'full' to be full" });
    for (let i = 1; i <= 6; i += 1) {
      await publishTask(env, { taskId: `f-${i}`, title: 'Write docs', candidates: ['full'] });
    }
    await publishTask(env, { taskId: 'x-1', title: 'Review the pull request', candidates: ['free'] });
    await waitFor(async () => (await readInFlight(env!, 'free')) === 1, {
      timeoutMs: 15_000,
      what: "x-1 to reach 'free'",
    });
    const tasks = await new Kvm(env.js).open(Buckets.tasks);
    const x = (await tasks.get('x-1'))!.json<TaskStateRecord>();
    // Had every handler waited out its HOLD_FOR_ROOM_MS for 'full', x-1 would have queued behind three rounds of
    // such waits (six tasks, two handlers): about 6 s.
    const queuedMs = Date.parse(x.history[0]!.at) - Date.parse(x.firstSeenAt);
    expect(x).toMatchObject({ agentId: 'free', status: 'assigned' });
    expect(queuedMs).toBeLessThan(HOLD_FOR_ROOM_MS);
  });

  it('shifts assignments towards the agent whose results are better (seed formula)', async () => {
    env = await startEnv();
    // The seed formula's scores are what this test reads; the default policy is tested in policy.int.test.ts.
    await startWorker(env, { POLICY: 'seed' });
    // History arrives as results from both agents: 'good' succeeds at coding, 'bad' fails.
    for (let i = 0; i < 10; i += 1) {
      await publishResult(env, result({ agentId: 'good', executionId: `g-${i}`, success: true }));
      await publishResult(env, result({ agentId: 'bad', executionId: `b-${i}`, success: false }));
    }
    await waitFor(
      async () =>
        (await readProfile(env!, 'good'))?.totalExecutions === 10 &&
        (await readProfile(env!, 'bad'))?.totalExecutions === 10,
      { what: 'both profiles to reach 10 executions' },
    );
    // Enough capacity for all five tasks, so only the learned scores decide.
    await startTestAgent(env, 'bad', async () => ({ success: false }), { maxConcurrent: 8 });
    await startTestAgent(env, 'good', async () => ({ success: true }), { maxConcurrent: 8 });
    for (let i = 0; i < 5; i += 1)
      await publishTask(env, { taskId: `c-${i}`, title: 'Implement feature flags' });
    const published = await waitFor(async () => {
      const all = await assignments(env!);
      return all.length === 5 ? all : undefined;
    });
    expect(published.every((a) => a.agentId === 'good' && a.policy === 'seed' && a.mode === 'learned')).toBe(
      true,
    );
    const good = published[0]!.ranking.find((r) => r.agentId === 'good')!;
    const bad = published[0]!.ranking.find((r) => r.agentId === 'bad')!;
    expect(good.expertiseScore).toBe(1);
    expect(bad.expertiseScore).toBe(0);
    expect(good.finalScore).toBeGreaterThan(bad.finalScore);
  });

  it('publishes vapora.tasks.unassignable after the maximum wait', async () => {
    env = await startEnv();
    await startWorker(env, { UNASSIGNABLE_AFTER_MS: '1500' });
    await publishTask(env, { taskId: 'lonely', title: 'Deploy to prod', requiredRole: 'sre' });
    const given = await waitFor(
      async () =>
        (await readStream(env!, Streams.tasks, 'vapora.tasks.unassignable')).map((m) =>
          m.json<Unassignable>(),
        )[0],
      { timeoutMs: 15_000, what: 'the unassignable event' },
    );
    expect(given).toMatchObject({ taskId: 'lonely', taskType: 'deployment' });
    expect(given.reason).toContain('no agent is registered');
    expect(await assignments(env)).toHaveLength(0);
  });

  it('keeps a task whose only able agent is full waiting past the maximum wait, then assigns it', async () => {
    env = await startEnv();
    await startWorker(env, { UNASSIGNABLE_AFTER_MS: '1000' });
    let release: () => void = () => undefined;
    const blocked = new Promise<void>((resolve) => (release = resolve));
    const ran: string[] = [];
    await startTestAgent(
      env,
      'solo',
      async (a) => {
        ran.push(a.taskId);
        if (a.taskId === 'first') await blocked;
        return { success: true };
      },
      { maxConcurrent: 1 },
    );
    await publishTask(env, { taskId: 'first', title: 'Implement the export' });
    await waitFor(() => ran.includes('first'), { what: 'the first task to run' });
    await publishTask(env, { taskId: 'second', title: 'Implement the import' });
    // Three times the maximum wait with the only able agent full: backpressure, not a reason to give up.
    await new Promise((r) => setTimeout(r, 3_000));
    expect(await readStream(env, Streams.tasks, 'vapora.tasks.unassignable')).toHaveLength(0);
    release();
    await waitFor(() => ran.includes('second'), {
      timeoutMs: 15_000,
      what: 'the second task once a slot freed',
    });
    expect((await assignments(env)).map((a) => a.taskId).sort()).toEqual(['first', 'second']);
  });

  it("drains a backlog larger than the fleet at the agents' pace: waiting tasks take each freed slot", async () => {
    env = await startEnv();
    const port = await freePort();
    await startWorker(env, { HTTP_PORT: String(port) });
    const ran: string[] = [];
    await startTestAgent(
      env,
      'solo',
      async (a) => {
        ran.push(a.taskId);
        await new Promise((r) => setTimeout(r, 30));
        return { success: true };
      },
      { maxConcurrent: 1 },
    );
    const n = 30;
    await Promise.all(
      Array.from({ length: n }, (_, i) =>
        publishTask(env!, { taskId: `b-${i}`, title: 'Implement the export' }),
      ),
    );
    await waitFor(() => ran.length === n, { timeoutMs: 60_000, what: `${n} tasks run` });
    expect(new Set(ran).size).toBe(n);
    // One slot, thirty tasks at once. Handed back with a delay each time the agent was full, every task would be
    // redelivered several times (the delay doubles from 50 ms); waiting for the slot, almost none is.
    expect(await metric(port, 'vapora_retries_total', { consumer: 'assigner' })).toBeLessThan(n / 3);
  });

  it('never exceeds maxConcurrent with two worker replicas and a burst of tasks', async () => {
    env = await startEnv();
    await startWorker(env);
    await startWorker(env);
    // Every revision of every capacity record, as written by either replica.
    const kv = await new Kvm(env.js).open(Buckets.capacity);
    const watch = await kv.watch({ include: KvWatchInclude.UpdatesOnly });
    const peak = new Map<string, number>();
    const watching = (async () => {
      for await (const entry of watch) {
        if (entry.operation !== 'PUT') continue;
        const record = entry.json<CapacityRecord>();
        peak.set(record.agentId, Math.max(peak.get(record.agentId) ?? 0, inFlightCount(record)));
      }
    })();
    const slow = async () => {
      await new Promise((r) => setTimeout(r, 15));
      return { success: true };
    };
    await startTestAgent(env, 'a1', slow, { maxConcurrent: 2 });
    await startTestAgent(env, 'a2', slow, { maxConcurrent: 2 });
    await Promise.all(
      Array.from({ length: 60 }, (_, i) => publishTask(env!, { taskId: `burst-${i}`, title: 'Fix the bug' })),
    );
    await waitFor(async () => (await assignments(env!)).length === 60, {
      timeoutMs: 50_000,
      what: '60 assignments',
    });
    watch.stop();
    await watching;
    const published = await assignments(env);
    expect(new Set(published.map((a) => a.taskId)).size).toBe(60);
    expect(peak.get('a1')).toBe(2);
    expect(peak.get('a2')).toBe(2);
  });
});
