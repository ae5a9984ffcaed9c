/**
 * The `dashboard` NATS user of the shipped auth.conf (loaded unchanged into a real nats-server) is sufficient and
 * read-only:
 *   - the real dashboard server (src/dashboard) connected as `dashboard`, beside a real Worker, an SDK agent and a
 *     producer, shows the agent, a decision, its result and a dead letter, without one permission violation; a
 *     KV watch over megabytes (flow control) completes too;
 *   - the same connection cannot publish a task, a result, a heartbeat or a KV entry, nor create a durable
 *     consumer on a worker stream, nor delete, purge or update a stream or delete a consumer: each refusal is
 *     checked by its effect (nothing stored, nothing heard, nothing created), with the worker's control action.
 *   - what config-file permissions cannot restrict is pinned too (docs/dashboard.md, "NATS identity").
 */
import { jest } from '@jest/globals';
import type { JetStreamManager } from '@nats-io/jetstream';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { Msg, NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import type { AgentHandle } from '../../src/agent/agent.js';
import { startAgent } from '../../src/agent/agent.js';
import { Buckets, Consumers, Streams, Subjects } from '../../src/bus/subjects.js';
import { loadNatsConfig, loadWorkerConfig } from '../../src/config/config.js';
import type { DashboardHandle } from '../../src/dashboard/dashboard.js';
import { startDashboard } from '../../src/dashboard/dashboard.js';
import type { DashboardView } from '../../src/dashboard/view.js';
import type { KnowledgeGraph } from '../../src/kg/knowledge-graph.js';
import { connectKnowledgeGraph } from '../../src/kg/connect.js';
import { Worker } from '../../src/worker/worker.js';
import { waitFor } from '../support/wait-for.js';
import type { AuthServer } from './nats-auth.js';
import {
  lastSeq,
  NATS_BINARY,
  PASSWORDS,
  SHIPPED_ROSTER,
  startAuthServer,
  storedOn,
  violationLog,
} from './nats-auth.js';

jest.setTimeout(60_000);
const silent = pino({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent' });
const describeNats = NATS_BINARY !== null ? describe : describe.skip;
if (NATS_BINARY === null) console.warn('skipped dashboard permission tests: nats-server is not installed');

const AGENT = 'agent-coder-1';
const GHOST = 'ghost'; // an agent id nobody else uses: anything stored under it came from the dashboard

function collect(nc: NatsConnection, subject: string): Msg[] {
  const received: Msg[] = [];
  nc.subscribe(subject, {
    callback: (err, m) => {
      if (!err) received.push(m);
    },
  });
  return received;
}

describeNats('the dashboard NATS user', () => {
  let auth: AuthServer;
  let kg: KnowledgeGraph;
  let worker: Worker | undefined;
  let agent: AgentHandle | undefined;
  let dashboard: DashboardHandle | undefined;
  let admin: NatsConnection;
  let dash: NatsConnection;
  let jsm: JetStreamManager;

  const view = async (): Promise<DashboardView> =>
    (await (await fetch(`${dashboard!.url}api/view`)).json()) as DashboardView;

  beforeAll(async () => {
    auth = await startAuthServer();
    kg = await connectKnowledgeGraph({ url: 'mem://', namespace: 'vapora', database: 'kg' });
    const config = loadWorkerConfig({
      NATS_URL: auth.server.url,
      NATS_USER: 'worker',
      NATS_PASS: PASSWORDS.worker,
      SURREAL_URL: 'mem://',
      HTTP_PORT: '0',
      LOG_LEVEL: 'silent',
      AGENTS: SHIPPED_ROSTER,
    });
    worker = await Worker.create({ config, log: silent, kg });
    await worker.run();
    admin = await auth.connectAs('worker');
    jsm = await jetstreamManager(admin);
    // The dashboard's connection: user `dashboard`, inbox `_INBOX.dashboard` (as run-dashboard.ts connects).
    dash = await auth.connectAs('dashboard');
  });
  afterAll(async () => {
    await dashboard?.stop().catch(() => undefined);
    await agent?.stop(1000).catch(() => undefined);
    await worker?.shutdown(2000).catch(() => undefined);
    await kg?.close().catch(() => undefined);
    await auth?.stop();
  });

  it('serves the live state: agent, decision, result and dead letter, with no permission violation', async () => {
    dashboard = await startDashboard({ nc: dash, log: silent });
    agent = await startAgent({
      agentId: 'coder-1',
      role: 'developer',
      maxConcurrent: 2,
      heartbeatIntervalMs: 200,
      nats: loadNatsConfig({ NATS_URL: auth.server.url, NATS_USER: AGENT, NATS_PASS: PASSWORDS[AGENT] }),
      log: silent,
      handler: async () => ({ success: true, qualityScore: 0.9 }),
    });
    // The worker registers the agent from its heartbeats; the dashboard sees the registry entry through its watch.
    const listed = await waitFor(
      async () => (await view()).agents.find((a) => a.agentId === 'coder-1' && a.alive),
      { what: 'coder-1 listed alive on the dashboard', timeoutMs: 10_000 },
    );
    expect(listed).toMatchObject({ role: 'developer', maxConcurrent: 2 });

    const producer = await auth.connectAs('producer');
    await jetstream(producer).publish(
      Subjects.taskArrived,
      JSON.stringify({ taskId: 'dash-1', title: 'Review the login endpoint', candidates: ['coder-1'] }),
      { msgID: 'dash-1' },
    );
    await jetstream(producer).publish(Subjects.taskArrived, 'not json at all', { msgID: 'dash-bad' });
    const seen = await waitFor(
      async () => {
        const v = await view();
        return v.decisions.some((d) => d.taskId === 'dash-1') &&
          v.results.some((r) => r.taskId === 'dash-1') &&
          v.deadLetters.total >= 1
          ? v
          : undefined;
      },
      { what: 'the decision, its result and the dead letter on the dashboard', timeoutMs: 15_000 },
    );
    expect(seen.decisions.find((d) => d.taskId === 'dash-1')).toMatchObject({ agentId: 'coder-1' });
    expect(seen.results.find((r) => r.taskId === 'dash-1')).toMatchObject({ success: true });
    expect(seen.deadLetters.total).toBe(1);

    expect(auth.violations(dash)).toEqual([]);
    expect(violationLog(auth.server, 'dashboard')).toEqual([]);
    // The dashboard created only ephemeral consumers: every consumer it made carries an inactive threshold.
    for (const stream of [
      'KV_vapora_agents',
      'KV_vapora_capacity',
      'KV_vapora_profiles',
      Streams.deadLetters,
    ]) {
      for (const c of await jsm.consumers.list(stream).next()) {
        expect(c.config.durable_name).toBeUndefined();
        expect(c.config.inactive_threshold ?? 0).toBeGreaterThan(0);
      }
    }
  });

  it('watches a bucket of megabytes to the end (its flow-control replies are permitted)', async () => {
    // 30 values of 200 kB: well past the point where the server asks for a flow-control reply (measured: a
    // watch without `$JS.FC.…` stalls after ~2 MB).
    // Values the dashboard ignores (not JSON), under keys of their own.
    const errorsBefore = auth.violations(dash).length;
    const profiles = await new Kvm(admin).open(Buckets.profiles);
    for (let i = 0; i < 30; i++) await profiles.put(`fc.${i}`, 'x'.repeat(200_000));
    const watch = await (await new Kvm(dash).open(Buckets.profiles)).watch({ key: 'fc.*' });
    let got = 0;
    void (async () => {
      for await (const _entry of watch) got++;
    })();
    await waitFor(() => got === 30, { what: () => `30 large entries (got ${got})`, timeoutMs: 15_000 });
    watch.stop();
    expect(auth.violations(dash).length).toBe(errorsBefore);
  });

  it('cannot publish a task, a result, a heartbeat or a KV entry: nothing is stored or heard', async () => {
    const heard = collect(admin, Subjects.heartbeat(GHOST));
    await admin.flush();
    const forged = [
      [Subjects.taskArrived, Streams.tasks],
      [Subjects.result(GHOST), Streams.results],
      [Subjects.result('coder-1'), Streams.results],
      [`$KV.${Buckets.agents}.${GHOST}`, `KV_${Buckets.agents}`],
      [`$KV.${Buckets.profiles}.${GHOST}.coding`, `KV_${Buckets.profiles}`],
    ] as const;
    const before = await Promise.all(forged.map(([s, stream]) => storedOn(admin, stream, s)));
    for (const [subject] of forged) {
      await expect(jetstream(dash).publish(subject, '{"forged":true}', { timeout: 2000 })).rejects.toThrow(
        /Permissions Violation for Publish/,
      );
    }
    await expect((await new Kvm(dash).open(Buckets.agents)).put(GHOST, '{}')).rejects.toThrow(
      /Permissions Violation for Publish/,
    );
    dash.publish(Subjects.heartbeat(GHOST), JSON.stringify({ agentId: GHOST, role: 'x', maxConcurrent: 99 }));
    await dash.flush();
    await waitFor(() => auth.violations(dash).some((v) => v.subject === Subjects.heartbeat(GHOST)), {
      what: 'the heartbeat refused',
    });
    // Effects: nothing stored on any of these subjects, no heartbeat heard, no registry entry.
    expect(await Promise.all(forged.map(([s, stream]) => storedOn(admin, stream, s)))).toEqual(before);
    expect(await (await new Kvm(admin).open(Buckets.agents)).get(GHOST)).toBeNull();
    // Control: the worker's heartbeat on the same subject is heard, so "nothing heard" is an observation.
    admin.publish(Subjects.heartbeat(GHOST), 'control');
    await waitFor(() => heard.length > 0, { what: 'the control heartbeat' });
    expect(heard.map((m) => m.string())).toEqual(['control']);
  });

  it('cannot create a durable consumer on a worker stream, nor delete, purge or update streams and consumers', async () => {
    const djsm = await jetstreamManager(dash, { checkAPI: false });
    const namesOf = async (stream: string) =>
      (await jsm.consumers.list(stream).next()).map((c) => c.name).sort();
    const streams = [Streams.tasks, Streams.results, Streams.assignments, `KV_${Buckets.agents}`];
    const consumersBefore = await Promise.all(streams.map(namesOf));
    const written = [Streams.tasks, Streams.results, Streams.assignments];
    const messagesOf = () =>
      Promise.all(written.map(async (s) => (await jsm.streams.info(s)).state.messages));
    const messagesBefore = await messagesOf();

    for (const stream of streams) {
      // `consumers.add` with a durable name uses CONSUMER.CREATE.<stream>.<name>[.<filter>]; not granted here.
      await expect(
        djsm.consumers.add(stream, { durable_name: 'rogue', ack_policy: AckPolicy.Explicit }),
      ).rejects.toThrow(/Permissions Violation/);
      // The legacy durable subject is not granted anywhere.
      await expect(
        dash.request(`$JS.API.CONSUMER.DURABLE.CREATE.${stream}.rogue`, '{}', { timeout: 2000 }),
      ).rejects.toThrow(/Permissions Violation/);
      await expect(djsm.streams.purge(stream)).rejects.toThrow(/Permissions Violation/);
      await expect(djsm.streams.delete(stream)).rejects.toThrow(/Permissions Violation/);
      const info = await jsm.streams.info(stream);
      await expect(djsm.streams.update(stream, { ...info.config, max_msgs: 1 })).rejects.toThrow(
        /Permissions Violation/,
      );
    }
    await expect(djsm.consumers.delete(Streams.tasks, Consumers.assigner)).rejects.toThrow(
      /Permissions Violation/,
    );
    await expect(djsm.consumers.delete(Streams.results, Consumers.learner)).rejects.toThrow(
      /Permissions Violation/,
    );

    // Effects: the same consumers, the same messages (the agent is idle: nothing else writes these streams now),
    // the same limits.
    expect(await Promise.all(streams.map(namesOf))).toEqual(consumersBefore);
    expect(await messagesOf()).toEqual(messagesBefore);
    expect((await jsm.streams.info(Streams.tasks)).config.max_msgs).not.toBe(1);
    expect(consumersBefore[0]).toContain(Consumers.assigner);
  });

  it('measured limits of config permissions: the CREATE it needs also admits a durable and any deliver subject', async () => {
    // Documented in docs/dashboard.md; if a server release starts refusing these, this test says so.
    const resultsBefore = await lastSeq(admin, Streams.results);
    const learnerBefore = (await jsm.consumers.info(Streams.results, Consumers.learner)).num_pending;
    const create = async (name: string, config: Record<string, unknown>) => {
      const reply = await dash.request(
        `$JS.API.CONSUMER.CREATE.KV_${Buckets.agents}.${name}.$KV.${Buckets.agents}.>`,
        JSON.stringify({
          stream_name: `KV_${Buckets.agents}`,
          config: { ...config, ack_policy: AckPolicy.None, filter_subject: `$KV.${Buckets.agents}.>` },
          action: 'create',
        }),
        { timeout: 2000 },
      );
      expect(reply.json<{ error?: unknown }>().error).toBeUndefined();
    };
    // A durable: the name is in the subject either way, the durable flag only in the body.
    await create('probe-durable', { durable_name: 'probe-durable' });
    expect((await jsm.consumers.info(`KV_${Buckets.agents}`, 'probe-durable')).config.durable_name).toBe(
      'probe-durable',
    );
    // A push consumer delivering into a results subject: no permission names the deliver subject. The server
    // pushes only while someone subscribes there (a stream's capture does not count), and the dashboard itself
    // may subscribe to vapora.results.>.
    const own = collect(dash, Subjects.result(GHOST));
    await dash.flush();
    await create('probe-push', { name: 'probe-push', deliver_subject: Subjects.result(GHOST) });
    // The registry entry lands in VAPORA_RESULTS, but under its own subject ($KV.…), which the learner's filter
    // (vapora.results.>) never matches: stored bytes, no result learned.
    await waitFor(async () => (await lastSeq(admin, Streams.results)) > resultsBefore, {
      what: 'the pushed entry in VAPORA_RESULTS',
    });
    expect(own.length).toBeGreaterThan(0);
    expect(await storedOn(admin, Streams.results, `$KV.${Buckets.agents}.coder-1`)).toBeGreaterThan(0);
    expect(await storedOn(admin, Streams.results, Subjects.result(GHOST))).toBe(0);
    expect((await jsm.consumers.info(Streams.results, Consumers.learner)).num_pending).toBe(learnerBefore);
    await jsm.consumers.delete(`KV_${Buckets.agents}`, 'probe-push');
    await jsm.consumers.delete(`KV_${Buckets.agents}`, 'probe-durable');
  });
});
