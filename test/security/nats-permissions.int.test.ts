/**
 * The shipped NATS authorization (k8s/base/nats/auth.conf, rendered by `vapora-learning auth render` and loaded
 * unchanged into a real nats-server) is both sufficient and restrictive:
 *   - the real agent SDK, a real Worker (the only writer of KV and creator of consumers) and a producer run tasks
 *     end to end under it without one violation, by anyone;
 *   - an agent writes nothing shared: no KV (not even its own registry entry), no consumer (not even its own, so
 *     no deliver subject of its choosing), no stream API; it cannot touch another agent's results, assignments or
 *     consumer, nor the shared _INBOX; a producer can only announce tasks; unauthenticated clients are refused.
 * Every refusal is checked where it matters (nothing stored in the stream, nothing delivered) and paired with
 * the same action done by the worker user, which succeeds — so each assertion could fail.
 */
import { jest } from '@jest/globals';
import type { ConsumerConfig } from '@nats-io/jetstream';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { ensureAgentConsumer } from '../../src/bus/agent-consumer.js';
import type { Msg, NatsConnection } from '@nats-io/transport-node';
import { connect, errors, nanos } from '@nats-io/transport-node';
import { pino } from 'pino';
import type { AgentHandle } from '../../src/agent/agent.js';
import { startAgent } from '../../src/agent/agent.js';
import { connectNats } from '../../src/bus/connect.js';
import { Buckets, Consumers, Streams, Subjects } from '../../src/bus/subjects.js';
import { applyTopology, loadTopology } from '../../src/bus/topology.js';
import { loadNatsConfig, loadWorkerConfig } from '../../src/config/config.js';
import { NatsUnavailableError } from '../../src/errors.js';
import type { Assignment } from '../../src/domain/index.js';
import type { KnowledgeGraph } from '../../src/kg/knowledge-graph.js';
import { connectKnowledgeGraph } from '../../src/kg/connect.js';
import { Worker } from '../../src/worker/worker.js';
import { waitFor } from '../support/wait-for.js';
import type { AuthServer, User } from './nats-auth.js';
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
if (NATS_BINARY === null) console.warn('skipped NATS permission tests: nats-server is not installed');

const AGENT = 'agent-coder-1';

/** Collects the messages a core subscription receives. */
function collect(nc: NatsConnection, subject: string): { received: Msg[]; closed: Promise<void | Error> } {
  const received: Msg[] = [];
  const sub = nc.subscribe(subject, {
    callback: (err, m) => {
      if (!err) received.push(m);
    },
  });
  return { received, closed: sub.closed };
}

