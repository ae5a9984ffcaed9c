/**
 * What the chaos suite sees of the system from outside: a test connection to the private nats-server, task
 * publishing, whole-stream and whole-bucket reads, a capacity watch, and a progress monitor that samples the
 * durable consumers and the workers' /metrics.
 */
import { get } from 'node:http';
import type { JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { KvEntry } from '@nats-io/kv';
import { Kvm, KvWatchInclude } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { connect, headers } from '@nats-io/transport-node';
import { Buckets, Consumers, Streams, Subjects } from '../../src/bus/subjects.js';
import { applyTopology, loadTopology } from '../../src/bus/topology.js';
import type { CapacityRecord, TaskArrived } from '../../src/domain/index.js';
import { inFlightCount } from '../../src/domain/index.js';
import { sleep } from '../support/wait-for.js';

export interface Bus {
  server: NatsEndpoint;
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  reconnects: number;
}

/** A single server or a cluster: one URL or several, comma-separated (the form NATS_URL takes). */
export interface NatsEndpoint {
  readonly url: string;
  stop(): Promise<void>;
}

/** `replicas`: as the workers will apply the topology (STREAM_REPLICAS), so that nothing has drifted when they start. */
export async function connectBus(server: NatsEndpoint, replicas?: number): Promise<Bus> {
  const nc = await connect({
    servers: server.url.split(','),
    maxReconnectAttempts: -1,
    reconnectTimeWait: 200,
    name: 'chaos-test',
  });
  await applyTopology(nc, await loadTopology(), replicas === undefined ? {} : { replicas });
  const bus: Bus = { server, nc, js: jetstream(nc), jsm: await jetstreamManager(nc), reconnects: 0 };
  void (async () => {
    for await (const s of nc.status()) if (s.type === 'reconnect') bus.reconnects += 1;
  })();
  return bus;
}

/** Retries a request across a reconnect (requests made while disconnected are dropped, not queued). */
export async function retrying<T>(what: string, call: () => Promise<T>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await call();
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${what}: ${(err as Error).message}`, { cause: err });
      await sleep(200);
    }
  }
}

export function taskFor(i: number, prefix: string): TaskArrived {
  const titles = ['Fix the login bug', 'Implement the export', 'Write tests for billing', 'Review the PR'];
  return {
    taskId: `${prefix}-${String(i).padStart(5, '0')}`,
    title: titles[i % titles.length]!,
    description: `chaos task ${i}`,
  };
}

/** Publishes tasks (Nats-Msg-Id = taskId), `parallel` at a time, retrying each across outages. */
export async function publishTasks(bus: Bus, tasks: readonly TaskArrived[], parallel = 64): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < tasks.length) {
      const task = tasks[next++]!;
      const h = headers();
      h.set('Nats-Msg-Id', task.taskId);
      await retrying(`publish ${task.taskId}`, () =>
        bus.js.publish(Subjects.taskArrived, JSON.stringify(task), { headers: h }),
      );
    }
  };
  await Promise.all(Array.from({ length: parallel }, lane));
}

export interface StoredMessage {
  subject: string;
  seq: number;
  data: Uint8Array;
  headers: Record<string, string>;
}

/** Every message of a stream, with an ordered consumer, stopping at the last sequence seen at the start. */
export async function readStream(bus: Bus, stream: string): Promise<StoredMessage[]> {
  const info = await retrying(`info ${stream}`, () => bus.jsm.streams.info(stream));
  if (info.state.messages === 0) return [];
  const last = info.state.last_seq;
  const consumer = await bus.js.consumers.get(stream, { deliver_policy: DeliverPolicy.All });
  const out: StoredMessage[] = [];
  const messages = await consumer.consume({ max_messages: 1000 });
  const done = new Promise<void>((resolve) => {
    void (async () => {
      for await (const m of messages as AsyncIterable<JsMsg>) {
        const h: Record<string, string> = {};
        if (m.headers) for (const [key, values] of m.headers) h[key] = values.join(',');
        out.push({ subject: m.subject, seq: m.seq, data: m.data, headers: h });
        if (m.seq >= last) break;
      }
      resolve();
    })();
  });
  const timer = new Promise<void>((resolve) => setTimeout(resolve, 60_000).unref());
  await Promise.race([done, timer]);
  await messages.close().catch(() => undefined);
  if (out.length === 0 || out[out.length - 1]!.seq < last) {
    throw new Error(`read ${out.length} messages of ${stream}, not up to seq ${last}`);
  }
  return out;
}

/** The latest value of every key of a KV bucket (read from its stream: one pass, not one get per key). */
export async function readBucket<T>(bus: Bus, bucket: string): Promise<Map<string, T>> {
  const prefix = `$KV.${bucket}.`;
  const values = new Map<string, T>();
  for (const m of await readStream(bus, `KV_${bucket}`)) {
    const key = m.subject.slice(prefix.length);
    const op = m.headers['KV-Operation'];
    if (op === 'DEL' || op === 'PURGE') values.delete(key);
    else values.set(key, JSON.parse(Buffer.from(m.data).toString('utf8')) as T);
  }
  return values;
}

/** Peak reservation count per agent over every capacity revision written while the watch runs. */
export class CapacityWatch {
  readonly peak = new Map<string, number>();
  revisions = 0;
  private stopped = false;
  private stopCurrent: (() => void) | undefined;
  private loop: Promise<void> | undefined;

  constructor(private readonly bus: Bus) {}

  start(): void {
    this.loop = (async () => {
      while (!this.stopped) {
        try {
          const kv = await new Kvm(this.bus.js).open(Buckets.capacity);
          const watch = await kv.watch({ include: KvWatchInclude.AllHistory });
          this.stopCurrent = () => watch.stop();
          for await (const entry of watch as AsyncIterable<KvEntry>) {
            if (entry.operation !== 'PUT') continue;
            this.revisions += 1;
            const record = entry.json<CapacityRecord>();
            this.peak.set(
              record.agentId,
              Math.max(this.peak.get(record.agentId) ?? 0, inFlightCount(record)),
            );
          }
        } catch {
          /* reconnecting: watch again */
        }
        if (!this.stopped) await sleep(500);
      }
    })();
  }

  /** Re-opens the watch (after a server restart the old one silently stops receiving). */
  restart(): void {
    this.stopCurrent?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopCurrent?.();
    await Promise.race([this.loop, sleep(2_000)]);
  }
}

export interface Sample {
  at: number;
  /** Sum of vapora_results_total over the given worker ports (-1 when unreachable). */
  results: number;
  assignments: number;
  learnerPending: number;
  assignerPending: number;
}

/**
 * Samples progress every `intervalMs`: the learner and assigner backlogs (pending + awaiting ack) and what the
 * workers report in /metrics. `ports()` gives the current workers' HTTP ports (they change on restart).
 */
export class ProgressMonitor {
  readonly samples: Sample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private busy = false;

  constructor(
    private readonly bus: Bus,
    private readonly ports: () => number[],
    private readonly intervalMs = 200,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.sample(), this.intervalMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async sample(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const [learner, assigner, metrics] = await Promise.all([
        backlog(this.bus, Streams.results, Consumers.learner),
        backlog(this.bus, Streams.tasks, Consumers.assigner),
        scrape(this.ports()),
      ]);
      this.samples.push({
        at: Date.now(),
        results: metrics.results,
        assignments: metrics.assignments,
        learnerPending: learner,
        assignerPending: assigner,
      });
    } catch {
      /* server down: no sample */
    } finally {
      this.busy = false;
    }
  }

  /** First time after `from` that the workers' result count exceeds its value at `from` (or any value, if reset). */
  firstProgressAfter(from: number, metric: 'results' | 'assignments' | 'any' = 'any'): number | undefined {
    const before = [...this.samples].reverse().find((s) => s.at <= from);
    const base = (s: Sample | undefined) =>
      s === undefined
        ? -1
        : metric === 'results'
          ? s.results
          : metric === 'assignments'
            ? s.assignments
            : s.results + s.assignments;
    const baseline = base(before);
    const later = this.samples.filter((s) => s.at > from);
    let previous = baseline;
    for (const s of later) {
      const value = base(s);
      if (value < 0) continue;
      // A restarted worker starts its counters at 0: any increase over the previous sample counts.
      if ((previous >= 0 && value > previous) || (previous > value && value > 0)) return s.at;
      previous = value;
    }
    return undefined;
  }
}

async function backlog(bus: Bus, stream: string, consumer: string): Promise<number> {
  const info = await bus.jsm.consumers.info(stream, consumer);
  return info.num_pending + info.num_ack_pending;
}

/** Sums counters over the workers' /metrics; -1 when none answered. */
export async function scrape(
  ports: number[],
): Promise<{ results: number; assignments: number; learnerRetries: number; deadLetters: number }> {
  const total = { results: -1, assignments: -1, learnerRetries: -1, deadLetters: -1 };
  await Promise.all(
    ports.map(async (port) => {
      try {
        const text = await httpGet(port, '/metrics');
        const sum = (name: string, label = '') =>
          text
            .split('\n')
            .filter((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && l.includes(label))
            .reduce((acc, l) => acc + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
        total.results = Math.max(0, total.results) + sum('vapora_results_total');
        total.assignments = Math.max(0, total.assignments) + sum('vapora_assignments_total');
        total.learnerRetries =
          Math.max(0, total.learnerRetries) + sum('vapora_retries_total', 'consumer="learner"');
        total.deadLetters = Math.max(0, total.deadLetters) + sum('vapora_dead_letters_total');
      } catch {
        /* not up (yet) */
      }
    }),
  );
  return total;
}

/** GET on a worker's probe port, without keep-alive (nothing lingers after the test). */
export function httpGet(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path, agent: false, timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () =>
        res.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${res.statusCode}: ${body}`)),
      );
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** Backlogs of the shared consumers and of the given agents' consumers (pending + awaiting ack). */
export async function backlogs(
  bus: Bus,
  agentIds: readonly string[],
): Promise<{ assigner: number; learner: number; agents: number }> {
  const [assigner, learner, ...agents] = await Promise.all([
    backlog(bus, Streams.tasks, Consumers.assigner),
    backlog(bus, Streams.results, Consumers.learner),
    ...agentIds.map((id) => backlog(bus, Streams.assignments, Consumers.agent(id)).catch(() => 0)),
  ]);
  return { assigner: assigner!, learner: learner!, agents: agents.reduce((a, b) => a + b, 0) };
}
