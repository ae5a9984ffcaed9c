/**
 * Issue 13 item 3: does a second and third worker replica add assignment throughput?
 *
 * Per replica count R ∈ {1, 3}, on a fresh nats-server (JetStream, one node, R1):
 *   - R worker processes (test/chaos/worker-process.ts: the production start-up, one Worker per process), each with
 *     its own embedded `mem://` KG (the assigner reads nothing from the KG; the learner writes each result into the
 *     KG of the replica that consumed it), WORKER_CONCURRENCY 16 as in the chaos suite;
 *   - one agent process (test/chaos/agent-process.ts, the real SDK) running 6 agents with maxConcurrent 200 that
 *     report success at once (no simulated work);
 *   - 3,000 tasks published at once (JetStream publish, 64 in flight, Nats-Msg-Id = taskId).
 * Throughput = tasks ÷ (first publish → the last task's first assignment seen on `vapora.assignments.>`, counted by
 * distinct `Vapora-Task-Id` on a core subscription). 6 × 200 = 1,200 slots < 3,000 tasks, so capacity released by
 * results is part of the path, as in production.
 * CAS retries: `vapora_cas_retries_total` summed over the workers' /metrics (buckets vapora_capacity and
 * vapora_tasks) ÷ tasks. CPU: utime + stime from /proc/<pid>/stat of every process over the measured window, so a
 * CPU-bound machine shows as such. SCALE_CPU_PROF=<dir> also writes each worker's V8 CPU profile there.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { headers } from '@nats-io/transport-node';
import { Buckets, Subjects } from '../src/bus/subjects.js';
import type { TaskArrived } from '../src/domain/index.js';
import type { ChildHandle } from '../test/chaos/processes.js';
import { ProcessGroup, whenReady } from '../test/chaos/processes.js';
import { metric } from '../test/support/worker-metrics.js';
import { printTable } from './harness.js';
import type { ResultRow } from './results.js';
import { goalCells, resultRow } from './results.js';
import { pool, startBenchEnv, waitUntil } from './worker-env.js';

const TASKS = Number(process.env['SCALE_TASKS'] ?? '3000');
const AGENTS = 6;
const MAX_CONCURRENT = 200;
const CONCURRENCY = 16;
const PUBLISH_LANES = 64;
const REPLICAS = [1, 3] as const;
const GOAL = '≥ 1.8';
/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat (100 on Linux x86-64 and arm64). */
const CLK_TCK = 100;
const CORES = cpus().length;
const PROFILE_DIR = process.env['SCALE_CPU_PROF'];

// --- pure helpers -------------------------------------------------------------------------------------------

export const perSecond = (count: number, ms: number): number => (ms > 0 ? count / (ms / 1000) : NaN);

/** The time (same unit as `times`) by which `fraction` of `total` had happened; `times` in arrival order. */
export const timeToFraction = (times: readonly number[], total: number, fraction: number): number =>
  times[Math.max(0, Math.ceil(total * fraction) - 1)] ?? NaN;

/** CPU seconds (utime + stime) from the text of /proc/<pid>/stat; the command name may hold spaces and parens. */
export function cpuSecondsFromStat(stat: string, clkTck = CLK_TCK): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After "(comm) ": state is field 3, utime field 14, stime field 15.
  return (Number(fields[11]) + Number(fields[12])) / clkTck;
}

/** Busy and total jiffies of the whole machine from the first line of /proc/stat. */
export function machineTicks(procStat: string): { busy: number; total: number } {
  const values = procStat.split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = values.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (values[3] ?? 0) + (values[4] ?? 0); // idle + iowait
  return { busy: total - idle, total };
}

// --- the scenario -------------------------------------------------------------------------------------------

interface CpuProbe {
  name: string;
  read(): Promise<number>;
}

const procCpu = (name: string, pid: number): CpuProbe => ({
  name,
  read: async () => cpuSecondsFromStat(await readFile(`/proc/${pid}/stat`, 'utf8')),
});

const selfCpu: CpuProbe = {
  name: 'bench (publisher + subscriber)',
  read: () => {
    const { user, system } = process.cpuUsage();
    return Promise.resolve((user + system) / 1e6);
  },
};