describeNats('auth.conf is sufficient: SDK agent, worker and producer end to end', () => {
  let auth: AuthServer;
  let kg: KnowledgeGraph | undefined;
  let worker: Worker | undefined;
  const agents: AgentHandle[] = [];

  beforeAll(async () => {
    auth = await startAuthServer();
  });
  afterAll(async () => {
    for (const a of agents) await a.stop(1000).catch(() => undefined);
    await worker?.shutdown(2000).catch(() => undefined);
    await kg?.close().catch(() => undefined);
    await auth?.stop();
  });

  it('heartbeats, consumes its own assignments and reports results as agent-coder-1', async () => {
    const url = auth.server.url;
    kg = await connectKnowledgeGraph({ url: 'mem://', namespace: 'vapora', database: 'kg' });
    const config = loadWorkerConfig({
      NATS_URL: url,
      NATS_USER: 'worker',
      NATS_PASS: PASSWORDS.worker,
      SURREAL_URL: 'mem://',
      HTTP_PORT: '0',
      LOG_LEVEL: 'silent',
      AGENTS: SHIPPED_ROSTER,
    });
    worker = await Worker.create({ config, log: silent, kg });
    await worker.run();

    const agentNats = loadNatsConfig({ NATS_URL: url, NATS_USER: AGENT, NATS_PASS: PASSWORDS[AGENT] });
    const seen: Assignment[] = [];
    const start = (maxConcurrent: number) =>
      startAgent({
        agentId: 'coder-1',
        role: 'developer',
        maxConcurrent,
        heartbeatIntervalMs: 200,
        nats: agentNats,
        log: silent,
        handler: async (a) => {
          seen.push(a);
          return { success: true, qualityScore: 0.9 };
        },
      });
    const first = await start(2);
    agents.push(first);

    const admin = await auth.connectAs('worker');
    const registry = await new Kvm(admin).open(Buckets.agents);
    // The worker wrote the entry from the agent's heartbeat (the agent has no KV permission at all).
    const entry = await waitFor(async () => (await registry.get('coder-1')) ?? undefined, {
      what: 'the registry entry',
    });
    expect(entry.json()).toMatchObject({ agentId: 'coder-1', role: 'developer', maxConcurrent: 2 });
    // Heartbeats keep refreshing the entry.
    await waitFor(async () => ((await registry.get('coder-1'))?.revision ?? 0) > entry.revision, {
      what: 'a heartbeat',
    });

    const producer = await auth.connectAs('producer');
    const publishTask = async (taskId: string) => {
      const ack = await jetstream(producer).publish(
        Subjects.taskArrived,
        JSON.stringify({ taskId, title: 'Implement the login endpoint', candidates: ['coder-1'] }),
        { msgID: taskId },
      );
      expect(ack.stream).toBe(Streams.tasks);
    };
    await publishTask('sec-1');
    await waitFor(() => seen.length === 1, { what: 'coder-1 to receive its assignment', timeoutMs: 10_000 });
    expect(seen[0]).toMatchObject({ taskId: 'sec-1', agentId: 'coder-1' });
    // The result went through the learner into the KG and the profile cache.
    await waitFor(async () => (await kg!.countExecutions('coder-1', 'coding')) === 1, {
      what: 'the result to be learned',
      timeoutMs: 10_000,
    });
    const profiles = await new Kvm(admin).open(Buckets.profiles);
    const profile = await waitFor(async () =>
      (await profiles.get('coder-1.coding'))?.json<{ totalExecutions: number }>(),
    );
    expect(profile.totalExecutions).toBe(1);
    expect(await storedOn(admin, Streams.results, Subjects.result('coder-1'))).toBe(1);
    await waitFor(() => first.completed === 1, { what: 'the assignment to be acknowledged' });

    // Stop deregisters: a leaving heartbeat, on which the worker deletes the entry.
    await first.stop(2000);
    agents.splice(agents.indexOf(first), 1);
    await waitFor(async () => (await registry.get('coder-1'))?.operation === 'DEL', { what: 'the deletion' });

    // Restart with another maxConcurrent (within the roster's 4): the worker updates the durable consumer.
    const second = await start(3);
    agents.push(second);
    const jsm = await jetstreamManager(admin);
    const info = await jsm.consumers.info(Streams.assignments, Consumers.agent('coder-1'));
    await waitFor(
      async () =>
        (await jsm.consumers.info(Streams.assignments, Consumers.agent('coder-1'))).config.max_ack_pending ===
        3,
      { what: 'the consumer ceiling to follow the heartbeat' },
    );
    expect(info.config.filter_subject).toBe(Subjects.assignment('coder-1'));
    await publishTask('sec-2');
    await waitFor(() => second.completed === 1, { what: 'the second task', timeoutMs: 10_000 });
    expect(seen.map((a) => a.taskId)).toEqual(['sec-1', 'sec-2']);

    // Not a single permission violation by the agent or the producer along the way.
    expect(violationLog(auth.server, AGENT)).toEqual([]);
    expect(violationLog(auth.server, 'producer')).toEqual([]);
    expect(violationLog(auth.server, 'worker')).toEqual([]);
    expect(auth.violations(producer)).toEqual([]);
  });
});

