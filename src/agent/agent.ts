/**
 * The agent SDK: what an agent pod calls to take part. One call registers the agent, heartbeats, consumes its
 * own assignments through its own durable consumer, runs the handler with at most `maxConcurrent` in flight,
 * reports every result (success or failure) and deregisters on stop.
 *
 *   const agent = await startAgent({ agentId: 'coder-1', role: 'developer', maxConcurrent: 2,
 *     handler: async (assignment) => ({ success: true, qualityScore: 0.9 }) });
 *   ...
 *   await agent.stop();
 */
import { createHash } from 'node:crypto';
import type { JsMsg } from '@nats-io/jetstream';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { nanos } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { pino } from 'pino';
import type { NatsConfig } from '../config/config.js';
import { connectNats } from '../bus/connect.js';
import { isConsumerNotFound } from '../bus/errors.js';
import { Buckets, Consumers, Streams, Subjects } from '../bus/subjects.js';
import type { AgentRegistration, Assignment, ExecutionResult } from '../domain/index.js';
import { AssignmentSchema, decode } from '../domain/index.js';

/** What a handler may report besides success; everything optional. */
export interface HandlerResult {
  /** @default true */
  success?: boolean;
  qualityScore?: number;
  costCents?: number;
  provider?: string;
  error?: string;
  /** Overrides the measured duration (e.g. time spent in an external system). */
  durationMs?: number;
  /** Overrides the reported finish time (e.g. when replaying recorded executions). @default now */
  finishedAt?: Date;
}

export interface AgentContext {
  log: Logger;
  /** Aborted when the agent is stopping and the grace period ran out. */
  signal: AbortSignal;
}

export type AssignmentHandler = (
  assignment: Assignment,
  context: AgentContext,
) => Promise<HandlerResult | void>;

export interface AgentOptions {
  agentId: string;
  role: string;
  taskTypes?: string[];
  maxConcurrent: number;
  handler: AssignmentHandler;
  /** A connection to use (not closed by stop), or settings to open one. */
  nats: NatsConnection | NatsConfig;
  /** @default 10000 */
  heartbeatIntervalMs?: number;
  log?: Logger;
}

export interface AgentHandle {
  agentId: string;
  /** Assignments finished (result published and acknowledged). */
  readonly completed: number;
  /** Stops taking work, waits for running handlers (up to graceMs), deregisters and disconnects. */
  stop(graceMs?: number): Promise<void>;
}

/** Handlers may run long: the SDK tells the server it is still working every ACK_WAIT/2. */
const ACK_WAIT_MS = 60_000;

