/**
 * No penalty without delivery (reliability issue, item 4): the reassigner asks the server whether an assignment
 * reached its agent's consumer, re-sends one that was lost, and takes back an undelivered one uncharged.
 */
import type { JetStreamManager } from '@nats-io/jetstream';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { ensureAgentConsumer } from '../../src/bus/agent-consumer.js';
import { Buckets, Consumers, Streams, Subjects } from '../../src/bus/subjects.js';
import type { Assignment, TaskArrived } from '../../src/domain/index.js';
import { holderOf } from '../../src/domain/index.js';
import { CapacityService } from '../../src/worker/capacity-service.js';
import { createMetrics } from '../../src/worker/metrics.js';
import { Reassigner } from '../../src/worker/reassigner.js';
import type { Stores } from '../../src/worker/stores.js';
import { closeStores, openStores } from '../../src/worker/stores.js';
import { TaskStateService } from '../../src/worker/task-state-service.js';
import { waitFor } from '../support/wait-for.js';
import type { Env } from './harness.js';
import { readStream, silent, startEnv, stopEnv } from './harness.js';

let env: Env | undefined;
let stores: Stores | undefined;
afterEach(async () => {
  if (stores) await closeStores(stores);
  stores = undefined;
  await stopEnv(env);
  env = undefined;
});

const TIMEOUT_MS = 10_000;

interface World {
  jsm: JetStreamManager;
  tasks: TaskStateService;
  capacity: CapacityService;
  reassigner: (clock: () => Date) => Reassigner;
  assignment: Assignment;
}

/** Agent a1 (alive, consumer created) holds task t1 per the worker's records; nothing was published to it. */
async function world(e: Env): Promise<World> {
  const jsm = await jetstreamManager(e.nc);
  await ensureAgentConsumer(jsm, 'a1', 1);
  const agents = await new Kvm(e.js).open(Buckets.agents);
  const alive = () =>
    agents.put(
      'a1',
      JSON.stringify({
        agentId: 'a1',
        role: 'developer',
        maxConcurrent: 1,
        heartbeatAt: new Date().toISOString(),
      }),
    );
  await alive();
  stores = await openStores(e.js, silent, { reconcileMs: 0 });
  const s = stores;
  await waitFor(() => s.agents.get('a1') !== undefined);
  const tasks = new TaskStateService(s.tasksKv);
  const capacity = new CapacityService(s);
  const at = new Date();
  const task: TaskArrived = { taskId: 't1', title: 'Fix the bug' };
  expect(await capacity.reserve('a1', 't1', 1, at, TIMEOUT_MS)).toBe('reserved');
  const assignment: Assignment = {
    taskId: 't1',
    agentId: 'a1',
    taskType: 'bugfix',
    policy: 'learned',
    score: { base: 0, expertise: 0, confidence: 0, final: 0 },
    ranking: [],
    reasoning: 'test',
    assignedAt: at.toISOString(),
    attempt: 1,
    task,
  };
  // The worker recorded the assignment and crashed before publishing it: the message is lost.
  await tasks.execute('t1', { type: 'assign', assignment, firstSeenAt: at, at });
  const reassigner = (clock: () => Date) =>
    new Reassigner({
      js: e.js,
      jsm,
      stores: s,
      capacity,
      tasks,
      metrics: createMetrics({ defaultMetrics: false }),
      log: silent,
      heartbeatTimeoutMs: 600_000,
      timeoutCountsAsFailure: true,
      intervalMs: 60_000,
      clock,
    });
  return { jsm, tasks, capacity, reassigner, assignment };
}

const later = (ms: number) => () => new Date(Date.now() + ms);

describe('delivery', () => {
  it('re-sends a lost assignment before its deadline, and takes back an undelivered one without charging', async () => {
    env = await startEnv();
    const w = await world(env);
    expect(await readStream(env, Streams.assignments)).toHaveLength(0);
    // Past the first delivery check, before the deadline: the lost message is published again.
    await w.reassigner(later(1_500)).sweep();
    const sent = await readStream(env, Streams.assignments);
    expect(sent.map((m) => m.subject)).toEqual([Subjects.assignment('a1')]);
    // The agent never fetches it. Past the deadline it is taken back, uncharged, and no timeout is reported.
    await w.reassigner(later(TIMEOUT_MS + 1_000)).sweep();
    const record = (await w.tasks.get('t1'))!.record;
    expect(record.status).toBe('timed-out');
    expect(holderOf(record, 1)).toMatchObject({ agentId: 'a1', charged: false });
    expect(await readStream(env, Streams.results)).toHaveLength(0);
    expect(w.capacity.inFlight('a1')).toBe(0);
  });

  it('records a delivery seen on the server, and charges the timeout of a delivered assignment', async () => {
    env = await startEnv();
    const w = await world(env);
    await w.reassigner(later(1_500)).sweep(); // re-sent
    // The agent fetches it (a plain JetStream client) and never reports.
    const consumer = await env.js.consumers.get(Streams.assignments, Consumers.agent('a1'));
    const fetched = await consumer.next({ expires: 5_000 });
    expect(fetched?.json<Assignment>().taskId).toBe('t1');
    await w.reassigner(later(2_000)).sweep();
    await waitFor(async () => holderOf((await w.tasks.get('t1'))!.record, 1)?.deliveredAt !== undefined, {
      what: 'the delivery to be recorded',
    });
    await w.reassigner(later(TIMEOUT_MS + 1_000)).sweep();
    const record = (await w.tasks.get('t1'))!.record;
    expect(record.status).toBe('timed-out');
    expect(holderOf(record, 1)).toMatchObject({ agentId: 'a1', charged: true });
    const results = await readStream(env, Streams.results);
    expect(results.map((m) => m.subject)).toEqual([Subjects.timeout('a1')]);
  });
});
