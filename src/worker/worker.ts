/**
 * One worker replica: create() → run() → shutdown(graceMs).
 * create connects (NATS, KG), applies the topology unless told not to, and mirrors the buckets; run starts the
 * two consumers and the probe server; shutdown stops pulling, lets in-flight messages finish within the grace
 * period, drains NATS and closes the KG (bounded, for the embedded store that may hang on close).
 */
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Histogram } from 'prom-client';
import type { WorkerConfig } from '../config/config.js';
import { connectNats } from '../bus/connect.js';
import type { MessageHandler } from '../bus/consumer-loop.js';
import { ConsumerLoop } from '../bus/consumer-loop.js';
import { Buckets, Consumers, Streams } from '../bus/subjects.js';
import type { Topology } from '../bus/topology.js';
import { applyTopology, loadTopology, missingTopology } from '../bus/topology.js';
import type { KnowledgeGraph } from '../kg/knowledge-graph.js';
import { connectKnowledgeGraph } from '../kg/connect.js';
import { AppliedMarks } from './applied-marks.js';
import { createAssigner } from './assigner.js';
import { CapacityService } from './capacity-service.js';
import { createLearner } from './learner.js';
import { createLogger } from './logger.js';
import type { WorkerMetrics } from './metrics.js';
import { createMetrics } from './metrics.js';
import type { ProbeServer } from './http-server.js';
import { startProbeServer } from './http-server.js';
import { ProfileService } from './profile-service.js';
import { Reassigner } from './reassigner.js';
import type { Stores } from './stores.js';
import { closeStores, openStores } from './stores.js';
import { TaskStateService } from './task-state-service.js';

/** A registration whose heartbeat is older than this is treated as gone (the bucket TTL is the same). */
export const AGENT_HEARTBEAT_TIMEOUT_MS = 30_000;

export interface WorkerDeps {
  log?: Logger;
  /** Use this KG instead of connecting one from config (tests share one embedded KG between workers). */
  kg?: KnowledgeGraph;
  /** Use this connection instead of opening one. Not drained on shutdown. */
  nc?: NatsConnection;
  clock?: () => Date;
  topology?: Topology;
  /** Name of this replica in logs and NATS monitoring. */
  name?: string;
}

export class Worker {
  private readonly assignerLoop: ConsumerLoop;
  private readonly learnerLoop: ConsumerLoop;
  private readonly marks: AppliedMarks;
  private readonly reassigner: Reassigner;
  private lastReconnectAt = 0;
  private probe: ProbeServer | undefined;
  private alive = true;
  private shutdownPromise: Promise<void> | undefined;

  private constructor(
    readonly config: Readonly<WorkerConfig>,
    readonly log: Logger,
    readonly nc: NatsConnection,
    private readonly ownsConnection: boolean,
    readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    readonly kg: KnowledgeGraph,
    private readonly ownsKg: boolean,
    readonly stores: Stores,
    readonly metrics: WorkerMetrics,
    readonly profiles: ProfileService,
    readonly capacity: CapacityService,
    private readonly topology: Topology,
    deps: WorkerDeps,
  ) {
    const tasks = new TaskStateService(stores.tasksKv);
    const assigner = createAssigner({
      js,
      stores,
      profiles,
      capacity,
      tasks,
      metrics,
      unassignableAfterMs: config.unassignableAfterMs,
      assignmentTimeoutMs: config.assignmentTimeoutMs,
      heartbeatTimeoutMs: AGENT_HEARTBEAT_TIMEOUT_MS,
      useRecency: config.useRecency,
      ...(deps.clock ? { clock: deps.clock } : {}),
    });
    this.marks = new AppliedMarks(kg, log);
    const learner = createLearner({
      kg,
      marks: this.marks,
      profiles,
      capacity,
      tasks,
      metrics,
      ...(deps.clock ? { clock: deps.clock } : {}),
    });
    this.reassigner = new Reassigner({
      js,
      stores,
      capacity,
      tasks,
      metrics,
      log: log.child({ component: 'reassigner' }),
      heartbeatTimeoutMs: AGENT_HEARTBEAT_TIMEOUT_MS,
      timeoutCountsAsFailure: config.timeoutCountsAsFailure,
      intervalMs: config.sweepIntervalMs,
      lastReconnectAt: () => this.lastReconnectAt,
      ...(deps.clock ? { clock: deps.clock } : {}),
    });
    // One loop per consumer; the histogram records the handling time of acknowledged messages, and every retry
    // and dead letter is counted here, where outcomes are settled, not in each handler.
    const loop = (
      stream: string,
      consumer: string,
      origin: string,
      handler: MessageHandler,
      latency: Histogram,
    ) =>
      new ConsumerLoop({
        js,
        stream,
        consumer,
        handler,
        concurrency: config.concurrency,
        maxPayload: nc.info?.max_payload ?? 1024 * 1024,
        log: log.child({ consumer }),
        onSettled: (outcome, _msg, ms) => {
          if (outcome.kind === 'ack') latency.observe(ms / 1000);
          else if (outcome.kind === 'retry') metrics.retries.inc({ consumer: origin });
          else metrics.deadLetters.inc({ origin });
        },
      });
    this.assignerLoop = loop(
      Streams.tasks,
      Consumers.assigner,
      'assigner',
      assigner,
      metrics.decisionSeconds,
    );
    this.learnerLoop = loop(Streams.results, Consumers.learner, 'learner', learner, metrics.ingestionSeconds);
  }

