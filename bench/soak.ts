/**
 * Soak test (`npm run soak`, not in CI): sustained load on one worker for a configurable duration.
 *
 * A private nats-server; the worker as a separate process (`node --import tsx src/cli/run.ts worker`, its own
 * surrealkv store in a temp dir) so its RSS is its own; in this process a producer publishing tasks at a steady
 * rate and N simulated agents (random short work, a hidden success probability per task type). Every interval
 * prints one row; at the end two checks decide the exit code:
 *   - worker RSS after warm-up (the first interval excluded) grows at most --max-rss-growth percent
 *     (mean RSS of the last interval vs the mean of the second);
 *   - consumer lag (num_pending + num_ack_pending of `assigner` and of `learner`, sampled every second) stays at
 *     most --max-lag messages after warm-up.
 *
 *   npm run soak                                          # 10 minutes, 100 tasks/s, 12 agents, a row a minute
 *   npx tsx bench/soak.ts --duration 90s --interval 15s   # a short check
 *
 * Flags (environment): --duration (SOAK_DURATION_MS) 10m, --interval (SOAK_INTERVAL_MS) 60s, --rate (SOAK_RATE)
 * 100 tasks/s, --agents (SOAK_AGENTS) 12, --kg surrealkv|rocksdb|mem (SOAK_KG) surrealkv, --max-rss-growth 10 (%),
 * --max-lag 2×rate. The worker inherits the environment: `KG_RETENTION=2m npm run soak` lets retention act within
 * the run (real timestamps); the last lines also give RSS growth over the second half of the run.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { pino } from 'pino';
import type { AgentHandle } from '../src/agent/agent.js';
import { startAgent } from '../src/agent/agent.js';
import { startNatsServer } from '../test/support/nats-server.js';
import { Consumers, Streams, Subjects } from '../src/bus/subjects.js';
import { SIM_TASK_TYPES, TITLES } from '../src/demo/simulation.js';
import type { TaskArrived } from '../src/domain/index.js';
import { percentile } from './harness.js';
import type { Sample } from './soak-stats.js';
import {
  growthPercent,
  histogramBuckets,
  mean,
  parseDuration,
  parsePrometheus,
  prng,
  quantileBetween,
  total,
} from './soak-stats.js';

const { values: flags } = parseArgs({
  options: Object.fromEntries(
    ['duration', 'interval', 'rate', 'agents', 'kg', 'max-rss-growth', 'max-lag'].map((name) => [
      name,
      { type: 'string' as const },
    ]),
  ),
});
const env = process.env;
const positive = (name: string, raw: string | undefined, fallback: number): number => {
  const value = raw === undefined ? fallback : Number(raw);
  if (!(value > 0)) throw new Error(`--${name} must be a positive number, got ${JSON.stringify(raw)}`);
  return value;
};
const durationMs = parseDuration(flags.duration ?? env.SOAK_DURATION_MS ?? '10m');
const intervalMs = parseDuration(flags.interval ?? env.SOAK_INTERVAL_MS ?? '60s');
const rate = positive('rate', flags.rate ?? env.SOAK_RATE, 100);
const agentCount = Math.round(positive('agents', flags.agents ?? env.SOAK_AGENTS, 12));
const kgKind = flags.kg ?? env.SOAK_KG ?? 'surrealkv';
const maxRssGrowth = positive('max-rss-growth', flags['max-rss-growth'], 10);
const maxLag = positive('max-lag', flags['max-lag'], 2 * rate);
if (!['surrealkv', 'rocksdb', 'mem'].includes(kgKind))
  throw new Error('--kg must be surrealkv, rocksdb or mem');
if (intervalMs < 1_000 || durationMs < intervalMs) throw new Error('need 1s ≤ --interval ≤ --duration');

const AGENT_MAX_CONCURRENT = 8;
const WORK_MS = [5, 50] as const;
const SAMPLE_MS = 1_000;
const root = fileURLToPath(new URL('..', import.meta.url));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface Row {
  rssMb: number;
  assignerLag: number;
  learnerLag: number;
}

// Ctrl-C reaches the worker and nats-server too (same process group): stop measuring, clean up, no verdict.
let stopRequested = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopRequested) process.exit(130);
    stopRequested = true;
    console.error(`\n${signal}: stopping and cleaning up (again to abort)`);
  });
}

const cleanups: (() => Promise<unknown>)[] = [];
let exitCode = 1;
try {
  exitCode = await soak();
} catch (err) {
  console.error('soak failed:', err);
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup().catch((err: unknown) => console.error(err));
}
process.exit(exitCode);

async function soak(): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'vapora-soak-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const server = await startNatsServer();
  cleanups.push(() => server.stop());

  // The worker, alone in its process.
  const httpPort = await freePort();
  const kgUrl = kgKind === 'mem' ? 'mem://' : `${kgKind}://${join(dir, 'kg')}`;
  const worker = spawn(process.execPath, ['--import', 'tsx', 'src/cli/run.ts', 'worker'], {
    cwd: root,
    env: { ...env, NATS_URL: server.url, SURREAL_URL: kgUrl, HTTP_PORT: String(httpPort), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const killWorker = () => worker.kill('SIGKILL');
  process.once('exit', killWorker);
  let workerExit: string | undefined;
  const exited = new Promise<void>((resolve) =>
    worker.once('exit', (code, signal) => {
      workerExit = `code ${code}, signal ${signal}`;
      resolve();
    }),
  );
  const workerLog: string[] = [];
  let workerLines = 0;
  for (const stream of [worker.stdout, worker.stderr]) {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      for (const line of chunk.split('\n').filter(Boolean)) {
        workerLines += 1;
        workerLog.push(line);
        if (workerLog.length > 20) workerLog.shift();
      }
    });
  }
  cleanups.push(async () => {
    if (workerExit === undefined) {
      worker.kill('SIGTERM');
      const timer = setTimeout(killWorker, 30_000);
      await exited;
      clearTimeout(timer);
    }
    process.off('exit', killWorker);
  });
  const metricsUrl = `http://127.0.0.1:${httpPort}`;
  await waitReady(`${metricsUrl}/readyz`, () => workerExit);

  const nc = await connect({ servers: server.url, name: 'vapora-soak' });
  const agentsNc = await connect({ servers: server.url, name: 'vapora-soak-agents' });
  cleanups.push(() => Promise.all([nc.drain(), agentsNc.drain()]));
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);

  // Agents: random short work, a hidden success probability per task type.
  const random = prng(42);
  const agentLog = pino({ level: 'warn' });
  const agents: AgentHandle[] = [];
  cleanups.push(() => Promise.all(agents.map((agent) => agent.stop(2_000))));
  for (let i = 0; i < agentCount; i += 1) {
    const skill = new Map<string, number>(SIM_TASK_TYPES.map((type) => [type, 0.2 + 0.75 * random()]));
    agents.push(
      await startAgent({
        agentId: `soak-agent-${i}`,
        role: 'developer',
        maxConcurrent: AGENT_MAX_CONCURRENT,
        nats: agentsNc,
        log: agentLog,
        handler: async (assignment) => {
          await sleep(WORK_MS[0] + Math.random() * (WORK_MS[1] - WORK_MS[0]));
          return { success: Math.random() < (skill.get(assignment.taskType) ?? 0.5) };
        },
      }),
    );
  }

  // End-to-end decision latency: task publish → assignment seen on a core subscription.
  const sentAt = new Map<string, number>();
  let latencies: number[] = [];
  let assigned = 0;
  const sub = nc.subscribe('vapora.assignments.>', {
    callback: (err, msg) => {
      if (err) return;
      const { taskId } = msg.json<{ taskId?: string }>();
      const sent = taskId === undefined ? undefined : sentAt.get(taskId);
      if (taskId === undefined || sent === undefined) return; // a re-published duplicate
      sentAt.delete(taskId);
      latencies.push(performance.now() - sent);
      assigned += 1;
    },
  });
  cleanups.push(async () => sub.unsubscribe());

  // Producer: a steady rate, catching up after a stall rather than drifting.
  const runId = Date.now().toString(36);
  let scheduled = 0;
  let published = 0;
  let publishErrors = 0;
  const started = performance.now();
  const producer = setInterval(() => {
    const due = Math.floor(((performance.now() - started) * rate) / 1000);
    for (; scheduled < due && scheduled - published - publishErrors < 1_000; scheduled += 1) {
      const type = SIM_TASK_TYPES[scheduled % SIM_TASK_TYPES.length]!;
      const titles = TITLES[type];
      const task: TaskArrived = {
        taskId: `soak-${runId}-${scheduled}`,
        title: titles[Math.floor(Math.random() * titles.length)]!,
      };
      sentAt.set(task.taskId, performance.now());
      js.publish(Subjects.taskArrived, JSON.stringify(task), { msgID: task.taskId }).then(
        () => (published += 1),
        () => (publishErrors += 1),
      );
    }
  }, 10);
  cleanups.push(async () => clearInterval(producer));

  const intervals = Math.floor(durationMs / intervalMs);
  console.log(
    `soak: ${rate} tasks/s for ${(durationMs / 1000).toFixed(0)}s, ${agentCount} agents × ${AGENT_MAX_CONCURRENT}, ` +
      `worker pid ${worker.pid} (KG ${kgKind === 'mem' ? 'mem://' : `${kgKind}, temp dir`}, KG_RETENTION ` +
      `${env.KG_RETENTION ?? 'default 90d'}), a row every ${intervalMs / 1000}s`,
  );
  console.log(
    'latency e2e = task publish → assignment received (this process); handler = worker histogram; heap = worker JS heap used at the row\n',
  );
  const columns: [string, number][] = [
    ['elapsed', 8],
    ['published', 10],
    ['assigned', 9],
    ['results', 9],
    ['results/s', 10],
    ['lag assigner', 13],
    ['lag learner', 12],
    ['e2e p50 ms', 11],
    ['e2e p99 ms', 11],
    ['handler p99 ms', 15],
    ['RSS MB', 8],
    ['heap MB', 8],
  ];
  const print = (cells: (string | number)[]) =>
    console.log(cells.map((cell, i) => String(cell).padStart(columns[i]?.[1] ?? 8)).join(' '));
  print(columns.map(([name]) => name));

  const rows: Row[] = [];
  let previous = await scrape(metricsUrl);
  for (let i = 1; i <= intervals && !stopRequested && workerExit === undefined; i += 1) {
    const end = started + i * intervalMs;
    const rss: number[] = [];
    let assignerLag = 0;
    let learnerLag = 0;
    while (performance.now() < end && !stopRequested && workerExit === undefined) {
      const [assigner, learner] = await Promise.all([
        jsm.consumers.info(Streams.tasks, Consumers.assigner),
        jsm.consumers.info(Streams.results, Consumers.learner),
      ]);
      assignerLag = Math.max(assignerLag, assigner.num_pending + assigner.num_ack_pending);
      learnerLag = Math.max(learnerLag, learner.num_pending + learner.num_ack_pending);
      const sampled = rssBytes(worker.pid);
      if (sampled !== undefined) rss.push(sampled);
      await sleep(Math.max(0, Math.min(SAMPLE_MS, end - performance.now())));
    }
    if (workerExit !== undefined) break;
    const current = await scrape(metricsUrl);
    const results = total(current, 'vapora_results_total');
    const seconds = (performance.now() - started) / 1000;
    const intervalSeconds = Math.min(intervalMs / 1000, seconds - (i - 1) * (intervalMs / 1000));
    const handlerP99 = quantileBetween(
      histogramBuckets(previous, 'vapora_decision_seconds'),
      histogramBuckets(current, 'vapora_decision_seconds'),
      0.99,
    );
    if (rss.length === 0) rss.push(total(current, 'vapora_process_resident_memory_bytes'));
    const row: Row = { rssMb: mean(rss) / 2 ** 20, assignerLag, learnerLag };
    rows.push(row);
    print([
      `${seconds.toFixed(0)}s`,
      published,
      assigned,
      results,
      ((results - total(previous, 'vapora_results_total')) / intervalSeconds).toFixed(1),
      assignerLag,
      learnerLag,
      latencies.length ? percentile(latencies, 50).toFixed(1) : '-',
      latencies.length ? percentile(latencies, 99).toFixed(1) : '-',
      Number.isNaN(handlerP99) ? '-' : (handlerP99 * 1000).toFixed(1),
      row.rssMb.toFixed(1),
      (total(current, 'vapora_nodejs_heap_size_used_bytes') / 2 ** 20).toFixed(1),
    ]);
    previous = current;
    latencies = [];
    const stale = performance.now() - 300_000; // never assigned in 5 minutes: stop tracking
    for (const [taskId, at] of sentAt) if (at < stale) sentAt.delete(taskId);
  }

  if (stopRequested) return 130;
  // Verdict.
  console.log('');
  let ok = true;
  const check = (pass: boolean, text: string) => {
    ok &&= pass;
    console.log(`${pass ? 'PASS' : 'FAIL'}  ${text}`);
  };
  check(
    workerExit === undefined,
    `worker alive for the whole run${workerExit ? ` (exited: ${workerExit})` : ''}`,
  );
  const measured = rows.slice(1);
  const baseline = measured[0];
  const last = measured.at(-1);
  if (measured.length < 2 || baseline === undefined || last === undefined) {
    check(false, `need at least 3 intervals to judge RSS and lag after warm-up, got ${rows.length}`);
  } else {
    const growth = growthPercent(baseline.rssMb, last.rssMb);
    check(
      growth <= maxRssGrowth,
      `worker RSS after warm-up: ${baseline.rssMb.toFixed(1)} MB → ${last.rssMb.toFixed(1)} MB, ` +
        `growth ${growth.toFixed(1)}% (limit ${maxRssGrowth}%)`,
    );
    // The issue's measure: growth over the second half of the run (the middle row → the last).
    const middle = rows[Math.floor((rows.length - 1) / 2)]!;
    console.log(
      `info  worker RSS over the second half: ${middle.rssMb.toFixed(1)} MB → ${last.rssMb.toFixed(1)} MB, ` +
        `growth ${growthPercent(middle.rssMb, last.rssMb).toFixed(1)}% (KG_RETENTION ${env.KG_RETENTION ?? 'default 90d'})`,
    );
    const lagOf = (r: Row) => Math.max(r.assignerLag, r.learnerLag);
    const worst = Math.max(...measured.map(lagOf));
    const limit = flags['max-lag'] === undefined ? `${maxLag} = 2 s of load` : String(maxLag);
    check(
      worst <= maxLag,
      `consumer lag after warm-up: max ${worst} (warm-up ${lagOf(rows[0]!)}; limit ${limit})`,
    );
  }
  const final = await scrape(metricsUrl).catch((): Sample[] => []);
  console.log(
    `info  publish errors ${publishErrors}, dead letters ${total(final, 'vapora_dead_letters_total')}, ` +
      `unassignable ${total(final, 'vapora_unassignable_total')}, retries ${total(final, 'vapora_retries_total')}, ` +
      `CAS retries ${total(final, 'vapora_cas_retries_total')}, ` +
      `KG executions rolled up and deleted ${total(final, 'vapora_kg_retention_deleted_total')}, ` +
      `worker log lines (warn+) ${workerLines}`,
  );
  if (workerLines > 0) console.log(`worker log tail:\n${workerLog.slice(-5).join('\n')}`);
  return ok ? 0 : 1;
}

async function scrape(baseUrl: string): Promise<Sample[]> {
  const response = await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(5_000) });
  return parsePrometheus(await response.text());
}

/** VmRSS of a process from /proc (Linux); undefined elsewhere, and the worker's own gauge is used instead. */
function rssBytes(pid: number | undefined): number | undefined {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}

async function waitReady(url: string, exited: () => string | undefined, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const reason = exited();
    if (reason !== undefined) throw new Error(`worker exited before becoming ready (${reason})`);
    const status = await fetch(url, { signal: AbortSignal.timeout(2_000) }).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return;
    if (Date.now() > deadline) throw new Error(`worker not ready after ${timeoutMs} ms (${url}: ${status})`);
    await sleep(200);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}