interface RunResult {
  replicas: number;
  seconds: number;
  publishSeconds: number;
  tasksPerSec: number;
  casCapacity: number;
  casTasks: number;
  casPerTask: number;
  /** vapora_retries_total{consumer="assigner"}: deliveries handed back (every candidate filled up, …). */
  assignerRetries: number;
  /** Mean vapora_decision_seconds (task arrival → acknowledged assignment publish) over all replicas, ms. */
  decisionMeanMs: number;
  /** Seconds from the first publish until 50 % and 90 % of the tasks had been assigned. */
  t50: number;
  t90: number;
  assignmentsPerWorker: number[];
  cpu: { name: string; seconds: number }[];
  machineBusy: number;
}

const task = (i: number): TaskArrived => ({
  taskId: `scale-${String(i).padStart(5, '0')}`,
  title: ['Fix the login bug', 'Implement the export', 'Write tests for billing', 'Review the PR'][i % 4]!,
  description: `scale-out task ${i}`,
});

async function runReplicas(replicas: number): Promise<RunResult> {
  const env = await startBenchEnv();
  const dir = await mkdtemp(join(tmpdir(), `vapora-scale-${replicas}-`));
  const group = new ProcessGroup(dir);
  try {
    const workers: { proc: ChildHandle; port: number }[] = [];
    for (let i = 0; i < replicas; i += 1) {
      const proc = group.worker(
        `worker-${i}`,
        {
          NATS_URL: env.server.url,
          SURREAL_URL: 'mem://',
          WORKER_CONCURRENCY: String(CONCURRENCY),
          CHAOS_WORKER_NAME: `scale-worker-${i}`,
        },
        // SCALE_CPU_PROF=<dir>: V8 CPU profiles of the workers, written on their exit (summarise with
        // `npx tsx bench/cpu-profile-summary.ts <file>`).
        PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : [],
      );
      const ready = await whenReady(proc, 90_000);
      workers.push({ proc, port: (ready['httpPorts'] as number[])[0]! });
    }
    const agentLog = join(dir, 'agents.jsonl');
    await writeFile(agentLog, '');
    const specs = Array.from({ length: AGENTS }, (_, i) => ({
      agentId: `scale-agent-${i}`,
      maxConcurrent: MAX_CONCURRENT,
      skill: 1,
      minMs: 0,
      maxMs: 0,
    }));
    const agents = group.agents('agents', env.server.url, specs, agentLog);
    await whenReady(agents, 90_000);
    // The workers' agent mirrors see the registrations a moment after the agents' KV puts.
    await new Promise((r) => setTimeout(r, 1_000));

    const assigned = new Set<string>();
    const assignedAt: number[] = [];
    const sub = env.nc.subscribe('vapora.assignments.>', {
      callback: (_err, msg) => {
        const id = msg.headers?.get('Vapora-Task-Id');
        if (id && !assigned.has(id)) {
          assigned.add(id);
          assignedAt.push(performance.now());
        }
      },
    });
    await env.nc.flush();

    const probes = [
      ...workers.map((w, i) => procCpu(`worker-${i}`, w.proc.pid)),
      procCpu('nats-server', env.server.pid),
      procCpu('agents (6 in one process)', agents.pid),
      selfCpu,
    ];
    const cpuBefore = await Promise.all(probes.map((p) => p.read()));
    const machineBefore = machineTicks(await readFile('/proc/stat', 'utf8'));

    const started = performance.now();
    let published = 0;
    await pool(TASKS, PUBLISH_LANES, async (i) => {
      const t = task(i);
      const h = headers();
      h.set('Nats-Msg-Id', t.taskId);
      await env.js.publish(Subjects.taskArrived, JSON.stringify(t), { headers: h });
      published += 1;
    });
    const publishSeconds = (performance.now() - started) / 1000;
    await waitUntil(() => assigned.size >= TASKS, 5, 300_000);
    const since = assignedAt.map((at) => (at - started) / 1000);
    const seconds = since[since.length - 1]!;

    const cpuAfter = await Promise.all(probes.map((p) => p.read()));
    const machineAfter = machineTicks(await readFile('/proc/stat', 'utf8'));
    sub.unsubscribe();
    if (published !== TASKS) throw new Error(`published ${published} of ${TASKS}`);

    const sumMetric = async (name: string, labels: Record<string, string>) =>
      (await Promise.all(workers.map((w) => metric(w.port, name, labels)))).reduce((a, b) => a + b, 0);
    const casCapacity = await sumMetric('vapora_cas_retries_total', { bucket: Buckets.capacity });
    const casTasks = await sumMetric('vapora_cas_retries_total', { bucket: Buckets.tasks });
    const assignerRetries = await sumMetric('vapora_retries_total', { consumer: 'assigner' });
    const decisionSum = await sumMetric('vapora_decision_seconds_sum', {});
    const decisionCount = await sumMetric('vapora_decision_seconds_count', {});
    const assignmentsPerWorker = await Promise.all(
      workers.map((w) => metric(w.port, 'vapora_assignments_total')),
    );
    return {
      replicas,
      seconds,
      publishSeconds,
      tasksPerSec: perSecond(TASKS, seconds * 1000),
      casCapacity,
      casTasks,
      casPerTask: (casCapacity + casTasks) / TASKS,
      assignerRetries,
      decisionMeanMs: (decisionSum / Math.max(1, decisionCount)) * 1000,
      t50: timeToFraction(since, TASKS, 0.5),
      t90: timeToFraction(since, TASKS, 0.9),
      assignmentsPerWorker,
      cpu: probes.map((p, i) => ({ name: p.name, seconds: cpuAfter[i]! - cpuBefore[i]! })),
      machineBusy:
        (machineAfter.busy - machineBefore.busy) / Math.max(1, machineAfter.total - machineBefore.total),
    };
  } finally {
    await Promise.all(group.children.map((c) => c.terminate(10_000).catch(() => undefined)));
    await group.killAll();
    await env.close();
    await rm(dir, { recursive: true, force: true });
  }
}

