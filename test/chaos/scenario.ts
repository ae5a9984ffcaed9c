/**
 * One chaos scenario's world: a private nats-server, a test connection, worker and agent processes, a temporary
 * directory for KG stores and agent logs, and the report row it ends with. cleanup() kills everything.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import type { NatsServerHandle } from '../support/nats-server.js';
import { startNatsServer } from '../support/nats-server.js';
import { sleep } from '../support/wait-for.js';
import type { AgentSpec } from './agent-process.js';
import type { Books, BooksInput } from './books.js';
import { checkBooks, readKnowledgeGraph } from './books.js';
import type { NatsClusterHandle } from '../support/nats-cluster.js';
import { startNatsCluster } from '../support/nats-cluster.js';
import type { Bus, NatsEndpoint } from './observe.js';
import { backlogs, connectBus, readBucket } from './observe.js';
import { Buckets } from '../../src/bus/subjects.js';
import type { CapacityRecord, TaskStateRecord } from '../../src/domain/index.js';
import { inFlightCount } from '../../src/domain/index.js';
import type { ChildHandle } from './processes.js';
import { ProcessGroup, whenReady } from './processes.js';

const CLUSTER_REPLICAS = 3;

/** 1 = the numbers (5,000 tasks and results, 1,000 malformed messages, a burst of 1,000). */
export const CHAOS_SCALE = (() => {
  const raw = Number(process.env['CHAOS_SCALE'] ?? '0.5');
  return Number.isFinite(raw) && raw > 0 ? raw : 0.5;
})();
export const scaled = (n: number, min = 20) => Math.max(min, Math.round(n * CHAOS_SCALE));

export interface WorkerHandle {
  proc: ChildHandle;
  storeUrl: string;
  ports: number[];
}

export class Scenario<S extends NatsEndpoint = NatsServerHandle> {
  readonly group: ProcessGroup;
  readonly agentLogs: string[] = [];
  readonly agentSpecs: AgentSpec[] = [];
  readonly workers: WorkerHandle[] = [];
  readonly agentProcs = new Map<string, ChildHandle>();
  readonly started = Date.now();

  private constructor(
    readonly dir: string,
    readonly server: S,
    readonly bus: Bus,
  ) {
    this.group = new ProcessGroup(dir);
  }

  static async create(name: string): Promise<Scenario> {
    const dir = await mkdtemp(join(tmpdir(), `vapora-chaos-${name}-`));
    const server = await startNatsServer();
    const bus = await connectBus(server);
    return new Scenario(dir, server, bus);
  }

  /** On a 3-node cluster, with the topology at 3 replicas (the workers get STREAM_REPLICAS=3 from startWorker). */
  static async createCluster(name: string): Promise<Scenario<NatsClusterHandle>> {
    const dir = await mkdtemp(join(tmpdir(), `vapora-chaos-${name}-`));
    const cluster = await startNatsCluster();
    try {
      await cluster.waitReady();
      const bus = await connectBus(cluster, CLUSTER_REPLICAS);
      return new Scenario(dir, cluster, bus);
    } catch (err) {
      await cluster.stop();
      throw err;
    }
  }

  storeUrl(name: string): string {
    return `surrealkv://${join(this.dir, name)}`;
  }

  /** A worker process on its own surrealkv store (or `storeUrl`, to restart on the same store). */
  async startWorker(name: string, env: Record<string, string> = {}, storeUrl = this.storeUrl(`kg-${name}`)) {
    const proc = this.group.worker(name, {
      NATS_URL: this.server.url,
      SURREAL_URL: storeUrl,
      WORKER_CONCURRENCY: '16',
      ...('nodes' in this.server ? { STREAM_REPLICAS: String(CLUSTER_REPLICAS) } : {}),
      ...env,
    });
    const ready = await whenReady(proc, 90_000);
    const handle: WorkerHandle = { proc, storeUrl, ports: (ready['httpPorts'] as number[]) ?? [] };
    this.workers.push(handle);
    return handle;
  }

  /** Live workers' probe ports. */
  ports(): number[] {
    return this.workers.filter((w) => w.proc.alive).flatMap((w) => w.ports);
  }

  /** An agent process running `specs` (on the SDK, or `plain` JetStream clients), logging to its own file. */
  async startAgents(name: string, specs: AgentSpec[], plain = false): Promise<ChildHandle> {
    const log = join(this.dir, `agents-${name}.jsonl`);
    writeFileSync(log, '');
    this.agentLogs.push(log);
    this.agentSpecs.push(...specs);
    const proc = this.group.agents(name, this.server.url, specs, log, plain);
    for (const spec of specs) this.agentProcs.set(spec.agentId, proc);
    await whenReady(proc, 90_000);
    return proc;
  }

  agentLimits() {
    return this.agentSpecs.map((s) => ({ agentId: s.agentId, maxConcurrent: s.maxConcurrent }));
  }

  liveAgentIds(): string[] {
    return this.agentSpecs.filter((s) => this.agentProcs.get(s.agentId)?.alive).map((s) => s.agentId);
  }

  deadAgents(): Map<string, number> {
    const dead = new Map<string, number>();
    for (const s of this.agentSpecs) {
      const proc = this.agentProcs.get(s.agentId);
      if (proc && !proc.alive && proc.diedAt !== undefined) dead.set(s.agentId, proc.diedAt);
    }
    return dead;
  }

