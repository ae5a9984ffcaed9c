// Runs a private nats-server with k8s/base/nats/auth.conf and proves each role's permissions with
// the real client: agents touch only their own subjects, producers only announce tasks.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { REPO_ROOT } from './helpers.js';

const NATS_SERVER = process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server';
const HAVE_NATS = existsSync(NATS_SERVER);
const PASS = { worker: 'w', producer: 'p', agent: 'a' };

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

async function waitForServer(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      const nc = await connect({ port, user: 'worker', pass: PASS.worker, reconnect: false });
      await nc.close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error('nats-server did not start');
}

const describeNats = HAVE_NATS ? describe : describe.skip;
if (!HAVE_NATS) console.warn(`skipped NATS permission tests: ${NATS_SERVER} is not installed`);

describeNats('NATS permissions from auth.conf', () => {
  let dir = '';
  let server: ChildProcess | undefined;
  let port = 0;
  const conns: NatsConnection[] = [];
  const open = async (user: string, pass: string, inboxPrefix?: string): Promise<NatsConnection> => {
    const nc = await connect({ port, user, pass, reconnect: false, ...(inboxPrefix ? { inboxPrefix } : {}) });
    conns.push(nc);
    return nc;
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vapora-nats-perm-'));
    port = await freePort();
    await copyFile(path.join(REPO_ROOT, 'k8s/base/nats/auth.conf'), path.join(dir, 'auth.conf'));
    const conf = path.join(dir, 'server.conf');
    await writeFile(
      conf,
      `port: ${port}\nhttp_port: -1\njetstream { store_dir: "${dir}/js" }\ninclude ./auth.conf\n`,
    );
    server = spawn(NATS_SERVER, ['-c', conf], {
      env: {
        ...process.env,
        VAPORA_WORKER_PASSWORD: PASS.worker,
        VAPORA_PRODUCER_PASSWORD: PASS.producer,
        VAPORA_AGENT_CODER_1_PASSWORD: PASS.agent,
      },
      stdio: 'ignore',
    });
    await waitForServer(port);
    const worker = await open('worker', PASS.worker);
    const jsm = await jetstreamManager(worker);
    await jsm.streams.add({ name: 'VAPORA_TASKS', subjects: ['vapora.tasks.>'] });
    await jsm.streams.add({ name: 'VAPORA_ASSIGNMENTS', subjects: ['vapora.assignments.>'] });
    await jsm.streams.add({ name: 'VAPORA_RESULTS', subjects: ['vapora.results.>'] });
    await new Kvm(worker).create('vapora_agents');
    const js = jetstream(worker);
    await js.publish('vapora.assignments.coder-1', 'mine');
    await js.publish('vapora.assignments.other', 'not mine');
  });

  afterAll(async () => {
    await Promise.all(conns.map((c) => c.close().catch(() => undefined)));
    server?.kill();
    await rm(dir, { recursive: true, force: true });
  });

  it('lets an agent consume only its own assignments through its durable consumer', async () => {
    const nc = await open('agent-coder-1', PASS.agent, '_INBOX.agent-coder-1');
    const jsm = await jetstreamManager(nc, { checkAPI: false });
    const cfg = { durable_name: 'agent-coder-1', ack_policy: AckPolicy.Explicit };
    await jsm.consumers.add('VAPORA_ASSIGNMENTS', { ...cfg, filter_subject: 'vapora.assignments.coder-1' });
    await expect(
      jsm.consumers.add('VAPORA_ASSIGNMENTS', { ...cfg, filter_subject: 'vapora.assignments.other' }),
    ).rejects.toThrow(/Permissions Violation/);
    const consumer = await jetstream(nc).consumers.get('VAPORA_ASSIGNMENTS', 'agent-coder-1');
    const msg = await consumer.next({ expires: 2000 });
    expect(msg?.string()).toBe('mine');
    expect(await msg?.ackAck()).toBe(true);
  }, 30_000);

  it("lets an agent publish its own results and registry entry, nobody else's", async () => {
    const nc = await open('agent-coder-1', PASS.agent, '_INBOX.agent-coder-1');
    const js = jetstream(nc);
    expect((await js.publish('vapora.results.coder-1', '{}')).stream).toBe('VAPORA_RESULTS');
    await expect(js.publish('vapora.results.other', '{}', { timeout: 2000 })).rejects.toThrow(
      /Permissions Violation/,
    );
    const kv = await new Kvm(nc).open('vapora_agents');
    expect(await kv.put('coder-1', '{}')).toBeGreaterThan(0);
    await expect(kv.put('other', '{}', { timeout: 2000 })).rejects.toThrow(/Permissions Violation/);
  }, 30_000);

  it("refuses an agent the shared _INBOX (it would see other agents' pulled messages)", async () => {
    const nc = await open('agent-coder-1', PASS.agent);
    await expect(jetstream(nc).publish('vapora.results.coder-1', '{}', { timeout: 2000 })).rejects.toThrow(
      /Permissions Violation for Subscription/,
    );
  }, 30_000);

  it('lets a producer publish vapora.tasks.arrived only', async () => {
    const nc = await open('producer', PASS.producer, '_INBOX.producer');
    const js = jetstream(nc);
    expect((await js.publish('vapora.tasks.arrived', '{}')).stream).toBe('VAPORA_TASKS');
    await expect(js.publish('vapora.tasks.other', '{}', { timeout: 2000 })).rejects.toThrow(
      /Permissions Violation/,
    );
    await expect(js.publish('vapora.results.coder-1', '{}', { timeout: 2000 })).rejects.toThrow(
      /Permissions Violation/,
    );
  }, 30_000);
});
