/** Worker lifecycle: recovery after a NATS restart, and a SIGTERM drain of a real worker process. */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { Buckets, Consumers, Streams } from '../../src/bus/subjects.js';
import type { Assignment } from '../../src/domain/index.js';
import { loadWorkerConfig } from '../../src/config/config.js';
import { connectKnowledgeGraph } from '../../src/kg/connect.js';
import { Worker } from '../../src/worker/worker.js';
import { interceptKnowledgeGraph } from '../support/faulty-knowledge-graph.js';
import { waitFor } from '../support/wait-for.js';
import type { Env } from './harness.js';
import {
  keyOf,
  memoryKg,
  publishResult,
  publishTask,
  readProfile,
  readStream,
  result,
  silent,
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

/** surrealkv writes the pid of the process holding a store into its LOCK file; the lock dies with that process. */
async function storeHeldByLiveProcess(storeDir: string): Promise<boolean> {
  const pid = Number((await readFile(join(storeDir, 'LOCK'), 'utf8')).trim());
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('worker lifecycle', () => {
  it('reports its state through state, ready() and the probes, and fails when its NATS connection is gone', async () => {
    env = await startEnv();
    const nc = await connect({ servers: env.server.url });
    const config = loadWorkerConfig({ NATS_URL: env.server.url, HTTP_PORT: '0', LOG_LEVEL: 'silent' });
    const worker = await Worker.create({ config, log: silent, nc, kg: await memoryKg(env) });
    env.workers.push(worker);
    expect(worker.state).toBe('starting');
    expect(await worker.ready()).toEqual({ ready: false, state: 'starting', checks: [] });

    await worker.run();
    expect(worker.state).toBe('running');
    const probe = (path: string) => fetch(`http://127.0.0.1:${worker.httpPort}${path}`);
    const ready = await probe('/readyz');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ready: true, state: 'running' });
    expect((await probe('/healthz')).status).toBe(200);

    // The connection closes for good (the worker does not own it, so nothing reopens it).
    await nc.close();
    await waitFor(() => worker.state === 'failed', { what: 'the failed state' });
    expect((await probe('/healthz')).status).toBe(503);
    const notReady = await probe('/readyz');
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toMatchObject({ ready: false, state: 'failed' });

    await worker.shutdown(1000);
    expect(worker.state).toBe('failed'); // a failure stays visible after the shutdown
  });

  it('goes running → draining → stopped on shutdown', async () => {
    env = await startEnv();
    const worker = await startWorker(env);
    expect(worker.state).toBe('running');
    const stopping = worker.shutdown(1000);
    expect(worker.state).toBe('draining');
    await stopping;
    expect(worker.state).toBe('stopped');
    expect((await worker.ready()).ready).toBe(false);
  });

  it('shuts down within its grace period when the knowledge graph stops answering', async () => {
    env = await startEnv();
    const inner = await memoryKg(env);
    // A KG server gone silent for one kind of write: sent and never answered (no error, no timeout of its own).
    // The "applied" marks trail the ack in batches, so shutdown's final flush is what meets the silence.
    const kg = interceptKnowledgeGraph(inner, (method, call) =>
      method === 'markProfilesApplied' ? new Promise<never>(() => undefined) : call(),
    );
    const worker = await startWorker(env, {}, { kg });
    await startTestAgent(env, 'a1', () => Promise.resolve({ success: true }));
    await publishTask(env, { taskId: 'learned', title: 'Implement the login endpoint' });
    await waitFor(async () => (await readProfile(env!, 'a1'))?.totalExecutions === 1, {
      what: 'the result to be learned',
    });

    const graceMs = 2_000;
    const started = Date.now();
    await worker.shutdown(graceMs);
    const tookMs = Date.now() - started;
    expect(worker.state).toBe('stopped');
    // Bounded by the grace period (plus the drain's minimum slice and scheduling slack), not by the KG.
    expect(tookMs).toBeLessThan(graceMs + 1_500);
    // The evidence itself was written before the ack; only the trailing mark is missing (the dedupe memory covers it).
    expect(await inner.countExecutions('a1', 'coding')).toBe(1);
  });

  it('recovers after the NATS server restarts', async () => {
    env = await startEnv();
    const kg = await memoryKg(env);
    const worker = await startWorker(env, {}, { kg });
    expect(worker.state).toBe('running');
    await publishResult(env, result({ agentId: 'r', executionId: 'before' }));
    await waitFor(async () => (await kg.countExecutions('r', 'coding')) === 1);
    await env.server.restart();
    await waitFor(
      async () => {
        try {
          await publishResult(env!, result({ agentId: 'r', executionId: 'after' }));
          return true;
        } catch {
          return false; // still reconnecting: publishes made while disconnected are not buffered
        }
      },
      { timeoutMs: 20_000, what: 'a publish after the restart' },
    );
    await waitFor(async () => (await readProfile(env!, 'r'))?.totalExecutions === 2, {
      timeoutMs: 20_000,
      what: 'the worker to consume after the restart',
    });
    expect(await kg.countExecutions('r', 'coding')).toBe(2);
    await waitFor(async () => (await worker.ready()).ready, { timeoutMs: 20_000, what: 'readiness' });
    expect(worker.state).toBe('running');
    // The KV mirrors still follow other writers after the restart: an agent registered now gets a task.
    const agents = await new Kvm(env.js).open(Buckets.agents);
    const registration = {
      agentId: 'late',
      role: 'dev',
      maxConcurrent: 1,
      heartbeatAt: new Date().toISOString(),
    };
    await agents.put('late', JSON.stringify(registration));
    await publishTask(env, { taskId: 'for-late', title: 'Implement it', candidates: ['late'] });
    const assignment = await waitFor(
      async () =>
        (await readStream(env!, Streams.assignments))
          .map((m) => m.json<Assignment>())
          .find((a) => a.taskId === 'for-late'),
      { timeoutMs: 20_000, what: 'the task to reach the agent registered after the restart' },
    );
    expect(assignment.agentId).toBe('late');
  });

  it('drains on SIGTERM: work in flight finishes, every acknowledged result is in the KG, the rest is redelivered', async () => {
    env = await startEnv();
    const dir = await mkdtemp(join(tmpdir(), 'vapora-kg-'));
    const storeDir = join(dir, 'kg');
    const kgUrl = `surrealkv://${storeDir}`;
    const total = 300;
    for (let i = 0; i < total; i += 1) {
      await publishResult(env, result({ agentId: 'd', executionId: `d-${String(i).padStart(3, '0')}` }));
    }
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/run.ts', 'worker'], {
      env: {
        ...process.env,
        NODE_OPTIONS: '',
        NATS_URL: env.server.url,
        SURREAL_URL: kgUrl,
        HTTP_PORT: '0',
        LOG_LEVEL: 'info',
        WORKER_CONCURRENCY: '4',
        SHUTDOWN_GRACE_MS: '5000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let logs = '';
    child.stdout.on('data', (chunk: Buffer) => (logs += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (logs += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const jsm = await jetstreamManager(env.nc);
    // Signal only once the counts are known: some results acknowledged, some in flight, some not yet delivered.
    const atSignal = await waitFor(
      async () => {
        const info = await jsm.consumers.info(Streams.results, Consumers.learner);
        const busy = info.ack_floor.stream_seq >= 20 && info.num_ack_pending > 0 && info.num_pending > 0;
        return busy ? info : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 10, what: () => `the worker to be mid-backlog; logs:\n${logs}` },
    );
    // Freeze the server so nothing more is delivered or acknowledged until the worker is draining: the signal
    // cannot race the backlog, and the work in flight is still in flight when the drain begins.
    process.kill(env.server.pid, 'SIGSTOP');
    try {
      child.kill('SIGTERM');
      await waitFor(() => logs.includes('worker state: draining'), {
        timeoutMs: 10_000,
        what: () => `the worker to start draining; logs:\n${logs}`,
      });
    } finally {
      process.kill(env.server.pid, 'SIGCONT');
    }
    const code = await exited;
    expect(code).toBe(0);
    expect(logs).toContain('shut down');

    const acked = (await jsm.consumers.info(Streams.results, Consumers.learner)).ack_floor.stream_seq;
    expect(acked).toBeGreaterThan(atSignal.ack_floor.stream_seq); // what was in flight was finished
    expect(acked).toBeLessThan(total); // and the rest was left for another replica
    await waitFor(async () => !(await storeHeldByLiveProcess(storeDir)), { what: 'the store lock' });
    const kg = await connectKnowledgeGraph({ url: kgUrl });
    env.kgs.push(kg);
    for (let seq = 1; seq <= acked; seq += 1) {
      expect(
        await kg.getExecution(keyOf({ taskId: `task-d-${String(seq - 1).padStart(3, '0')}`, agentId: 'd' })),
      ).not.toBeNull();
    }
    // The next replica on the same store finishes the rest, each result counted once.
    await startWorker(env, {}, { kg });
    await waitFor(async () => (await readProfile(env!, 'd'))?.totalExecutions === total, {
      timeoutMs: 30_000,
      what: 'the next replica to finish the backlog',
    });
    expect(await kg.countExecutions('d', 'coding')).toBe(total);
    await rm(dir, { recursive: true, force: true });
  });
});