export async function startAgent(options: AgentOptions): Promise<AgentHandle> {
  const { agentId, maxConcurrent, handler } = options;
  const log = (options.log ?? pino({ name: 'vapora-agent' })).child({ agentId });
  const ownsConnection = !isConnection(options.nats);
  const nc = isConnection(options.nats)
    ? options.nats
    : await connectNats(options.nats, {
        name: `vapora-agent-${agentId}`,
        inboxPrefix: `_INBOX.agent-${agentId}`,
      });
  const js = jetstream(nc);
  const kv = await new Kvm(js).open(Buckets.agents);

  const registration = (): AgentRegistration => ({
    agentId,
    role: options.role,
    ...(options.taskTypes ? { taskTypes: options.taskTypes } : {}),
    maxConcurrent,
    heartbeatAt: new Date().toISOString(),
  });
  await kv.put(agentId, JSON.stringify(registration()));
  const heartbeat = setInterval(() => {
    kv.put(agentId, JSON.stringify(registration())).catch((err: unknown) =>
      log.warn({ err }, 'heartbeat failed'),
    );
  }, options.heartbeatIntervalMs ?? 10_000);

  await ensureConsumer(nc, agentId, maxConcurrent);
  const consumer = await js.consumers.get(Streams.assignments, Consumers.agent(agentId));
  const messages = await consumer.consume({ max_messages: maxConcurrent });
  const abort = new AbortController();
  const running = new Set<Promise<void>>();
  let completed = 0;
  let stopping = false;

  const pump = (async () => {
    for await (const msg of messages) {
      if (stopping) {
        msg.nak();
        continue;
      }
      const job = execute(msg).finally(() => running.delete(job));
      running.add(job);
      while (running.size >= maxConcurrent) await Promise.race(running);
    }
  })();

  async function execute(msg: JsMsg): Promise<void> {
    const decoded = decode(AssignmentSchema, msg.data);
    if (!decoded.ok || decoded.value.agentId !== agentId) {
      log.error(
        { reason: decoded.ok ? 'assignment for another agent' : decoded.reason },
        'dropping bad assignment',
      );
      msg.term(); // no reason: nats-server 2.9 ignores a term that carries one
      return;
    }
    const assignment = decoded.value;
    const started = new Date();
    const keepAlive = setInterval(() => msg.working(), ACK_WAIT_MS / 2);
    let outcome: HandlerResult;
    try {
      outcome =
        (await handler(assignment, {
          log: log.child({ taskId: assignment.taskId }),
          signal: abort.signal,
        })) ?? {};
    } catch (err) {
      outcome = { success: false, error: err instanceof Error ? err.message : String(err) };
    } finally {
      clearInterval(keepAlive);
    }
    const result = toResult(assignment, outcome, started, new Date());
    try {
      await js.publish(Subjects.result(agentId), JSON.stringify(result), { msgID: result.executionId });
      await msg.ackAck();
      completed += 1;
    } catch (err) {
      // Not acknowledged: the assignment comes back and the same executionId is reported again (deduplicated).
      log.warn({ err }, 'could not report result; the assignment will be redelivered');
    }
  }

  return {
    agentId,
    get completed() {
      return completed;
    },
    async stop(graceMs = 10_000) {
      if (stopping) return;
      stopping = true;
      clearInterval(heartbeat);
      const timer = new Promise((resolve) => setTimeout(resolve, graceMs).unref());
      // close() waits for the iterator to drain, which a stuck handler can block: bound it by the grace period.
      await Promise.race([messages.close().catch(() => undefined), timer]);
      await Promise.race([Promise.all(running), timer]);
      abort.abort();
      await Promise.race([pump, timer]);
      await kv.delete(agentId).catch(() => undefined);
      if (ownsConnection) await nc.drain().catch(() => undefined);
    },
  };
}

function isConnection(value: NatsConnection | NatsConfig): value is NatsConnection {
  return typeof (value as NatsConnection).publish === 'function';
}

/** The agent's durable consumer: only its own subject, at most maxConcurrent unacknowledged at the server. */
async function ensureConsumer(nc: NatsConnection, agentId: string, maxConcurrent: number): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const name = Consumers.agent(agentId);
  const config = {
    durable_name: name,
    filter_subject: Subjects.assignment(agentId),
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(ACK_WAIT_MS),
    max_ack_pending: maxConcurrent,
  };
  try {
    const info = await jsm.consumers.info(Streams.assignments, name);
    if (info.config.max_ack_pending !== maxConcurrent) {
      await jsm.consumers.update(Streams.assignments, name, { max_ack_pending: maxConcurrent });
    }
  } catch (err) {
    if (!isConsumerNotFound(err)) throw err;
    await jsm.consumers.add(Streams.assignments, config);
  }
}

/** One execution per (task, attempt, agent): a re-run after redelivery reports the same id, counted once. */
export function executionIdFor(assignment: Pick<Assignment, 'taskId' | 'attempt' | 'agentId'>): string {
  const plain = `${assignment.taskId}-${assignment.attempt}`;
  if (plain.length <= 128) return plain;
  const digest = createHash('sha256').update(`${assignment.taskId}\u0000${assignment.attempt}`).digest('hex');
  return `x-${digest.slice(0, 40)}`;
}

function toResult(
  assignment: Assignment,
  outcome: HandlerResult,
  started: Date,
  finished: Date,
): ExecutionResult {
  return {
    executionId: executionIdFor(assignment),
    taskId: assignment.taskId,
    agentId: assignment.agentId,
    taskType: assignment.taskType,
    attempt: assignment.attempt,
    success: outcome.success ?? true,
    durationMs: outcome.durationMs ?? Math.max(0, finished.getTime() - started.getTime()),
    ...(outcome.finishedAt === undefined ? { startedAt: started.toISOString() } : {}),
    finishedAt: (outcome.finishedAt ?? finished).toISOString(),
    ...(outcome.qualityScore !== undefined ? { qualityScore: outcome.qualityScore } : {}),
    ...(outcome.costCents !== undefined ? { costCents: outcome.costCents } : {}),
    ...(outcome.provider !== undefined ? { provider: outcome.provider } : {}),
    ...(outcome.error !== undefined ? { error: outcome.error.slice(0, 4096) } : {}),
  };
}
