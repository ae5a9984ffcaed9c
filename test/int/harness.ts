/**
 * Integration harness: a private nats-server per test, workers on the embedded SurrealDB engine (mem://),
 * agents on the real SDK, and readers for what the worker published.
 */
import type { JetStreamClient } from '@nats-io/jetstream';
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { connect, headers } from '@nats-io/transport-node';
import { pino } from 'pino';
import type { AgentHandle, AssignmentHandler } from '../../src/agent/agent.js';
import { startAgent } from '../../src/agent/agent.js';
import { loadWorkerConfig } from '../../src/config/config.js';
import { isCasConflict } from '../../src/bus/errors.js';
import { applyTopology, loadTopology } from '../../src/bus/topology.js';
import { Buckets, Subjects, profileKey } from '../../src/bus/subjects.js';
import type {
  Assignment,
  CapacityRecord,
  ExecutionResult,
  ProfileRecord,
  TaskArrived,
} from '../../src/domain/index.js';
import { decide, evidenceId, fold, inFlightCount } from '../../src/domain/index.js';
import type { KnowledgeGraph } from '../../src/kg/knowledge-graph.js';
import { connectKnowledgeGraph } from '../../src/kg/connect.js';
import type { WorkerOptions } from '../../src/worker/worker.js';
import { Worker } from '../../src/worker/worker.js';
import type { NatsServerHandle } from '../support/nats-server.js';
import { startNatsServer } from '../support/nats-server.js';

export const silent = pino({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent' });

export interface Env {
  server: NatsServerHandle;
  nc: NatsConnection;
  js: JetStreamClient;
  workers: Worker[];
  agents: AgentHandle[];
  kgs: KnowledgeGraph[];
}

export async function startEnv(): Promise<Env> {
  const server = await startNatsServer();
  const nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 200 });
  await applyTopology(nc, await loadTopology());
  return { server, nc, js: jetstream(nc), workers: [], agents: [], kgs: [] };
}

export async function stopEnv(env: Env | undefined): Promise<void> {
  if (!env) return;
  for (const agent of env.agents) await agent.stop(1000).catch(() => undefined);
  for (const worker of env.workers) await worker.shutdown(2000).catch(() => undefined);
  for (const kg of env.kgs) await kg.close().catch(() => undefined);
  await env.nc.close().catch(() => undefined);
  await env.server.stop();
}

export async function memoryKg(env: Env): Promise<KnowledgeGraph> {
  const kg = await connectKnowledgeGraph({ url: 'mem://', namespace: 'vapora', database: 'kg' });
  env.kgs.push(kg);
  return kg;
}

export async function startWorker(
  env: Env,
  overrides: Record<string, string> = {},
  options: Omit<WorkerOptions, 'config'> = {},
): Promise<Worker> {
  const config = loadWorkerConfig({
    NATS_URL: env.server.url,
    SURREAL_URL: 'mem://',
    HTTP_PORT: '0',
    LOG_LEVEL: 'silent',
    WORKER_CONCURRENCY: '8',
    ...overrides,
  });
  const worker = await Worker.create({
    config,
    log: silent,
    ...options,
    kg: options.kg ?? (await memoryKg(env)),
  });
  await worker.run();
  env.workers.push(worker);
  return worker;
}

export async function startTestAgent(
  env: Env,
  agentId: string,
  handler: AssignmentHandler,
  options: { maxConcurrent?: number; role?: string; taskTypes?: string[] } = {},
): Promise<AgentHandle> {
  const agent = await startAgent({
    agentId,
    role: options.role ?? 'developer',
    maxConcurrent: options.maxConcurrent ?? 4,
    ...(options.taskTypes ? { taskTypes: options.taskTypes } : {}),
    handler,
    nats: { url: env.server.url },
    log: silent,
  });
  env.agents.push(agent);
  return agent;
}

export async function publishTask(env: Env, task: TaskArrived): Promise<void> {
  const h = headers();
  h.set('Nats-Msg-Id', task.taskId);
  await env.js.publish(Subjects.taskArrived, JSON.stringify(task), { headers: h });
}

/**
 * Publishes a result for an assignment the worker holds on record: the task record is written first, as the
 * assigner writes it (`assign` decided on no record), unless the task already has one. A result only counts for
 * an attempt its agent held, so this is how learning tests give the worker history without running every task
 * through an agent. The assignment is dated just before the result's own times, so nothing is clamped.
 */
export async function publishResult(
  env: Env,
  result: ExecutionResult,
  subjectAgent = result.agentId,
): Promise<void> {
  await recordAssignment(env, result);
  await publishUnheldResult(env, result, subjectAgent);
}

/** Publishes a result exactly as given, with no assignment on record (what a forger would send). */
export async function publishUnheldResult(
  env: Env,
  result: ExecutionResult,
  subjectAgent = result.agentId,
): Promise<void> {
  await env.js.publish(Subjects.result(subjectAgent), JSON.stringify(result), { msgID: result.executionId });
}

