/**
 * Every attack of issue 8 ("Why"), written as the attacker would: a raw client holding ONLY agent coder-1's NATS
 * credentials (no SDK), against a real nats-server with the rendered authorization, a worker connected as `worker`
 * with the operator's roster, and honest SDK agents coder-1, coder-2 and coder-3 (coder-1's own SDK runs too: the
 * attacker is a second client with its password). One attack needs the producer's credentials (a task with a
 * huge timeoutMs).
 *
 * Each attack runs during the same honest workload as an untouched run, and the test compares the books of the two
 * runs: every profile (counts, success rate, confidence, curve), every registry entry, every capacity record, every
 * task's holders (routing), every assignment consumer, and the KG. A refusal alone proves little: the comparison
 * is what shows the attack had no effect, and the probe tasks at the end of the workload (assigned by score,
 * learned) show that the assigner and the learner kept going.
 */
import { jest } from '@jest/globals';
import type { ConsumerConfig } from '@nats-io/jetstream';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { headers } from '@nats-io/transport-node';
import { pino } from 'pino';
import type { AgentHandle, HandlerResult } from '../../src/agent/agent.js';
import { startAgent } from '../../src/agent/agent.js';
import { Buckets, Consumers, Streams, Subjects } from '../../src/bus/subjects.js';
import { loadNatsConfig, loadWorkerConfig } from '../../src/config/config.js';
import type {
  AgentRegistration,
  CapacityRecord,
  ProfileRecord,
  TaskStateRecord,
} from '../../src/domain/index.js';
import { connectKnowledgeGraph } from '../../src/kg/connect.js';
import type { KnowledgeGraph } from '../../src/kg/knowledge-graph.js';
import { Worker } from '../../src/worker/worker.js';
import { waitFor } from '../support/wait-for.js';
import type { AuthServer } from './nats-auth.js';
import { NATS_BINARY, password, startAuthServer } from './nats-auth.js';