  /**
   * Waits until every consumer is idle and every task is `completed` in vapora_tasks; returns the time it
   * happened, or undefined when `ms` ran out (the books then show what is missing).
   */
  async waitDrained(taskIds: readonly string[], ms: number): Promise<number | undefined> {
    const deadline = Date.now() + ms;
    const want = new Set(taskIds);
    while (Date.now() < deadline) {
      try {
        const b = await backlogs(this.bus, this.liveAgentIds());
        if (b.assigner === 0 && b.learner === 0 && b.agents === 0) {
          const states = await readBucket<TaskStateRecord>(this.bus, Buckets.tasks);
          let done = 0;
          for (const [id, s] of states) if (want.has(id) && s.status === 'completed') done += 1;
          // Drained means nothing in flight either: a reservation a kill -9 left between reserving and
          // assigning is released by the next sweep's audit once its task is over, not by the result.
          const capacity = await readBucket<CapacityRecord>(this.bus, Buckets.capacity);
          const held = [...capacity.values()].reduce((sum, record) => sum + inFlightCount(record), 0);
          if (done === want.size && held === 0) return Date.now();
        }
      } catch {
        /* reconnecting */
      }
      await sleep(500);
    }
    return undefined;
  }

  /** SIGTERM every worker, wait for the exits, then read each store (after the lock-release settle time). */
  async stopWorkersAndReadKgs(): Promise<{
    kgs: Awaited<ReturnType<typeof readKnowledgeGraph>>[];
    exitCodes: (number | null)[];
  }> {
    const exitCodes: (number | null)[] = [];
    for (const w of this.workers) {
      if (!w.proc.alive) continue;
      const code = await w.proc.terminate(30_000);
      exitCodes.push(code);
      // The worker's own last lines are the only account of an unclean exit: put them in the test output.
      if (code !== 0) {
        process.stderr.write(
          `${w.proc.name} exited ${code} on SIGTERM; its last lines:\n${tailOf(w.proc)}\n`,
        );
      }
    }
    await sleep(300); // the embedded store releases its lock just after the process is gone
    const urls = [...new Set(this.workers.map((w) => w.storeUrl))];
    const kgs = [];
    for (const url of urls) kgs.push(await readKnowledgeGraph(url));
    return { kgs, exitCodes };
  }

  /** Stops the workers and checks the books of these tasks against the bus, the KGs and the agents' logs. */
  async stopAndCheckBooks(
    taskIds: readonly string[],
    capacityPeak: BooksInput['capacityPeak'],
    kgMode: BooksInput['kgMode'] = 'single',
  ): Promise<{ books: Books; exitCodes: (number | null)[] }> {
    const { kgs, exitCodes } = await this.stopWorkersAndReadKgs();
    const books = await checkBooks({
      bus: this.bus,
      taskIds,
      agents: this.agentLimits(),
      agentLogs: this.agentLogs,
      kgs,
      kgMode,
      capacityPeak,
    });
    return { books, exitCodes };
  }

  async cleanup(): Promise<void> {
    await this.group.killAll();
    await this.bus.nc.close().catch(() => undefined);
    await this.server.stop().catch(() => undefined);
    if (process.env['CHAOS_KEEP'] !== '1') await rm(this.dir, { recursive: true, force: true });
    else process.stdout.write(`chaos: kept ${this.dir}\n`);
  }
}

// --- the report -----------------------------------------------------------------------------------------------

export interface ReportRow {
  scenario: string;
  status: 'passed' | 'failed' | 'skipped';
  messages: number | string;
  lost: number | string;
  duplicated: number | string;
  capacityViolations: number | string;
  recovery: string;
  notes: string;
  seconds: number;
  books?: Omit<Books, 'profileMismatches'>;
}

export const REPORT_JSON = process.env['CHAOS_REPORT'] ?? join(tmpdir(), 'vapora-chaos-report.json');

export class Report {
  readonly rows: ReportRow[] = [];
  readonly startedAt = new Date();

  add(row: ReportRow): void {
    this.rows.push(row);
    this.write();
  }

  markdown(): string {
    const header =
      '| scenario | messages | lost | duplicated | capacity violations | recovery time | status | notes |\n' +
      '| --- | ---: | ---: | ---: | ---: | --- | --- | --- |\n';
    return (
      header +
      this.rows
        .map(
          (r) =>
            `| ${r.scenario} | ${r.messages} | ${r.lost} | ${r.duplicated} | ${r.capacityViolations} | ${r.recovery} | ${r.status} (${r.seconds.toFixed(0)} s) | ${r.notes} |`,
        )
        .join('\n')
    );
  }

  write(): void {
    const body = {
      startedAt: this.startedAt.toISOString(),
      scale: CHAOS_SCALE,
      node: process.version,
      rows: this.rows,
    };
    writeFileSync(REPORT_JSON, `${JSON.stringify(body, null, 2)}\n`);
    writeFileSync(REPORT_JSON.replace(/\.json$/, '') + '.md', `${this.markdown()}\n`);
  }

  print(): void {
    if (this.rows.length === 0) return;
    process.stdout.write(
      `\nChaos suite (CHAOS_SCALE=${CHAOS_SCALE}), report: ${REPORT_JSON}\n\n${this.markdown()}\n\n`,
    );
  }
}

export const fmtMs = (ms: number | undefined) => (ms === undefined ? 'never' : `${(ms / 1000).toFixed(1)} s`);

function tailOf(proc: ChildHandle, lines = 40): string {
  return proc
    .output()
    .split('\n')
    .slice(-lines)
    .map((line) => line.slice(0, 400))
    .join('\n');
}