/** Writes the record of attempt `result.attempt ?? 1` held by `result.agentId`, if the task has no record yet. */
export async function recordAssignment(env: Env, result: ExecutionResult): Promise<void> {
  const began = Date.parse(result.finishedAt) - result.durationMs;
  const times = [began, Date.parse(result.startedAt ?? result.finishedAt), Date.now()];
  const assignedAt = new Date(Math.min(...times) - 1000);
  const assignment: Assignment = {
    taskId: result.taskId,
    agentId: result.agentId,
    taskType: result.taskType,
    policy: 'learned',
    score: { base: 0, expertise: 0, confidence: 0, final: 0 },
    ranking: [],
    reasoning: 'recorded by the test harness',
    assignedAt: assignedAt.toISOString(),
    attempt: result.attempt ?? 1,
    task: { taskId: result.taskId, title: `task of type ${result.taskType}`, taskType: result.taskType },
  };
  const decision = decide(null, {
    type: 'assign',
    assignment: { ...assignment, attempt: 1 },
    firstSeenAt: assignedAt,
    at: assignedAt,
  });
  if (!decision.ok || assignment.attempt !== 1)
    throw new Error('recordAssignment: only attempt 1 is supported');
  const record = fold(decision.events);
  const tasks = await new Kvm(env.js).open(Buckets.tasks);
  try {
    await tasks.create(result.taskId, JSON.stringify(record));
  } catch (err) {
    if (!isCasConflict(err)) throw err; // already on record: keep it
  }
}

export async function publishRaw(env: Env, subject: string, data: Uint8Array | string): Promise<void> {
  await env.js.publish(subject, data);
}

export interface StoredMessage {
  subject: string;
  data: Uint8Array;
  headers: Record<string, string>;
  json<T>(): T;
}

/** Every message currently in a stream whose subject starts with `prefix`, read with an ordered consumer. */
export async function readStream(env: Env, stream: string, prefix = ''): Promise<StoredMessage[]> {
  const jsm = await jetstreamManager(env.nc);
  const info = await jsm.streams.info(stream);
  if (info.state.messages === 0) return [];
  // Filtering client-side: nats-server 2.9 has no multi-filter consumers, and one filter is enough here.
  const consumer = await env.js.consumers.get(stream, { deliver_policy: DeliverPolicy.All });
  const out: StoredMessage[] = [];
  const last = info.state.last_seq;
  const messages = await consumer.fetch({ max_messages: 100_000, expires: 1000 });
  for await (const m of messages) {
    const h: Record<string, string> = {};
    if (m.headers) for (const [key, values] of m.headers) h[key] = values.join(',');
    if (m.subject.startsWith(prefix)) {
      out.push({ subject: m.subject, data: m.data, headers: h, json: <T>() => m.json<T>() });
    }
    if (m.seq >= last) break;
  }
  return out;
}

/** The cached profile as any client reads it from KV (not the worker's in-memory mirror). */
export async function readProfile(
  env: Env,
  agentId: string,
  taskType = 'coding',
): Promise<ProfileRecord | undefined> {
  const entry = await (await new Kvm(env.js).open(Buckets.profiles)).get(profileKey(agentId, taskType));
  return entry && entry.operation === 'PUT' ? entry.json<ProfileRecord>() : undefined;
}

/** Reservations an agent holds, read from the capacity bucket. */
export async function readInFlight(env: Env, agentId: string): Promise<number> {
  const entry = await (await new Kvm(env.js).open(Buckets.capacity)).get(agentId);
  return inFlightCount(entry && entry.operation === 'PUT' ? entry.json<CapacityRecord>() : undefined);
}

/** Sum of every sample of one metric, scraped from the worker's /metrics endpoint like Prometheus would. */
export async function scrapeTotal(worker: Worker, metric: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${worker.httpPort}/metrics`);
  const text = await res.text();
  let total = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (match?.[1] === metric) total += Number(match[3]);
  }
  return total;
}

export function result(
  overrides: Partial<ExecutionResult> & Pick<ExecutionResult, 'agentId'>,
): ExecutionResult {
  const executionId = overrides.executionId ?? `ex-${Math.random().toString(36).slice(2, 10)}`;
  return {
    executionId,
    // One task per result unless told otherwise, named after it so that tests can find its evidence (keyOf).
    taskId: `task-${executionId}`,
    taskType: 'coding',
    success: true,
    durationMs: 1000,
    finishedAt: new Date().toISOString(),
    ...overrides,
  };
}

/** The KG id the worker records a result under: derived from (task, attempt, agent), never the agent's id. */
export function keyOf(r: Pick<ExecutionResult, 'taskId' | 'agentId' | 'attempt'>): string {
  return evidenceId(r.taskId, r.attempt ?? 1, r.agentId);
}
