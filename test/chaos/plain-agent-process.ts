/**
 * Chaos-suite agent process WITHOUT the SDK (test-only entry; `node --import tsx test/chaos/plain-agent-process.ts`):
 * what an agent written by another team, through the public contract only, does. Plain NATS and JetStream
 * clients: heartbeat on `vapora.agents.heartbeat.<id>`, consume its own durable consumer `agent-<id>` (created by
 * the worker), publish each result with the assignment's `attempt` on `vapora.results.<id>`, then ack.
 *
 * Same env, log lines and CHAOS_READY line as agent-process.ts, so the books read both alike.
 */
import { appendFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import type { Consumer, JsMsg } from '@nats-io/jetstream';
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { AgentSpec } from './agent-process.js';

const specs = JSON.parse(process.env['CHAOS_AGENTS'] ?? '[]') as AgentSpec[];
const logFile = process.env['CHAOS_AGENT_LOG'];
const url = process.env['NATS_URL'] ?? 'nats://127.0.0.1:4222';
if (!logFile || specs.length === 0) throw new Error('CHAOS_AGENTS and CHAOS_AGENT_LOG are required');

const record = (line: object) => appendFileSync(logFile, `${JSON.stringify(line)}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface AssignmentLike {
  taskId: string;
  agentId: string;
  taskType: string;
  attempt: number;
}

const nc = await connect({
  servers: url,
  maxReconnectAttempts: -1,
  reconnectTimeWait: 250,
  name: 'plain-agents',
});
const js = jetstream(nc);

async function retry<T>(call: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await call();
    } catch {
      await sleep(250);
    }
  }
}

/** Resolves once the agent's consumer exists (it then keeps consuming in the background). */
async function run(spec: AgentSpec): Promise<void> {
  const beat = () =>
    nc.publish(
      `vapora.agents.heartbeat.${spec.agentId}`,
      JSON.stringify({
        agentId: spec.agentId,
        role: spec.role ?? 'developer',
        maxConcurrent: spec.maxConcurrent,
      }),
    );
  beat();
  setInterval(() => {
    try {
      beat();
    } catch {
      /* reconnecting: the next one */
    }
  }, 2_000);
  const consumer: Consumer = await retry(async () => {
    beat();
    return js.consumers.get('VAPORA_ASSIGNMENTS', `agent-${spec.agentId}`);
  });
  let inFlight = 0;
  const work = async (msg: JsMsg) => {
    const a = msg.json<AssignmentLike>();
    inFlight += 1;
    const base = { a: spec.agentId, t: a.taskId, n: a.attempt };
    record({ e: 's', ...base, at: Date.now(), f: inFlight });
    const started = Date.now();
    const min = spec.minMs ?? 2;
    const max = spec.maxMs ?? 10;
    await sleep(min + Math.random() * (max - min));
    const success = Math.random() < (spec.skill ?? 0.8);
    record({ e: 'e', ...base, at: Date.now(), ok: success });
    inFlight -= 1;
    const result = {
      executionId: `${a.taskId}-${a.attempt}`,
      taskId: a.taskId,
      agentId: spec.agentId,
      taskType: a.taskType,
      attempt: a.attempt,
      success,
      durationMs: Date.now() - started,
      startedAt: new Date(started).toISOString(),
      finishedAt: new Date().toISOString(),
    };
    // Through an outage: keep trying to report, then ack (an ack lost on the way means a re-run, counted once).
    await retry(() =>
      js.publish(`vapora.results.${spec.agentId}`, JSON.stringify(result), { msgID: randomUUID() }),
    );
    msg.ack();
  };
  void consumeForever(spec, consumer, work);
}

async function consumeForever(spec: AgentSpec, consumer: Consumer, work: (msg: JsMsg) => Promise<void>) {
  const running = new Set<Promise<void>>();
  for (;;) {
    try {
      const messages = await consumer.consume({ max_messages: spec.maxConcurrent });
      for await (const msg of messages) {
        const job = work(msg).finally(() => running.delete(job));
        running.add(job);
        while (running.size >= spec.maxConcurrent) await Promise.race(running);
      }
    } catch {
      await sleep(250);
    }
  }
}

await Promise.all(specs.map(run));
process.on('SIGTERM', () => {
  void nc
    .drain()
    .catch(() => undefined)
    .finally(() => process.exit(0));
});
process.stdout.write(`CHAOS_READY ${JSON.stringify({ pid: process.pid, agents: specs.length })}\n`);