describeNats('auth.conf is restrictive', () => {
  let auth: AuthServer;
  let admin: NatsConnection;
  let agent: NatsConnection;
  let producer: NatsConnection;

  beforeAll(async () => {
    auth = await startAuthServer();
    admin = await auth.connectAs('worker');
    await applyTopology(admin, await loadTopology());
    // What the worker has set up: each agent's consumer (ensureAgentConsumer) and one assignment each.
    const jsm = await jetstreamManager(admin);
    await ensureAgentConsumer(jsm, 'other', 2);
    await ensureAgentConsumer(jsm, 'coder-1', 4);
    await jetstream(admin).publish(Subjects.assignment('other'), 'for other');
    await jetstream(admin).publish(Subjects.assignment('coder-1'), 'for coder-1');
    agent = await auth.connectAs(AGENT);
    producer = await auth.connectAs('producer');
  });
  afterAll(async () => {
    await auth?.stop();
  });

  /**
   * `nc` can neither JetStream-publish nor core-publish `subject`: the publish is refused, the server reports a
   * violation, and the stream stores nothing (its last sequence does not move; KV buckets keep one message per
   * key, so a count per subject would not show an overwrite). Then the worker does the same publish: stored.
   */
  async function expectPublishDenied(nc: NatsConnection, subject: string, stream: string): Promise<void> {
    const before = await lastSeq(admin, stream);
    await expect(jetstream(nc).publish(subject, '{"forged":true}', { timeout: 2000 })).rejects.toThrow(
      /Permissions Violation for Publish/,
    );
    nc.publish(subject, '{"forged":true}');
    await nc.flush();
    await waitFor(
      () => auth.violations(nc).filter((v) => v.operation === 'publish' && v.subject === subject).length >= 2,
      { what: `two publish violations on ${subject}` },
    );
    expect(await lastSeq(admin, stream)).toBe(before);
    // Control: the worker may publish there, so "nothing stored" above is a real observation.
    const ack = await jetstream(admin).publish(subject, '{"control":true}');
    expect(ack.seq).toBe(before + 1);
    expect(await lastSeq(admin, stream)).toBe(before + 1);
  }

  /** A core subscription on `subject` is refused, and receives nothing of what the worker then publishes. */
  async function expectSubscribeDenied(
    nc: NatsConnection,
    subject: string,
    publishAs: string,
  ): Promise<void> {
    const denied = collect(nc, subject);
    const control = collect(admin, subject);
    await admin.flush();
    await waitFor(
      () => auth.violations(nc).some((v) => v.operation === 'subscription' && v.subject === subject),
      { what: `a subscription violation on ${subject}` },
    );
    expect(await denied.closed).toBeInstanceOf(errors.PermissionViolationError);
    admin.publish(publishAs, 'secret');
    await waitFor(() => control.received.length > 0, { what: `the worker to see ${publishAs}` });
    await nc.flush();
    expect(denied.received).toHaveLength(0);
  }

  describe('agent-coder-1', () => {
    it('can publish its own results and heartbeats', async () => {
      const ack = await jetstream(agent).publish(Subjects.result('coder-1'), '{}');
      expect(ack.stream).toBe(Streams.results);
      const heard = collect(admin, Subjects.heartbeat('coder-1'));
      await admin.flush();
      agent.publish(Subjects.heartbeat('coder-1'), '{}');
      await waitFor(() => heard.received.length === 1, { what: 'the heartbeat at the worker' });
      expect(auth.violations(agent)).toEqual([]);
    });

    it('can look up, fetch, extend, nak, term and ack on its own consumer (what nats.js v3 sends)', async () => {
      const consumer = await jetstream(agent).consumers.get(Streams.assignments, Consumers.agent('coder-1'));
      const first = await consumer.next({ expires: 2000 });
      expect(first?.string()).toBe('for coder-1');
      first!.working();
      first!.nak();
      const again = await consumer.next({ expires: 2000 });
      expect(again?.info.deliveryCount).toBe(2);
      expect(await again!.ackAck()).toBe(true);
      // fetch and consume (pull batches with heartbeats) use the same MSG.NEXT subject.
      await jetstream(admin).publish(Subjects.assignment('coder-1'), 'second');
      const batch = await consumer.fetch({ max_messages: 1, expires: 2000 });
      for await (const m of batch) m.term();
      await jetstream(admin).publish(Subjects.assignment('coder-1'), 'third');
      const stream = await consumer.consume({ max_messages: 1, idle_heartbeat: 500 });
      for await (const m of stream) {
        expect(m.string()).toBe('third');
        await m.ackAck();
        break;
      }
      await stream.close();
      expect((await consumer.info()).num_ack_pending).toBe(0);
      expect(auth.violations(agent)).toEqual([]);
    });

    it.each([
      ['vapora.results.other', Streams.results],
      ['vapora.assignments.coder-1', Streams.assignments],
      ['vapora.tasks.arrived', Streams.tasks],
      ['vapora.dlq.results.other', Streams.deadLetters],
      ['$KV.vapora_profiles.x', 'KV_vapora_profiles'],
      ['$KV.vapora_profiles.coder-1.coding', 'KV_vapora_profiles'],
      ['$KV.vapora_capacity.x', 'KV_vapora_capacity'],
      ['$KV.vapora_capacity.coder-1', 'KV_vapora_capacity'],
      ['$KV.vapora_agents.other', 'KV_vapora_agents'],
      ['$KV.vapora_agents.coder-1', 'KV_vapora_agents'],
      ['$KV.vapora_tasks.t-1', 'KV_vapora_tasks'],
    ])('cannot publish %s', async (subject, stream) => {
      await expectPublishDenied(agent, subject, stream);
    });

    it('cannot heartbeat as another agent (the worker never hears it)', async () => {
      const heard = collect(admin, Subjects.allHeartbeats);
      await admin.flush();
      agent.publish(Subjects.heartbeat('other'), '{"agentId":"other","maxConcurrent":10000}');
      await agent.flush();
      await waitFor(() => auth.violations(agent).some((v) => v.subject === Subjects.heartbeat('other')), {
        what: 'a publish violation on the heartbeat of other',
      });
      admin.publish(Subjects.heartbeat('coder-1'), 'control');
      await waitFor(() => heard.received.length > 0, { what: 'the control heartbeat' });
      expect(heard.received.map((m) => m.subject)).toEqual([Subjects.heartbeat('coder-1')]);
    });

    it('cannot create, update or delete any consumer, not even its own (no deliver subject of its choosing)', async () => {
      const jsm = await jetstreamManager(agent, { checkAPI: false });
      const base: Partial<ConsumerConfig> = { ack_policy: AckPolicy.Explicit };
      const other = Subjects.assignment('other');
      const own = Subjects.assignment('coder-1');
      for (const cfg of [
        { ...base, durable_name: Consumers.agent('other'), filter_subject: other },
        { ...base, filter_subject: other },
        { ...base, durable_name: Consumers.agent('coder-1'), filter_subject: own },
        // A push consumer delivering into another agent's capacity record (the redirection attack).
        {
          ...base,
          durable_name: Consumers.agent('coder-1'),
          filter_subject: own,
          deliver_subject: `$KV.${Buckets.capacity}.other`,
        },
        { ...base, durable_name: 'sneaky', filter_subject: other },
      ]) {
        await expect(jsm.consumers.add(Streams.assignments, cfg)).rejects.toThrow(/Permissions Violation/);
      }
      await expect(
        jsm.consumers.update(Streams.assignments, Consumers.agent('coder-1'), { max_ack_pending: 10_000 }),
      ).rejects.toThrow(/Permissions Violation/);
      await expect(jsm.consumers.delete(Streams.assignments, Consumers.agent('other'))).rejects.toThrow(
        /Permissions Violation/,
      );
      // An ordered consumer (client-generated name).
      await expect(
        jetstream(agent).consumers.get(Streams.assignments, { filter_subjects: own }),
      ).rejects.toThrow(/Permissions Violation/);
      // The raw create subjects (2.9+ with filter, and the plain durable one).
      for (const subject of [
        `$JS.API.CONSUMER.CREATE.${Streams.assignments}.${Consumers.agent('coder-1')}.${own}`,
        `$JS.API.CONSUMER.CREATE.${Streams.assignments}.${Consumers.agent('coder-1')}`,
        `$JS.API.CONSUMER.DURABLE.CREATE.${Streams.assignments}.${Consumers.agent('coder-1')}`,
      ]) {
        const body = {
          stream_name: Streams.assignments,
          config: { durable_name: Consumers.agent('coder-1') },
        };
        await expect(agent.request(subject, JSON.stringify(body), { timeout: 2000 })).rejects.toThrow(
          /Permissions Violation/,
        );
      }
      // Nor any other JetStream API: account info, stream info, stream and consumer lists.
      for (const subject of [
        '$JS.API.INFO',
        `$JS.API.STREAM.INFO.${Streams.assignments}`,
        '$JS.API.STREAM.NAMES',
        `$JS.API.CONSUMER.NAMES.${Streams.assignments}`,
        `$JS.API.CONSUMER.INFO.${Streams.assignments}.${Consumers.agent('other')}`,
        `$JS.API.DIRECT.GET.KV_${Buckets.agents}.$KV.${Buckets.agents}.other`,
      ]) {
        await expect(agent.request(subject, '', { timeout: 2000 })).rejects.toThrow(/Permissions Violation/);
      }

      // Stream level: only the worker-created consumers exist, with the worker's configuration.
      const names: string[] = [];
      const adminJsm = await jetstreamManager(admin);
      for await (const ci of adminJsm.consumers.list(Streams.assignments)) {
        names.push(ci.name);
        expect(ci.config.deliver_subject).toBeUndefined();
      }
      expect(names.sort()).toEqual([Consumers.agent('coder-1'), Consumers.agent('other')]);
      const own4 = await adminJsm.consumers.info(Streams.assignments, Consumers.agent('coder-1'));
      expect(own4.config.max_ack_pending).toBe(4);
    });

    it("cannot read from another agent's existing consumer", async () => {
      const name = Consumers.agent('other');
      await expect(jetstream(agent).consumers.get(Streams.assignments, name)).rejects.toThrow(
        /Permissions Violation/,
      );
      await expect(
        agent.request(
          `$JS.API.CONSUMER.MSG.NEXT.${Streams.assignments}.${name}`,
          JSON.stringify({ batch: 1, expires: nanos(500) }),
          { timeout: 2000 },
        ),
      ).rejects.toThrow(/Permissions Violation/);
      const jsm = await jetstreamManager(admin);
      const info = await jsm.consumers.info(Streams.assignments, name);
      expect(info.delivered.stream_seq).toBe(0);
      expect(info.num_pending).toBe(1);
      // Control: the worker can pull the same message through the same consumer.
      const msg = await (
        await jetstream(admin).consumers.get(Streams.assignments, name)
      ).next({ expires: 2000 });
      expect(msg?.string()).toBe('for other');
      msg?.nak();
    });

    it('cannot core-subscribe to assignments', async () => {
      await expectSubscribeDenied(agent, 'vapora.assignments.>', 'vapora.assignments.other');
    });

    it("cannot read the shared _INBOX.> (where other clients' pulled messages arrive)", async () => {
      await expectSubscribeDenied(agent, '_INBOX.>', '_INBOX.agent-other.x');
      await expectSubscribeDenied(agent, '_INBOX.agent-other.>', '_INBOX.agent-other.y');
    });

    it('cannot even publish with an ack without its private inbox prefix', async () => {
      const plain = await auth.connectAs(AGENT, { inboxPrefix: null });
      await expect(
        jetstream(plain).publish(Subjects.result('coder-1'), '{}', { timeout: 2000 }),
      ).rejects.toThrow(/Permissions Violation for Subscription/);
    });
  });

  describe('producer', () => {
    it('can publish vapora.tasks.arrived with an ack', async () => {
      const before = await storedOn(admin, Streams.tasks, Subjects.taskArrived);
      const ack = await jetstream(producer).publish(Subjects.taskArrived, '{"taskId":"p-1"}', {
        msgID: 'p-1',
      });
      expect(ack).toMatchObject({ stream: Streams.tasks, duplicate: false });
      expect(await storedOn(admin, Streams.tasks, Subjects.taskArrived)).toBe(before + 1);
    });

    it.each([
      ['vapora.tasks.unassignable', Streams.tasks],
      ['vapora.results.coder-1', Streams.results],
      ['vapora.assignments.coder-1', Streams.assignments],
      ['$KV.vapora_agents.producer', 'KV_vapora_agents'],
      ['$KV.vapora_profiles.x', 'KV_vapora_profiles'],
      ['$KV.vapora_capacity.x', 'KV_vapora_capacity'],
      ['$KV.vapora_tasks.x', 'KV_vapora_tasks'],
    ])('cannot publish %s', async (subject, stream) => {
      await expectPublishDenied(producer, subject, stream);
    });

    it('cannot use the JetStream API or subscribe to anything but its inbox', async () => {
      await expect(
        producer.request(`$JS.API.STREAM.INFO.${Streams.tasks}`, '', { timeout: 2000 }),
      ).rejects.toThrow(/Permissions Violation/);
      await expectSubscribeDenied(producer, 'vapora.>', 'vapora.assignments.coder-1');
      await expectSubscribeDenied(producer, '_INBOX.>', '_INBOX.agent-coder-1.z');
    });
  });

  describe('authentication', () => {
    const refused = async (opts: { user?: string; pass?: string }) => {
      const err = await connect({ servers: auth.server.url, reconnect: false, ...opts }).then(
        async (nc) => {
          await nc.close();
          return undefined;
        },
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(errors.AuthorizationError);
    };

    it('refuses a client without credentials', async () => {
      await refused({});
    });

    it('refuses a wrong password, a known password for another user, and an unknown user', async () => {
      await refused({ user: 'worker', pass: 'wrong' });
      await refused({ user: AGENT, pass: PASSWORDS.worker });
      await refused({ user: 'agent-other', pass: PASSWORDS[AGENT] });
    });

    it('reports the refusal through connectNats (what the worker, CLI and SDK use)', async () => {
      const config = loadNatsConfig({ NATS_URL: auth.server.url, NATS_USER: 'worker', NATS_PASS: 'wrong' });
      const err = await connectNats(config, { name: 't', timeoutMs: 2000 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NatsUnavailableError);
      expect((err as Error).cause).toBeInstanceOf(errors.AuthorizationError);
      expect((err as Error).message).toMatch(/refused the credentials: check NATS_USER\/NATS_PASS/);
      // Control: the right password connects.
      const ok = await connectNats(
        loadNatsConfig({ NATS_URL: auth.server.url, NATS_USER: 'worker', NATS_PASS: PASSWORDS.worker }),
        { name: 't' },
      );
      await ok.close();
    });
  });
});

describeNats('auth.conf refusals are logged by the server', () => {
  let auth: AuthServer;

  beforeAll(async () => {
    auth = await startAuthServer();
  });
  afterAll(async () => {
    await auth?.stop();
  });

  /** The server's violation lines for `user`, as "<Publish|Subscription> <subject>", in log order. */
  const trace = (user: User) =>
    violationLog(auth.server, user).map((line) => {
      const m = /(Publish|Subscription) Violation - User "[^"]+", Subject "([^"]+)"/.exec(line);
      return m ? `${m[1]} ${m[2]}` : `unparsed: ${line}`;
    });

  it('leaves one line per refusal, naming the user, the operation and the subject, and none for what is allowed', async () => {
    const agent = await auth.connectAs(AGENT);
    const producer = await auth.connectAs('producer');
    expect(trace(AGENT)).toEqual([]);
    expect(trace('producer')).toEqual([]);

    // Allowed actions interleaved with refused ones; each connection ends with a refusal, so once that one is in
    // the log, every line the earlier actions could have caused is there too.
    agent.publish(Subjects.result('coder-1'), '{}');
    agent.publish(Subjects.result('other'), '{}');
    agent.publish(`$KV.${Buckets.profiles}.coder-1.coding`, '{}');
    const denied = collect(agent, 'vapora.assignments.>');
    agent.publish(Subjects.heartbeat('coder-1'), '{}');
    agent.publish(`$KV.${Buckets.agents}.coder-1`, '{}');
    agent.publish(Subjects.taskArrived, '{}');
    producer.publish(Subjects.taskArrived, '{}');
    producer.publish(Subjects.result('coder-1'), '{}');
    await Promise.all([agent.flush(), producer.flush()]);

    const expected = {
      [AGENT]: [
        `Publish ${Subjects.result('other')}`,
        `Publish $KV.${Buckets.profiles}.coder-1.coding`,
        'Subscription vapora.assignments.>',
        `Publish $KV.${Buckets.agents}.coder-1`,
        `Publish ${Subjects.taskArrived}`,
      ],
      producer: [`Publish ${Subjects.result('coder-1')}`],
    };
    await waitFor(
      () =>
        trace(AGENT).length >= expected[AGENT].length && trace('producer').length >= expected.producer.length,
      { what: 'the refusals in the server log' },
    );
    expect({ [AGENT]: trace(AGENT), producer: trace('producer') }).toEqual(expected);
    expect(await denied.closed).toBeInstanceOf(errors.PermissionViolationError);
  });
});
