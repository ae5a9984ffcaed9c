/**
 * The agent SDK: what an agent pod calls to take part. One call heartbeats on the agent's own subject (the worker
 * registers it and creates its consumer), consumes its own assignments through that durable consumer, runs the
 * handler with at most `maxConcurrent` in flight, reports every result (success or failure) with the assignment's
 * attempt, and says it is leaving on stop. It writes no KV entry and creates no consumer: an agent's NATS user may
 * only fetch and ack its own assignments and publish its own results and heartbeats.
 *
 *   const agent = await startAgent({ agentId: 'coder-1', role: 'developer', maxConcurrent: 2,
 *     handler: async (assignment) => ({ success: true, qualityScore: 0.9 }) });
 *   ...
 *   await agent.stop();
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Consumer, JetStreamClient, JsMsg } from '@nats-io/jetstream';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { pino } from 'pino';
import type { NatsConfig } from '../config/config.js';
import { NatsUnavailableError } from '../errors.js';
import { connectNatsWaiting } from '../bus/connect.js';
import { AGENT_ACK_WAIT_MS } from '../bus/agent-consumer.js';
import { isConsumerNotFound, isNatsOutage } from '../bus/errors.js';
import { Consumers, Streams, Subjects } from '../bus/subjects.js';
import type { AgentHeartbeat, Assignment, ExecutionResult } from '../domain/index.js';
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
  /** How long to wait for NATS to accept the first connection (with `nats` settings). @default no limit */
  connectWaitMs?: number;
  /** How long to wait for the worker to create this agent's consumer after the first heartbeat. @default 60000 */
  consumerWaitMs?: number;
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
const ACK_WAIT_MS = AGENT_ACK_WAIT_MS;

export async function startAgent(options: AgentOptions): Promise<AgentHandle> {
  const { agentId, maxConcurrent, handler } = options;
  const log = (options.log ?? pino({ name: 'vapora-agent' })).child({ agentId });
  const ownsConnection = !isConnection(options.nats);
  // NATS unreachable at start (a node restarting under the pod): wait for it, saying so on every attempt.
  const nc = isConnection(options.nats)
    ? options.nats
    : await connectNatsWaiting(options.nats, {
        name: `vapora-agent-${agentId}`,
        inboxPrefix: `_INBOX.agent-${agentId}`,
        ...(options.connectWaitMs !== undefined ? { waitMs: options.connectWaitMs } : {}),
        onRetry: (attempt, err, retryInMs) =>
          log.warn({ attempt, waitingFor: 'nats', retryInMs, err: err.message }, 'waiting for NATS'),
      });
  const js = jetstream(nc);
  // JetStream dedupes Nats-Msg-Id across the whole stream, whoever publishes: an id another agent can predict
  // (the executionId is <taskId>-<attempt>) lets it publish first and have this result dropped as a duplicate. A
  // per-process nonce keeps redelivered re-runs deduplicated here; across restarts the learner's evidence key
  // (task, attempt, agent) counts a result once anyway.
  const msgIdNonce = randomUUID();

  const declared: AgentHeartbeat = {
    agentId,
    role: options.role,
    ...(options.taskTypes ? { taskTypes: options.taskTypes } : {}),
    maxConcurrent,
  };
  const beat = (body: AgentHeartbeat) => nc.publish(Subjects.heartbeat(agentId), JSON.stringify(body));
  beat(declared);
  const heartbeat = setInterval(() => {
    try {
      beat(declared);
    } catch (err) {
      log.warn({ err }, 'heartbeat failed');
    }
  }, options.heartbeatIntervalMs ?? 10_000);

  let consumer: Consumer;
  try {
    consumer = await awaitConsumer(js, agentId, options.consumerWaitMs ?? 60_000, () => beat(declared));
  } catch (err) {
    clearInterval(heartbeat);
    if (ownsConnection) await nc.close().catch(() => undefined);
    throw err;
  }
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
      await js.publish(Subjects.result(agentId), JSON.stringify(result), {
        msgID: `${result.executionId}.${msgIdNonce}`,
      });
      await msg.ackAck();
      completed += 1;
    } catch (err) {
      // Not acknowledged: the assignment comes back and is reported again (counted once by the worker).
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
      try {
        beat({ agentId, leaving: true });
        await nc.flush();
      } catch {
        // Unregistered or not, the registry entry ages out after the heartbeat timeout.
      }
      if (ownsConnection) await nc.drain().catch(() => undefined);
    },
  };
}

function isConnection(value: NatsConnection | NatsConfig): value is NatsConnection {
  return typeof (value as NatsConnection).publish === 'function';
}

/**
 * The worker creates the agent's consumer on its first heartbeat: wait for it, heartbeating again meanwhile (a
 * worker that starts later, or a lost first heartbeat, must still see one).
 */
async function awaitConsumer(
  js: JetStreamClient,
  agentId: string,
  waitMs: number,
  heartbeat: () => void,
): Promise<Consumer> {
  const deadline = Date.now() + waitMs;
  for (let delay = 50; ; delay = Math.min(1000, delay * 2)) {
    try {
      return await js.consumers.get(Streams.assignments, Consumers.agent(agentId));
    } catch (err) {
      if (!isConsumerNotFound(err) && !isNatsOutage(err)) throw err;
      if (Date.now() >= deadline) {
        throw new NatsUnavailableError(
          `no assignment consumer for ${agentId} after ${waitMs} ms: is a worker running, and is ${agentId} in its agent roster (AGENTS)?`,
          { cause: err },
        );
      }
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
    heartbeat();
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
