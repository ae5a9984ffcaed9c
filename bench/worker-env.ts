/** Shared set-up for the worker benchmarks: a private nats-server, the topology, registered agents, profiles. */
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { connect } from '@nats-io/transport-node';
import { pino } from 'pino';
import type { NatsServerHandle } from '../test/support/nats-server.js';
import { startNatsServer } from '../test/support/nats-server.js';
import { applyTopology, loadTopology } from '../src/bus/topology.js';
import { Buckets, profileKey } from '../src/bus/subjects.js';
import { loadWorkerConfig } from '../src/config/config.js';
import type { AgentRegistration, ExpertiseState } from '../src/domain/index.js';
import { applyExecution, createExpertiseState, MS_PER_DAY, toProfileRecord } from '../src/domain/index.js';
import type { KnowledgeGraph } from '../src/kg/knowledge-graph.js';
import { connectKnowledgeGraph } from '../src/kg/connect.js';
import { Worker } from '../src/worker/worker.js';

export const silent = pino({ level: 'silent' });

export interface BenchEnv {
  server: NatsServerHandle;
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  close(): Promise<void>;
}

export async function startBenchEnv(): Promise<BenchEnv> {
  const server = await startNatsServer();
  const nc = await connect({ servers: server.url });
  await applyTopology(nc, await loadTopology());
  return {
    server,
    nc,
    js: jetstream(nc),
    jsm: await jetstreamManager(nc),
    close: async () => {
      await nc.close();
      await server.stop();
    },
  };
}

export async function memoryKg(): Promise<KnowledgeGraph> {
  return connectKnowledgeGraph({ url: 'mem://' });
}

export async function startBenchWorker(env: BenchEnv, kg: KnowledgeGraph, concurrency = 16): Promise<Worker> {
  const config = loadWorkerConfig({
    NATS_URL: env.server.url,
    SURREAL_URL: 'mem://',
    HTTP_PORT: '0',
    LOG_LEVEL: 'silent',
    WORKER_CONCURRENCY: String(concurrency),
    ...(process.env['BENCH_POLICY'] ? { POLICY: process.env['BENCH_POLICY'] } : {}),
  });
  const worker = await Worker.create({ config, log: silent, kg });
  return worker;
}

export const agentIds = (count: number) => Array.from({ length: count }, (_, i) => `agent-${i}`);

/** Agents that never run out of capacity, so throughput measures the worker, not the agents. */
export async function registerAgents(
  env: BenchEnv,
  ids: readonly string[],
  maxConcurrent = 10_000,
): Promise<void> {
  const kv = await new Kvm(env.js).open(Buckets.agents);
  for (const agentId of ids) {
    const registration: AgentRegistration = {
      agentId,
      role: 'developer',
      maxConcurrent,
      heartbeatAt: new Date().toISOString(),
    };
    await kv.put(agentId, JSON.stringify(registration));
  }
}

/** A profile state folded from `history` executions spread over 60 days. */
export function historyState(
  taskType: string,
  history: number,
  seed: string,
  successEvery = 4,
): ExpertiseState {
  let state = createExpertiseState(taskType);
  const now = Date.now();
  for (let i = 0; i < history; i += 1) {
    state = applyExecution(state, {
      executionId: `${seed}-${i}`,
      success: i % successEvery !== 0,
      durationMs: 500 + (i % 997),
      finishedAt: new Date(now - 60 * MS_PER_DAY + (i * 60 * MS_PER_DAY) / history).toISOString(),
    });
  }
  return state;
}

export async function seedProfiles(
  env: BenchEnv,
  ids: readonly string[],
  taskType: string,
  history: number,
): Promise<void> {
  const kv = await new Kvm(env.js).open(Buckets.profiles);
  for (const [i, agentId] of ids.entries()) {
    const record = toProfileRecord(
      agentId,
      historyState(taskType, history, `${agentId}-${taskType}`, 2 + (i % 5)),
      new Date(),
    );
    await kv.put(profileKey(agentId, taskType), JSON.stringify(record));
  }
}

/** Polls every `intervalMs`: keep it short for in-process probes, longer for ones that ask the server. */
export async function waitUntil(
  probe: () => boolean | Promise<boolean>,
  intervalMs = 5,
  timeoutMs = 120_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error('benchmark timed out');
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * True once the worker's durable consumer has handled every message: none left to deliver, none unacknowledged.
 * Read from the server (as an operator would), not from the worker's internals.
 */
export async function consumerDrained(env: BenchEnv, stream: string, consumer: string): Promise<boolean> {
  const info = await env.jsm.consumers.info(stream, consumer);
  return info.num_pending === 0 && info.num_ack_pending === 0;
}

/** Runs `work(i)` for i in [0, n) with at most `concurrency` in flight. */
export async function pool(
  n: number,
  concurrency: number,
  work: (i: number) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        await work(i);
      }
    }),
  );
}
