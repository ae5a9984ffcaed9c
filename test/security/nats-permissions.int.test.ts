/**
 * The shipped NATS authorization (k8s/base/nats/auth.conf, loaded unchanged into a real nats-server) is both
 * sufficient and restrictive:
 *   - the real agent SDK, a real Worker and a producer run a task end to end under it without one violation;
 *   - an agent cannot touch another agent's results, assignments or registry entry, nor the worker's buckets,
 *     nor the shared _INBOX; a producer can only announce tasks; unauthenticated clients are refused.
 * Every refusal is checked where it matters (nothing stored in the stream, nothing delivered) and paired with
 * the same action done by the worker user, which succeeds — so each assertion could fail.
 */
import { jest } from '@jest/globals';
import type { ConsumerConfig } from '@nats-io/jetstream';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
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
import { lastSeq, NATS_BINARY, PASSWORDS, startAuthServer, storedOn, violationLog } from './nats-auth.js';

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

  it('registers, consumes its own assignments and reports results as agent-coder-1', async () => {
    const url = auth.server.url;
    kg = await connectKnowledgeGraph({ url: 'mem://', namespace: 'vapora', database: 'kg' });
    const config = loadWorkerConfig({
      NATS_URL: url,
      NATS_USER: 'worker',
      NATS_PASS: PASSWORDS.worker,
      SURREAL_URL: 'mem://',
      HTTP_PORT: '0',
      LOG_LEVEL: 'silent',
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
    const entry = await registry.get('coder-1');
    expect(entry?.json()).toMatchObject({ agentId: 'coder-1', role: 'developer', maxConcurrent: 2 });
    // Heartbeats keep rewriting the entry (the put permission works after registration too).
    await waitFor(async () => ((await registry.get('coder-1'))?.revision ?? 0) > entry!.revision, {
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

    // Stop deregisters (KV delete = a put on the agent's own key).
    await first.stop(2000);
    agents.splice(agents.indexOf(first), 1);
    expect(await registry.get('coder-1')).toMatchObject({ operation: 'DEL' });

    // Restart with another maxConcurrent: the SDK updates its existing durable consumer.
    const second = await start(3);
    agents.push(second);
    const jsm = await jetstreamManager(admin);
    const info = await jsm.consumers.info(Streams.assignments, Consumers.agent('coder-1'));
    expect(info.config.max_ack_pending).toBe(3);
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
    // What the worker and another agent's SDK have set up: agent "other"'s consumer and one assignment each.
    await (
      await jetstreamManager(admin)
    ).consumers.add(Streams.assignments, {
      durable_name: Consumers.agent('other'),
      filter_subject: Subjects.assignment('other'),
      ack_policy: AckPolicy.Explicit,
    });
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
    it('can write its own registry entry and publish its own results', async () => {
      const agentsKey = `$KV.${Buckets.agents}.coder-1`;
      const before = await storedOn(admin, 'KV_vapora_agents', agentsKey);
      const kv = await new Kvm(agent).open(Buckets.agents);
      expect(await kv.put('coder-1', '{}')).toBeGreaterThan(0);
      expect(await storedOn(admin, 'KV_vapora_agents', agentsKey)).toBe(before + 1);
      const ack = await jetstream(agent).publish(Subjects.result('coder-1'), '{}');
      expect(ack.stream).toBe(Streams.results);
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
      ['$KV.vapora_tasks.t-1', 'KV_vapora_tasks'],
    ])('cannot publish %s', async (subject, stream) => {
      await expectPublishDenied(agent, subject, stream);
    });

    it("cannot create a consumer on another agent's assignments (durable, ephemeral, ordered)", async () => {
      const jsm = await jetstreamManager(agent);
      const base: Partial<ConsumerConfig> = { ack_policy: AckPolicy.Explicit };
      const other = Subjects.assignment('other');
      // A durable named like the other agent's, an ephemeral with its filter, and its own name with that filter.
      for (const cfg of [
        { ...base, durable_name: Consumers.agent('other'), filter_subject: other },
        { ...base, filter_subject: other },
        { ...base, durable_name: Consumers.agent('coder-1'), filter_subject: other },
        { ...base, durable_name: 'sneaky', filter_subject: other },
      ]) {
        await expect(jsm.consumers.add(Streams.assignments, cfg)).rejects.toThrow(/Permissions Violation/);
      }
      // An ordered consumer (client-generated name) filtered on the other agent's subject.
      await expect(
        jetstream(agent).consumers.get(Streams.assignments, { filter_subjects: other }),
      ).rejects.toThrow(/Permissions Violation/);

      // The server-side filter check: the allowed create subject with a body asking for another filter, or none
      // (which would be every agent's assignments). nats-server compares the body with the subject.
      for (const filter of [{ filter_subject: other }, {}, { filter_subject: 'vapora.assignments.>' }]) {
        const forged = await agent.request(
          `$JS.API.CONSUMER.CREATE.${Streams.assignments}.${Consumers.agent('coder-1')}.${Subjects.assignment('coder-1')}`,
          JSON.stringify({
            stream_name: Streams.assignments,
            config: { durable_name: Consumers.agent('coder-1'), ack_policy: 'explicit', ...filter },
          }),
          { timeout: 2000 },
        );
        expect(forged.json<{ error?: { description: string } }>().error?.description).toMatch(
          /did not match filtered subject/,
        );
      }

      // Stream level: only the worker-created consumer exists; the other agent's assignment is untouched.
      const names: string[] = [];
      for await (const ci of (await jetstreamManager(admin)).consumers.list(Streams.assignments)) {
        names.push(ci.name);
      }
      expect(names).toEqual([Consumers.agent('other')]);
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
