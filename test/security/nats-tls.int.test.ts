/**
 * TLS to NATS with the worker's own configuration path (env → loadNatsConfig/loadWorkerConfig → connectNats):
 * a self-signed CA and server certificate are generated here with openssl; the server requires TLS, and in one
 * case also a client certificate (`verify: true`, mutual TLS).
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { jest } from '@jest/globals';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import type { AgentHandle } from '../../src/agent/agent.js';
import { startAgent } from '../../src/agent/agent.js';
import { connectNats } from '../../src/bus/connect.js';
import { Streams, Subjects } from '../../src/bus/subjects.js';
import { loadNatsConfig, loadWorkerConfig } from '../../src/config/config.js';
import { NatsUnavailableError } from '../../src/errors.js';
import { connectKnowledgeGraph } from '../../src/kg/connect.js';
import type { KnowledgeGraph } from '../../src/kg/knowledge-graph.js';
import { Worker } from '../../src/worker/worker.js';
import type { NatsServerHandle } from '../support/nats-server.js';
import { natsServerBinary, startNatsServer } from '../support/nats-server.js';
import { waitFor } from '../support/wait-for.js';

jest.setTimeout(60_000);
const run = promisify(execFile);
const silent = pino({ level: 'silent' });

const HAVE_OPENSSL = spawnSync('which', ['openssl']).status === 0;
const HAVE_NATS = natsServerBinary() !== null;
if (!HAVE_OPENSSL)
  console.warn('skipped NATS TLS tests: openssl is not on PATH (apt-get install -y openssl)');
if (!HAVE_NATS) console.warn('skipped NATS TLS tests: nats-server is not installed');
const describeTls = HAVE_OPENSSL && HAVE_NATS ? describe : describe.skip;

interface Pki {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A second, unrelated CA: trusting it instead of the right one must fail. */
  otherCa: string;
}

