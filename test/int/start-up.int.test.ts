/**
 * Start and stay up through outages (reliability issue, item 1), driven as an operator sees it: the `worker`
 * command as a subprocess and its probes over HTTP, the agent SDK in-process.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { get } from 'node:http';
import { fileURLToPath } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import { startAgent } from '../../src/agent/agent.js';
import { Consumers, Streams } from '../../src/bus/subjects.js';
import { freePort } from '../support/worker-metrics.js';
import { waitFor } from '../support/wait-for.js';
import type { Env } from './harness.js';
import { silent, startEnv, startWorker, stopEnv } from './harness.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

let env: Env | undefined;
let child: ChildProcess | undefined;
afterEach(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  child = undefined;
  await stopEnv(env);
  env = undefined;
});

interface WorkerProcess {
  proc: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function spawnWorker(natsUrl: string, httpPort: number): WorkerProcess {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/cli/run.ts', 'worker'], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      NODE_OPTIONS: '',
      NATS_URL: natsUrl,
      SURREAL_URL: 'mem://',
      HTTP_PORT: String(httpPort),
      LOG_LEVEL: 'info',
      SHUTDOWN_GRACE_MS: '2000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = proc;
  let out = '';
  proc.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  proc.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return { proc, output: () => out, exited };
}

function probe(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path, agent: false, timeout: 3000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('probe timed out')));
  });
}

const count = (text: string, needle: string) => text.split(needle).length - 1;

describe('start-up through outages', () => {
  it('a worker started while NATS is down serves its probes, says what it waits for, and starts when NATS is back', async () => {
    env = await startEnv();
    const url = env.server.url;
    await env.server.kill9();
    const port = await freePort();
    const w = spawnWorker(url, port);
    const what = () => w.output().slice(-3000);
    await waitFor(async () => (await probe(port, '/healthz').catch(() => undefined))?.status === 200, {
      timeoutMs: 30_000,
      what,
    });
    const notReady = await probe(port, '/readyz');
    expect(notReady.status).toBe(503);
    expect(notReady.body).toContain('waiting for nats');
    await waitFor(() => count(w.output(), 'waiting for nats') >= 2, {
      timeoutMs: 20_000,
      what: 'two logged attempts',
    });
    expect(w.proc.exitCode).toBeNull();
    await env.server.restart();
    await waitFor(async () => (await probe(port, '/readyz').catch(() => undefined))?.status === 200, {
      timeoutMs: 30_000,
      what,
    });
    w.proc.kill('SIGTERM');
    expect(await w.exited).toBe(0);
  });

  it('a consumer loop that dies for good makes /readyz fail, then the process drains and exits 1', async () => {
    env = await startEnv();
    const port = await freePort();
    const w = spawnWorker(env.server.url, port);
    const what = () => w.output().slice(-3000);
    await waitFor(async () => (await probe(port, '/readyz').catch(() => undefined))?.status === 200, {
      timeoutMs: 30_000,
      what,
    });
    const jsm = await jetstreamManager(env.nc);
    await jsm.consumers.delete(Streams.tasks, Consumers.assigner);
    await waitFor(
      async () => {
        const r = await probe(port, '/readyz').catch(() => undefined);
        return r?.status === 503 && r.body.includes('consumer loop not running');
      },
      { timeoutMs: 20_000, what },
    );
    const code = await Promise.race([
      w.exited,
      new Promise<'running'>((r) => setTimeout(r, 60_000, 'running')),
    ]);
    expect(code).toBe(1);
    expect(w.output()).toContain('worker failed; draining');
    expect(w.output()).toContain('"msg":"shut down"');
  });

  it('the agent SDK waits for NATS instead of failing, and takes part once NATS and a worker answer', async () => {
    env = await startEnv();
    await env.server.kill9();
    let settled = false;
    const starting = startAgent({
      agentId: 'patient',
      role: 'developer',
      maxConcurrent: 1,
      handler: () => Promise.resolve({ success: true }),
      nats: { url: env.server.url },
      log: silent,
    }).finally(() => (settled = true));
    // Still waiting a while into the outage (an SDK that gave up would have rejected at once).
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(settled).toBe(false);
    await env.server.restart();
    await waitFor(async () => !env!.nc.isClosed() && (await env!.nc.flush().then(() => true)), {
      timeoutMs: 20_000,
      what: 'the test connection back',
    });
    await startWorker(env);
    const agent = await starting;
    env.agents.push(agent);
    expect(agent.agentId).toBe('patient');
  });
});