jest.setTimeout(180_000);
const silent = pino({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent' });
const describeNats = NATS_BINARY !== null ? describe : describe.skip;
if (NATS_BINARY === null) console.warn('skipped attack tests: nats-server is not installed');

const AGENTS = ['coder-1', 'coder-2', 'coder-3'] as const;
const ROSTER = AGENTS.map((a) => `${a}:developer:2`).join(',');
const TYPES = ['coding', 'testing'] as const;
/** The task coder-1 holds and never finishes: it times out and goes to another agent at attempt 2. */
const HANG = 'hang-1';
const HANG_TIMEOUT_MS = 1500;
const FAR_FUTURE = '9999-12-31T23:59:59Z';

/** Hidden skills: whether `agent` succeeds at its i-th task of `type` (deterministic, so both runs agree). */
function succeeds(agent: string, type: string, i: number): boolean {
  if (agent === 'coder-1') return type === 'coding';
  if (agent === 'coder-2') return type === 'testing';
  return i === 0;
}

interface Run {
  auth: AuthServer;
  kg: KnowledgeGraph;
  worker: Worker;
  agents: AgentHandle[];
  /** The worker's view of the world (a `worker` connection). */
  admin: NatsConnection;
  /** Releases the honest handler that holds HANG (at teardown, after the books are read). */
  releaseHang: () => void;
  /** Every distinct value the registry and capacity buckets held during the run (transient effects count). */
  seen: { registry: Set<string>; capacity: Set<string> };
  /** Stops attack loops at teardown. */
  stopping: AbortController;
}

async function startRun(): Promise<Run> {
  const auth = await startAuthServer({ roster: ROSTER });
  const kg = await connectKnowledgeGraph({ url: 'mem://', namespace: 'vapora', database: 'kg' });
  const config = loadWorkerConfig({
    NATS_URL: auth.server.url,
    NATS_USER: 'worker',
    NATS_PASS: password('worker'),
    SURREAL_URL: 'mem://',
    HTTP_PORT: '0',
    LOG_LEVEL: 'silent',
    AGENTS: ROSTER,
    // The seed formula is deterministic: the untouched run and the attacked run must route alike.
    POLICY: 'seed',
    SWEEP_INTERVAL_MS: '100',
  });
  const worker = await Worker.create({ config, log: silent, kg });
  await worker.run();
  let releaseHang = () => {};
  const hang = new Promise<void>((resolve) => (releaseHang = resolve));
  const agents: AgentHandle[] = [];
  for (const agentId of AGENTS) {
    const counts = new Map<string, number>();
    agents.push(
      await startAgent({
        agentId,
        role: 'developer',
        maxConcurrent: 2,
        heartbeatIntervalMs: 200,
        nats: loadNatsConfig({
          NATS_URL: auth.server.url,
          NATS_USER: `agent-${agentId}`,
          NATS_PASS: password(`agent-${agentId}`),
        }),
        log: silent,
        handler: async (assignment): Promise<HandlerResult> => {
          if (assignment.taskId === HANG && agentId === 'coder-1') {
            await hang;
            return { success: true, durationMs: 1 };
          }
          const i = counts.get(assignment.taskType) ?? 0;
          counts.set(assignment.taskType, i + 1);
          return { success: succeeds(agentId, assignment.taskType, i), durationMs: 5 };
        },
      }),
    );
  }
  const admin = await auth.connectAs('worker');
  const registry = await new Kvm(admin).open(Buckets.agents);
  const seen = { registry: new Set<string>(), capacity: new Set<string>() };
  const watchers = [
    [await registry.watch(), seen.registry],
    [await (await new Kvm(admin).open(Buckets.capacity)).watch(), seen.capacity],
  ] as const;
  for (const [watcher, into] of watchers) {
    void (async () => {
      for await (const e of watcher) {
        if (e.operation !== 'PUT') continue;
        try {
          const v = e.json<Partial<AgentRegistration & CapacityRecord>>();
          into.add(
            JSON.stringify(
              into === seen.registry
                ? [e.key, v.agentId, v.role, v.maxConcurrent, v.taskTypes]
                : [e.key, v.agentId, typeof v.inFlight],
            ),
          );
        } catch {
          into.add(`${e.key}: not JSON`);
        }
      }
    })();
  }
  await waitFor(
    async () => {
      for (const a of AGENTS) if ((await registry.get(a))?.operation !== 'PUT') return false;
      return true;
    },
    { what: 'every agent registered' },
  );
  return { auth, kg, worker, agents, admin, releaseHang, seen, stopping: new AbortController() };
}

async function stopRun(run: Run | undefined): Promise<void> {
  if (!run) return;
  run.stopping.abort();
  run.releaseHang();
  for (const a of run.agents) await a.stop(1000).catch(() => undefined);
  await run.worker.shutdown(2000).catch(() => undefined);
  await run.kg.close().catch(() => undefined);
  await run.auth.stop();
}

/** Moments of the workload at which an attack strikes. */
interface Hooks {
  /** After the agents registered, before any task. */
  start?: (run: Run) => Promise<void>;
  /** HANG is held by coder-1 (attempt 1), not yet timed out. */
  hangHeld?: (run: Run) => Promise<void>;
  /** HANG timed out and was handed to attempt 2. */
  hangReassigned?: (run: Run) => Promise<void>;
}

async function taskRecord(run: Run, taskId: string): Promise<TaskStateRecord | undefined> {
  const entry = await (await new Kvm(run.admin).open(Buckets.tasks)).get(taskId);
  return entry?.operation === 'PUT' ? entry.json<TaskStateRecord>() : undefined;
}

async function publishTask(run: Run, task: Record<string, unknown> & { taskId: string }): Promise<void> {
  const producer = await run.auth.connectAs('producer');
  await jetstream(producer).publish(Subjects.taskArrived, JSON.stringify(task), { msgID: task.taskId });
  await producer.close();
}

async function completed(run: Run, taskId: string): Promise<void> {
  await waitFor(async () => (await taskRecord(run, taskId))?.status === 'completed', {
    what: `task ${taskId} to complete`,
    timeoutMs: 20_000,
  });
}

/** Learned executions, summed over every cached profile (the learner's progress). */
async function learned(run: Run): Promise<number> {
  let total = 0;
  const kv = await new Kvm(run.admin).open(Buckets.profiles);
  for await (const key of await kv.keys()) {
    const entry = await kv.get(key);
    if (entry?.operation === 'PUT') total += entry.json<ProfileRecord>().totalExecutions;
  }
  return total;
}

const TRAINING = TYPES.flatMap((type) =>
  AGENTS.flatMap((agent) => [0, 1].map((i) => ({ taskId: `train-${type}-${agent}-${i}`, type, agent }))),
);
const PROBES = TYPES.map((type) => `probe-${type}`);
/** Training, HANG's timeout and its attempt 2, and the probes. */
const LEARNED_IN_ALL = TRAINING.length + 2 + PROBES.length;

/**
 * The honest workload, one task at a time so that routing depends only on what was learned: each agent runs two
 * tasks of each type (candidates fixed), then HANG (coder-1 wins it on coding, never finishes, times out, goes to
 * the next best), then one probe per type with no candidates (assigned by score).
 */
async function honestWorkload(run: Run, hooks: Hooks = {}): Promise<void> {
  await hooks.start?.(run);
  for (const t of TRAINING) {
    await publishTask(run, {
      taskId: t.taskId,
      title: `train ${t.type}`,
      taskType: t.type,
      candidates: [t.agent],
    });
    await completed(run, t.taskId);
  }
  await publishTask(run, {
    taskId: HANG,
    title: 'a task coder-1 will hold too long',
    taskType: 'coding',
    timeoutMs: HANG_TIMEOUT_MS,
  });
  await waitFor(async () => (await taskRecord(run, HANG))?.holders?.[0]?.agentId, { what: 'HANG assigned' });
  await hooks.hangHeld?.(run);
  await waitFor(async () => ((await taskRecord(run, HANG))?.attempt ?? 0) >= 2, {
    what: 'HANG reassigned after its timeout',
    timeoutMs: 20_000,
  });
  await hooks.hangReassigned?.(run);
  await completed(run, HANG);
  for (const [i, taskId] of PROBES.entries()) {
    await publishTask(run, { taskId, title: 'probe', taskType: TYPES[i] });
    await completed(run, taskId);
  }
  await waitFor(async () => (await learned(run)) >= LEARNED_IN_ALL, {
    what: `${LEARNED_IN_ALL} executions learned`,
    timeoutMs: 20_000,
  });
}

interface Books {
  profiles: Record<string, unknown>;
  registry: Record<string, unknown>;
  capacity: Record<string, unknown>;
  routing: Record<string, unknown>;
  consumers: Record<string, unknown>;
  kg: Record<string, number>;
  /** Distinct registry and capacity values ever written during the run. */
  registryEver: string[];
  capacityEver: string[];
}

/**
 * Everything the attacks aim at, with the parts that depend on wall-clock time left out (durations are clamped to
 * how long each assignment existed, so they vary between runs by a few ms).
 */
async function books(run: Run): Promise<Books> {
  const kvm = new Kvm(run.admin);
  const read = async <T>(bucket: string, pick: (key: string, value: T) => unknown) => {
    const kv = await kvm.open(bucket);
    const out: Record<string, unknown> = {};
    const keys: string[] = [];
    for await (const key of await kv.keys()) keys.push(key);
    for (const key of keys.sort()) {
      const entry = await kv.get(key);
      if (entry?.operation === 'PUT') out[key] = pick(key, entry.json<T>());
    }
    return out;
  };
  const profiles = await read<ProfileRecord>(Buckets.profiles, (_k, p) => ({
    totalExecutions: p.totalExecutions,
    successRate: p.successRate,
    confidence: p.confidence,
    // Every learned execution is dated within this run: never after the worker's clock.
    lastExecutionAtNotFuture: Date.parse(p.lastExecutionAt ?? '') <= Date.now(),
    curveExecutions: p.learningCurve.reduce((n, d) => n + d.executions, 0),
  }));
  const registry = await read<AgentRegistration>(Buckets.agents, (_k, r) => ({
    agentId: r.agentId,
    role: r.role,
    maxConcurrent: r.maxConcurrent,
    taskTypes: r.taskTypes,
    heartbeatNotFuture: Date.parse(r.heartbeatAt) <= Date.now(),
  }));
  const capacity = await read<CapacityRecord>(Buckets.capacity, (_k, c) => ({
    agentId: c.agentId,
    inFlight: Object.keys(c.inFlight).sort(),
  }));
  const routing = await read<TaskStateRecord>(Buckets.tasks, (_k, t) => ({
    status: t.status,
    holders: (t.holders ?? []).map((h) => `${h.attempt}:${h.agentId}${h.charged ? ' (charged)' : ''}`),
  }));
  const consumers: Record<string, unknown> = {};
  const jsm = await jetstreamManager(run.admin);
  for await (const ci of jsm.consumers.list(Streams.assignments)) {
    consumers[ci.name] = {
      filter: ci.config.filter_subject,
      deliver: ci.config.deliver_subject ?? null,
      maxAckPending: ci.config.max_ack_pending,
    };
  }
  const kg: Record<string, number> = {};
  for (const a of AGENTS)
    for (const t of [...TYPES, 'documentation']) kg[`${a}.${t}`] = await run.kg.countExecutions(a, t);
  return {
    profiles,
    registry,
    capacity,
    routing,
    consumers,
    kg,
    registryEver: [...run.seen.registry].sort(),
    capacityEver: [...run.seen.capacity].sort(),
  };
}

/** The attacker: a raw client with coder-1's user, password and private inbox, and nothing else. */
async function attacker(run: Run): Promise<NatsConnection> {
  return run.auth.connectAs('agent-coder-1');
}

/** A result as the contract spells it, for the attacker to fill in. */
function forged(fields: Record<string, unknown>): string {
  return JSON.stringify({
    executionId: `forged-${Math.random().toString(36).slice(2)}`,
    taskId: `made-up-${Math.random().toString(36).slice(2)}`,
    agentId: 'coder-1',
    taskType: 'testing',
    success: true,
    durationMs: 1,
    finishedAt: FAR_FUTURE,
    qualityScore: 1,
    ...fields,
  });
}

/** Reasons of the dead letters whose original subject is `subject`. */
async function deadLetterReasons(run: Run, subject: string): Promise<string[]> {
  const jsm = await jetstreamManager(run.admin);
  const info = await jsm.streams.info(Streams.deadLetters);
  if (info.state.messages === 0) return [];
  const consumer = await jetstream(run.admin).consumers.get(Streams.deadLetters);
  const reasons: string[] = [];
  const batch = await consumer.fetch({ max_messages: info.state.messages, expires: 2000 });
  for await (const m of batch) {
    if (m.subject === Subjects.deadLetter(subject)) reasons.push(m.headers?.get('Vapora-Dlq-Reason') ?? '?');
    if (m.seq >= info.state.last_seq) break;
  }
  return reasons;
}

describeNats('attacks by an agent holding only its own credentials have no effect', () => {
  let baseline: Books;
  let run: Run | undefined;

  beforeAll(async () => {
    const untouched = await startRun();
    try {
      await honestWorkload(untouched);
      baseline = await books(untouched);
    } finally {
      await stopRun(untouched);
    }
  });
  afterEach(async () => {
    await stopRun(run);
    run = undefined;
  });

  /** Runs the workload with `hooks`, then expects books equal to the untouched run's. */
  async function attackedRun(hooks: Hooks): Promise<Run> {
    run = await startRun();
    await honestWorkload(run, hooks);
    expect(await books(run)).toEqual(baseline);
    return run;
  }

  it('the untouched run learned what the skills say, and routed the probes by score', () => {
    // The comparison below is only as strong as the baseline is meaningful: check it against the skills.
    expect(baseline.routing[HANG]).toEqual({
      status: 'completed',
      holders: ['1:coder-1 (charged)', '2:coder-3'],
    });
    expect(baseline.routing['probe-coding']).toEqual({ status: 'completed', holders: ['1:coder-1'] });
    expect(baseline.routing['probe-testing']).toEqual({ status: 'completed', holders: ['1:coder-2'] });
    expect(baseline.profiles['coder-1.testing']).toMatchObject({ totalExecutions: 2, successRate: 0 });
    expect(baseline.profiles['coder-2.testing']).toMatchObject({ totalExecutions: 3, successRate: 1 });
    expect(baseline.profiles['coder-1.documentation']).toBeUndefined();
    expect(Object.values(baseline.capacity)).toEqual(
      expect.arrayContaining(AGENTS.map((a) => ({ agentId: a, inFlight: [] }))),
    );
    expect(baseline.registry['coder-2']).toMatchObject({ role: 'developer', maxConcurrent: 2 });
    expect(Object.keys(baseline.consumers).sort()).toEqual(AGENTS.map((a) => Consumers.agent(a)));
    // One registry value per agent all along (the roster's role and ceiling), capacity records only under their key.
    expect(baseline.registryEver).toEqual(AGENTS.map((a) => JSON.stringify([a, a, 'developer', 2, null])));
    expect(baseline.capacityEver).toEqual(AGENTS.map((a) => JSON.stringify([a, a, 'object'])));
  });

  it('fabricated successes: 100 results per task type with made-up taskIds and finishedAt 9999-… count for nothing', async () => {
    const r = await attackedRun({
      start: async (run) => {
        const js = jetstream(await attacker(run));
        for (const taskType of [...TYPES, 'documentation'])
          for (let i = 0; i < 100; i++) {
            await js.publish(Subjects.result('coder-1'), forged({ taskType }));
          }
      },
    });
    const reasons = await deadLetterReasons(r, Subjects.result('coder-1'));
    expect(reasons.filter((x) => x === 'unassigned result')).toHaveLength(300);
  });

  it('executionId squatting on the successor: the Nats-Msg-Id of attempt 2 published first does not drop its result', async () => {
    await attackedRun({
      hangHeld: async (run) => {
        const js = jetstream(await attacker(run));
        // The next holder's executionId for attempt 2 (and 3), which the SDK used to publish as its Nats-Msg-Id.
        for (const id of [`${HANG}-2`, `${HANG}-3`]) {
          await js.publish(
            Subjects.result('coder-1'),
            forged({ taskId: HANG, taskType: 'coding', attempt: 2, executionId: id }),
            {
              msgID: id,
            },
          );
        }
      },
    });
  });

  it('executionId squatting on the timeout: a success for the timed-out attempt does not cancel the penalty', async () => {
    await attackedRun({
      hangReassigned: async (run) => {
        // The timeout is charged (HANG's attempt 1 holder is marked charged) before the attacker speaks.
        await waitFor(async () => (await taskRecord(run, HANG))?.holders?.[0]?.charged === true, {
          what: 'the charged timeout',
        });
        const js = jetstream(await attacker(run));
        for (const executionId of ['timeout-1', `${HANG}-1-timeout`, `${HANG}-1`]) {
          await js.publish(
            Subjects.result('coder-1'),
            forged({
              taskId: HANG,
              taskType: 'coding',
              attempt: 1,
              executionId,
              finishedAt: new Date().toISOString(),
            }),
            { msgID: executionId },
          );
        }
      },
    });
  });

  it('registry forging: a KV put is refused, and heartbeats naming coder-2 or a huge maxConcurrent change nothing', async () => {
    await attackedRun({
      start: async (run) => {
        const nc = await attacker(run);
        const forgedEntry = {
          agentId: 'coder-2',
          role: 'admin',
          maxConcurrent: 10_000,
          heartbeatAt: FAR_FUTURE,
        };
        nc.publish(`$KV.${Buckets.agents}.coder-1`, JSON.stringify(forgedEntry));
        nc.publish(`$KV.${Buckets.agents}.coder-2`, JSON.stringify(forgedEntry));
        nc.publish(Subjects.heartbeat('coder-2'), JSON.stringify(forgedEntry));
        await nc.flush();
        await waitFor(() => run.auth.violations(nc).length >= 3, { what: 'the refused publishes' });
        // Then, for the whole run, heartbeats on its own subject, far more often than the honest SDK's: naming
        // coder-2, claiming another role, a huge ceiling, a far-future time, every task type.
        const loop = async () => {
          while (!run.stopping.signal.aborted) {
            nc.publish(Subjects.heartbeat('coder-1'), JSON.stringify(forgedEntry));
            nc.publish(
              Subjects.heartbeat('coder-1'),
              JSON.stringify({
                agentId: 'coder-1',
                role: 'reviewer',
                maxConcurrent: 10_000,
                heartbeatAt: FAR_FUTURE,
              }),
            );
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
        };
        void loop().catch(() => undefined);
      },
    });
  });

  it('registry purge: Nats-Rollup on the registry (refused) or on the results stream (not permitted) purges nothing', async () => {
    await attackedRun({
      start: async (run) => {
        const nc = await attacker(run);
        for (const rollup of ['all', 'sub']) {
          const h = headers();
          h.set('Nats-Rollup', rollup);
          nc.publish(`$KV.${Buckets.agents}.coder-1`, '', { headers: h });
          // The stream refuses rollups (allow_rollup_hdrs is off): the publish fails and nothing is purged.
          await expect(
            jetstream(nc).publish(Subjects.result('coder-1'), forged({}), { headers: h }),
          ).rejects.toThrow(/rollup/i);
        }
        await nc.flush();
      },
      hangHeld: async (run) => {
        // Again while results of other agents are in the stream.
        const nc = await attacker(run);
        const h = headers();
        h.set('Nats-Rollup', 'all');
        await expect(
          jetstream(nc).publish(Subjects.result('coder-1'), forged({}), { headers: h }),
        ).rejects.toThrow(/rollup/i);
      },
    });
  });

  it('consumer redirection: its consumer as a push consumer delivering into $KV.vapora_capacity.<other> cannot be made', async () => {
    await attackedRun({
      hangHeld: async (run) => {
        const nc = await attacker(run);
        const jsm = await jetstreamManager(nc, { checkAPI: false });
        for (const target of ['coder-2', 'coder-3']) {
          const cfg: Partial<ConsumerConfig> = {
            durable_name: Consumers.agent('coder-1'),
            filter_subject: Subjects.assignment('coder-1'),
            ack_policy: AckPolicy.None,
            deliver_subject: `$KV.${Buckets.capacity}.${target}`,
          };
          await expect(jsm.consumers.add(Streams.assignments, cfg)).rejects.toThrow(/Permissions Violation/);
          await expect(
            jsm.consumers.update(Streams.assignments, Consumers.agent('coder-1'), {
              max_ack_pending: 10_000,
            }),
          ).rejects.toThrow(/Permissions Violation/);
        }
      },
    });
  });

  it('learner stall: 1,000 poison results carrying Nats-Expected-Stream: VAPORA_RESULTS do not stop learning', async () => {
    const POISON = 1000;
    const r = await attackedRun({
      start: async (run) => {
        const js = jetstream(await attacker(run));
        const h = headers();
        h.set('Nats-Expected-Stream', Streams.results);
        for (let i = 0; i < POISON; i++) {
          await js.publish(Subjects.result('coder-1'), `{"not json ${i}`, { headers: h });
        }
      },
    });
    // Every one of them was dead-lettered (none left to be redelivered forever).
    await waitFor(async () => (await deadLetterReasons(r, Subjects.result('coder-1'))).length === POISON, {
      what: 'every poison result in the DLQ',
      timeoutMs: 30_000,
    });
  });

  it('a task with a huge timeoutMs (from the producer) is dead-lettered and stalls nothing', async () => {
    const r = await attackedRun({
      start: async (run) => {
        const producer = await run.auth.connectAs('producer');
        for (const timeoutMs of [1e15, Number.MAX_SAFE_INTEGER, 604_800_001]) {
          await jetstream(producer).publish(
            Subjects.taskArrived,
            JSON.stringify({ taskId: `huge-${timeoutMs}`, title: 'huge', taskType: 'coding', timeoutMs }),
            { msgID: `huge-${timeoutMs}` },
          );
        }
      },
    });
    await waitFor(async () => (await deadLetterReasons(r, Subjects.taskArrived)).length === 3, {
      what: 'the three tasks in the DLQ',
    });
  });

  it('storage exhaustion: oversized results are refused at publish, invalid ones stay within the byte bounds', async () => {
    const r = await attackedRun({
      start: async (run) => {
        const js = jetstream(await attacker(run));
        const big = 'x'.repeat(1024 * 1024);
        for (let i = 0; i < 5; i++) {
          await expect(js.publish(Subjects.result('coder-1'), big)).rejects.toThrow(/maximum|payload|size/i);
        }
        // Just under the stream's max_msg_size: stored, then dead-lettered (once each).
        const almost = `{"pad":"${'y'.repeat(60_000)}"}`;
        for (let i = 0; i < 50; i++) await js.publish(Subjects.result('coder-1'), almost);
      },
    });
    const jsm = await jetstreamManager(r.admin);
    for (const name of [Streams.results, Streams.deadLetters]) {
      const info = await jsm.streams.info(name);
      expect(info.config.max_bytes).toBeGreaterThan(0);
      expect(info.state.bytes).toBeLessThanOrEqual(info.config.max_bytes);
    }
    await waitFor(async () => (await deadLetterReasons(r, Subjects.result('coder-1'))).length === 50, {
      what: 'the 50 invalid results in the DLQ, once each',
    });
  });
});