export async function runScaleOutBench(): Promise<ResultRow[]> {
  const runs: RunResult[] = [];
  for (const replicas of REPLICAS) runs.push(await runReplicas(replicas));
  const [r1, r3] = runs as [RunResult, RunResult];
  const ratio = r3.tasksPerSec / r1.tasksPerSec;
  const row = resultRow(
    'scale',
    'scale-out: assignment throughput (tasks/s), 3 replicas ÷ 1 replica',
    {
      r1TasksPerSec: r1.tasksPerSec,
      r3TasksPerSec: r3.tasksPerSec,
      r1CasRetriesPerTask: r1.casPerTask,
      r3CasRetriesPerTask: r3.casPerTask,
    },
    ratio,
    GOAL,
  );

  printTable(
    `Scale-out (${TASKS} tasks published at once, ${AGENTS} agents × maxConcurrent ${MAX_CONCURRENT} succeeding at once, ` +
      `worker processes with mem:// KG each, concurrency ${CONCURRENCY}; time = first publish → last first assignment)`,
    [
      'replicas',
      'tasks/s',
      'seconds',
      't50 s',
      't90 s',
      'publish s',
      'CAS capacity',
      'CAS tasks',
      'CAS/task',
      'assigner retries',
      'decision mean ms',
      'assignments per worker',
      'CPU s (all)',
      'machine busy',
    ],
    runs.map((r) => [
      r.replicas,
      r.tasksPerSec,
      r.seconds,
      r.t50,
      r.t90,
      r.publishSeconds,
      r.casCapacity,
      r.casTasks,
      r.casPerTask.toFixed(3),
      r.assignerRetries,
      r.decisionMeanMs,
      r.assignmentsPerWorker.join(' / '),
      r.cpu.reduce((a, c) => a + c.seconds, 0),
      `${(r.machineBusy * 100).toFixed(0)}%`,
    ]),
  );
  for (const r of runs) {
    printTable(
      `CPU over the measured window, ${r.replicas} replica(s) (${r.seconds.toFixed(2)} s wall, ${CORES} cores = ${(CORES * r.seconds).toFixed(2)} CPU s available; machine busy ${(r.machineBusy * 100).toFixed(0)}% incl. other jobs)`,
      ['process', 'CPU s', 'share of one core'],
      [...r.cpu, { name: 'total', seconds: r.cpu.reduce((sum, c) => sum + c.seconds, 0) }].map((c) => [
        c.name,
        c.seconds,
        `${((c.seconds / r.seconds) * 100).toFixed(0)}%`,
      ]),
    );
  }
  printTable(
    'Scale-out ratio',
    ['metric', '1 replica', '3 replicas', 'ratio', 'goal', ''],
    [[row.metric, r1.tasksPerSec, r3.tasksPerSec, ratio.toFixed(2), ...goalCells(row)]],
  );
  return [row];
}