  static async create(config: Readonly<WorkerConfig>, deps: WorkerDeps = {}): Promise<Worker> {
    const log = deps.log ?? createLogger(config.logLevel);
    const name = deps.name ?? `vapora-learning-worker-${process.pid}`;
    const nc = deps.nc ?? (await connectNats(config.nats, { name }));
    let kg: KnowledgeGraph | undefined;
    try {
      kg = deps.kg ?? (await connectKnowledgeGraph(config.kg));
      const js = jetstream(nc);
      const jsm = await jetstreamManager(nc);
      const topology = deps.topology ?? (await loadTopology());
      if (config.applyStreams) {
        const reports = await applyTopology(nc, topology, { replicas: config.streamReplicas });
        log.info({ changed: reports.filter((r) => r.action !== 'unchanged') }, 'topology applied');
      }
      const metrics = createMetrics();
      const stores = await openStores(js, log);
      const onConflict = (bucket: string) => () => metrics.casRetries.inc({ bucket });
      const profiles = new ProfileService(stores, kg, onConflict(Buckets.profiles));
      const capacity = new CapacityService(stores, onConflict(Buckets.capacity));
      const worker = new Worker(
        config,
        log,
        nc,
        deps.nc === undefined,
        js,
        jsm,
        kg,
        deps.kg === undefined,
        stores,
        metrics,
        profiles,
        capacity,
        topology,
        deps,
      );
      await worker.coldStart();
      return worker;
    } catch (err) {
      if (deps.kg === undefined) await kg?.close().catch(() => undefined);
      if (deps.nc === undefined) await nc.close().catch(() => undefined);
      throw err;
    }
  }

  /** An empty profile cache with history in the KG (a lost or new bucket): rebuild every profile first. */
  private async coldStart(): Promise<void> {
    if (this.stores.profiles.size > 0) return;
    const keys = await this.kg.listProfileKeys();
    if (keys.length === 0) return;
    this.log.info({ profiles: keys.length }, 'profile cache empty; rebuilding from the knowledge graph');
    const now = new Date();
    for (const { agentId, taskType } of keys) await this.profiles.rebuild(agentId, taskType, now);
  }

  /** Starts consuming and serving probes. Returns once running; use shutdown() to stop. */
  async run(): Promise<void> {
    void (async () => {
      for await (const status of this.nc.status()) {
        if (status.type === 'reconnect') {
          this.lastReconnectAt = Date.now();
          this.log.warn('reconnected to NATS');
        } else if (status.type === 'disconnect') this.log.warn('disconnected from NATS; reconnecting');
      }
    })();
    await this.assignerLoop.start();
    await this.learnerLoop.start();
    this.reassigner.start();
    this.probe = await startProbeServer(
      this.config.httpPort,
      this.metrics.registry,
      [
        {
          name: 'nats',
          check: async () => {
            if (this.nc.isClosed()) throw new Error('connection closed');
            await this.nc.flush();
          },
        },
        { name: 'kg', check: () => this.kg.ping() },
        {
          name: 'streams',
          check: async () => {
            const missing = await missingTopology(this.jsm, this.topology);
            if (missing.length > 0) throw new Error(`missing: ${missing.join(', ')}`);
          },
        },
      ],
      () => this.alive,
    );
    this.log.info({ httpPort: this.probe.port, concurrency: this.config.concurrency }, 'worker running');
  }

  get httpPort(): number | undefined {
    return this.probe?.port;
  }

  /** Idempotent. Stops pulling, finishes in-flight work within `graceMs`, then closes everything. */
  shutdown(graceMs: number = this.config.shutdownGraceMs): Promise<void> {
    this.shutdownPromise ??= this.doShutdown(graceMs);
    return this.shutdownPromise;
  }

  private async doShutdown(graceMs: number): Promise<void> {
    this.alive = false;
    const started = Date.now();
    this.log.info({ graceMs }, 'shutting down: no new messages, finishing in-flight work');
    await this.reassigner.stop();
    const [assignerLeft, learnerLeft] = await Promise.all([
      this.assignerLoop.stop(graceMs),
      this.learnerLoop.stop(graceMs),
    ]);
    if (assignerLeft + learnerLeft > 0) {
      this.log.warn(
        { unfinished: assignerLeft + learnerLeft },
        'grace period over; unfinished messages will be redelivered',
      );
    }
    await this.marks.flush();
    await closeStores(this.stores);
    await this.probe?.close();
    if (this.ownsConnection) await this.nc.drain().catch(() => undefined);
    if (this.ownsKg) await this.kg.close().catch(() => undefined);
    this.log.info({ ms: Date.now() - started }, 'shut down');
  }
}