/** CA, server certificate (SAN DNS:localhost, IP:127.0.0.1) and client certificate, EC P-256, valid one day. */
async function makePki(): Promise<Pki> {
  const dir = await mkdtemp(path.join(tmpdir(), 'vapora-tls-'));
  const f = (name: string) => path.join(dir, name);
  const ssl = (...args: string[]) => run('openssl', args, { cwd: dir });
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const ca = async (name: string) =>
    ssl(
      'req',
      '-x509',
      ...key,
      '-keyout',
      f(`${name}.key`),
      '-out',
      f(`${name}.pem`),
      '-days',
      '1',
      '-subj',
      `/CN=${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    );
  const leaf = async (name: string, cn: string, ext: string) => {
    await writeFile(f(`${name}.ext`), ext);
    await ssl('req', ...key, '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', `/CN=${cn}`);
    await ssl(
      'x509',
      '-req',
      '-in',
      f(`${name}.csr`),
      '-CA',
      f('ca.pem'),
      '-CAkey',
      f('ca.key'),
      '-CAcreateserial',
      '-out',
      f(`${name}.pem`),
      '-days',
      '1',
      '-extfile',
      f(`${name}.ext`),
    );
  };
  await ca('ca');
  await ca('other-ca');
  await leaf(
    'server',
    'localhost',
    'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n',
  );
  await leaf('client', 'vapora-worker', 'extendedKeyUsage=clientAuth\n');
  return {
    dir,
    ca: f('ca.pem'),
    serverCert: f('server.pem'),
    serverKey: f('server.key'),
    clientCert: f('client.pem'),
    clientKey: f('client.key'),
    otherCa: f('other-ca.pem'),
  };
}

/** A JetStream nats-server that only speaks TLS; `verify` also demands a client certificate signed by the CA. */
async function startTlsServer(pki: Pki, verify: boolean): Promise<NatsServerHandle> {
  const configFile = path.join(pki.dir, verify ? 'mtls.conf' : 'tls.conf');
  await writeFile(
    configFile,
    [
      'tls {',
      `  cert_file: "${pki.serverCert}"`,
      `  key_file: "${pki.serverKey}"`,
      `  ca_file: "${pki.ca}"`,
      `  verify: ${verify}`,
      '  timeout: 2',
      '}',
      '',
    ].join('\n'),
  );
  return startNatsServer({ configFile });
}

/** Core request/reply and a JetStream publish + pull over `nc`: the connection really carries traffic. */
async function roundTrip(nc: NatsConnection): Promise<void> {
  const sub = nc.subscribe('tls.echo', {
    callback: (_err, m) => {
      m.respond(m.data);
    },
  });
  expect((await nc.request('tls.echo', 'ping', { timeout: 2000 })).string()).toBe('ping');
  sub.unsubscribe();
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: 'TLS_CHECK', subjects: ['tls.check'] });
  const ack = await jetstream(nc).publish('tls.check', 'over tls');
  await jsm.consumers.add('TLS_CHECK', { durable_name: 'c', ack_policy: AckPolicy.Explicit });
  const msg = await (await jetstream(nc).consumers.get('TLS_CHECK', 'c')).next({ expires: 2000 });
  expect(msg?.seq).toBe(ack.seq);
  expect(msg?.string()).toBe('over tls');
  await msg?.ackAck();
  await jsm.streams.delete('TLS_CHECK');
}

/** connectNats with the environment an operator would set; resolves to the error when it fails. */
async function tryConnect(env: Record<string, string>): Promise<NatsConnection | Error> {
  try {
    return await connectNats(loadNatsConfig(env), { name: 'tls-test', timeoutMs: 3000 });
  } catch (err) {
    return err as Error;
  }
}

/** connectNats failed, the cause says why (`cause`), and the message tells the operator what to set (`fix`). */
function expectRefused(result: NatsConnection | Error, cause: RegExp, fix: RegExp): void {
  expect(result).toBeInstanceOf(NatsUnavailableError);
  const err = result as Error;
  expect(String((err.cause as Error | undefined)?.message)).toMatch(cause);
  expect(err.message).toMatch(fix);
}

describeTls('TLS to NATS with a self-signed CA', () => {
  let pki: Pki;
  beforeAll(async () => {
    pki = await makePki();
  });
  afterAll(async () => {
    if (pki) await rm(pki.dir, { recursive: true, force: true });
  });

  describe('server TLS', () => {
    let server: NatsServerHandle;
    const conns: NatsConnection[] = [];
    beforeAll(async () => {
      server = await startTlsServer(pki, false);
    });
    afterAll(async () => {
      await Promise.all(conns.map((c) => c.close().catch(() => undefined)));
      await server?.stop();
    });

    it.each([
      ['tls://localhost', 'tls'],
      ['nats://localhost', 'nats (upgraded: the server requires TLS)'],
      ['tls://127.0.0.1', 'tls to the IP (SAN IP:127.0.0.1)'],
    ])('connects with NATS_URL=%s:<port> and NATS_TLS_CA, and carries traffic (%s)', async (base) => {
      const nc = await tryConnect({ NATS_URL: `${base}:${server.port}`, NATS_TLS_CA: pki.ca });
      if (nc instanceof Error) throw nc;
      conns.push(nc);
      expect(nc.info?.tls_required).toBe(true);
      await roundTrip(nc);
    });

    it('fails with a certificate error without the CA, or with the wrong CA', async () => {
      const url = `tls://localhost:${server.port}`;
      const untrusted = /unable to verify the first certificate/;
      const fix = /TLS failed: set NATS_TLS_CA/;
      expectRefused(await tryConnect({ NATS_URL: url }), untrusted, fix);
      expectRefused(await tryConnect({ NATS_URL: `nats://localhost:${server.port}` }), untrusted, fix);
      expectRefused(await tryConnect({ NATS_URL: url, NATS_TLS_CA: pki.otherCa }), untrusted, fix);
    });
  });

  describe('mutual TLS (verify: true)', () => {
    let server: NatsServerHandle;
    let kg: KnowledgeGraph | undefined;
    let worker: Worker | undefined;
    let agent: AgentHandle | undefined;
    beforeAll(async () => {
      server = await startTlsServer(pki, true);
    });
    afterAll(async () => {
      await agent?.stop(1000).catch(() => undefined);
      await worker?.shutdown(2000).catch(() => undefined);
      await kg?.close().catch(() => undefined);
      await server?.stop();
    });

    it('refuses a client without a certificate', async () => {
      const result = await tryConnect({ NATS_URL: `tls://localhost:${server.port}`, NATS_TLS_CA: pki.ca });
      expectRefused(result, /timeout/, /set NATS_TLS_CERT and NATS_TLS_KEY/);
      // The server says why (with TLS 1.3 the client only sees the connection go away).
      await waitFor(() => /client didn't provide a certificate/.test(server.logs()), {
        what: 'the server to log the missing client certificate',
      });
    });

    it('runs the worker with NATS_TLS_CA, NATS_TLS_CERT and NATS_TLS_KEY and learns a result', async () => {
      const env = {
        NATS_URL: `tls://localhost:${server.port}`,
        NATS_TLS_CA: pki.ca,
        NATS_TLS_CERT: pki.clientCert,
        NATS_TLS_KEY: pki.clientKey,
      };
      const config = loadWorkerConfig({ ...env, SURREAL_URL: 'mem://', HTTP_PORT: '0', LOG_LEVEL: 'silent' });
      expect(config.nats.tls).toEqual({ caFile: pki.ca, certFile: pki.clientCert, keyFile: pki.clientKey });
      kg = await connectKnowledgeGraph({ url: 'mem://', namespace: 'vapora', database: 'kg' });
      worker = await Worker.create({ config, log: silent, kg });
      await worker.run();

      const nc = await tryConnect(env);
      if (nc instanceof Error) throw nc;
      try {
        await roundTrip(nc);
        // An SDK agent over the same mutual TLS runs one task: the result counts because it held the assignment.
        agent = await startAgent({
          agentId: 'tls-agent',
          role: 'developer',
          maxConcurrent: 1,
          nats: loadNatsConfig(env),
          log: silent,
          handler: async () => ({ success: true }),
        });
        const ack = await jetstream(nc).publish(
          Subjects.taskArrived,
          JSON.stringify({ taskId: 'tls-task', title: 'Implement the TLS login', taskType: 'coding' }),
          { msgID: 'tls-task' },
        );
        expect(ack.stream).toBe(Streams.tasks);
        await waitFor(async () => (await kg!.countExecutions('tls-agent', 'coding')) === 1, {
          what: 'the worker to learn the result over mutual TLS',
          timeoutMs: 10_000,
        });
      } finally {
        await nc.close();
      }
    });
  });
});
