/**
 * One worker replica: `Worker.create(options)` → `run()` → `shutdown(graceMs)`.
 *
 * create connects (NATS, KG), applies the topology unless told not to, mirrors the buckets and rebuilds an empty
 * profile cache; run serves the probes and starts the two consumers and the reassignment sweep; shutdown stops
 * pulling, lets in-flight messages finish within the grace period, drains NATS and closes the KG (bounded, for
 * the embedded store that may hang on close).
 *
 * The public surface is deliberately small: `run`, `shutdown`, `state`, `ready` and `httpPort`. Everything else
 * is private. Tests and tools observe a worker from outside, as an operator would: the streams and KV buckets
 * through their own NATS connection, the knowledge graph they handed in, and the HTTP probes and metrics.
 */
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Histogram } from 'prom-client';
import type { WorkerConfig } from '../config/config.js';
import { connectNats } from '../bus/connect.js';
import { isNatsOutage } from '../bus/errors.js';
import type { MessageHandler } from '../bus/consumer-loop.js';
import { ConsumerLoop } from '../bus/consumer-loop.js';
import { Buckets, Consumers, Streams } from '../bus/subjects.js';
import type { Topology } from '../bus/topology.js';
import { applyTopology, loadTopology, missingTopology } from '../bus/topology.js';
import type { KnowledgeGraph } from '../kg/knowledge-graph.js';
import { connectKnowledgeGraph } from '../kg/connect.js';
import { withTimeout } from '../kg/bounded.js';
import { AppliedMarks } from './applied-marks.js';
import { createAssigner } from './assigner.js';
import { PolicyRouter } from './policy-router.js';
import { CapacityService } from './capacity-service.js';
import { createLearner } from './learner.js';
import { createLogger } from './logger.js';
import type { WorkerMetrics } from './metrics.js';
import { createMetrics } from './metrics.js';
import type { ProbeServer } from './http-server.js';
import { startProbeServer } from './http-server.js';
import { ProfileService } from './profile-service.js';
import type { Readiness, ReadinessCheck, WorkerState } from './readiness.js';
import { readiness } from './readiness.js';
import { RetentionService } from './retention-service.js';
import { Reassigner } from './reassigner.js';
import { RegistryService } from './registry-service.js';
import type { Stores } from './stores.js';
import { closeStores, mirrorsBehind, openStores } from './stores.js';
import { TaskStateService } from './task-state-service.js';
import { ErrorCodes, NatsUnavailableError, VaporaError } from '../errors.js';

export type { Readiness, WorkerState } from './readiness.js';

/** A registration whose heartbeat is older than this is treated as gone (the bucket TTL is the same). */
export const AGENT_HEARTBEAT_TIMEOUT_MS = 30_000;

export interface WorkerOptions {
  /** The compiled configuration (`loadWorkerConfig()`). */
  config: Readonly<WorkerConfig>;
  /** @default a pino JSON logger at `config.logLevel` */
  log?: Logger;
  /**
   * Use this KG instead of connecting one from `config.kg`; the caller keeps ownership (it is not closed on
   * shutdown). Tests share one embedded KG between workers, or wrap one to inject failures.
   */
  kg?: KnowledgeGraph;
  /** Use this connection instead of opening one from `config.nats`; the caller keeps ownership (not drained). */
  nc?: NatsConnection;
  /** The time decisions and learning use. @default () => new Date() */
  clock?: () => Date;
  /** Streams, consumers and buckets to apply and to check in /readyz. @default the streams/ directory */
  topology?: Topology;
  /** Name of this replica in logs and NATS monitoring. @default vapora-learning-worker-<pid> */
  name?: string;
  /**
   * Serve /healthz, /readyz and /metrics from run(). False when the caller already serves them (the worker
   * command does, while it waits for NATS and the KG) and asks `ready()` and `metricsRegistry` itself.
   * @default true
   */
  serveProbes?: boolean;
  /**
   * Called once when the worker fails for good (a consumer loop that cannot be restarted, a connection that
   * closed): the caller should shut it down and exit non-zero so the orchestrator restarts the process.
   */
  onFailed?: (err: unknown) => void;
}

/** What create() wires together; handed to the constructor as one object. */
interface Parts {
  config: Readonly<WorkerConfig>;
  log: Logger;
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  kg: KnowledgeGraph;
  stores: Stores;
  metrics: WorkerMetrics;
  profiles: ProfileService;
  capacity: CapacityService;
  topology: Topology;
  /** Whether shutdown drains the connection / closes the KG (false when the caller passed them in). */
  ownsConnection: boolean;
  ownsKg: boolean;
  clock: (() => Date) | undefined;
  serveProbes: boolean;
  onFailed: ((err: unknown) => void) | undefined;
}

/** Restarts of a consumer loop whose subscription ended, before the worker gives up (non-outage failures). */
const LOOP_RESTART_ATTEMPTS = 5;
/** The last slice of the shutdown grace period, kept for the NATS drain (a quarter of a shorter grace period). */
const SHUTDOWN_DRAIN_RESERVE_MS = 3_000;
/** A drain gets at least this long even when the rest used up the grace period. */
const MIN_DRAIN_MS = 500;
/**
 * Tasks that may wait in-process for a full agent's slot, per handler. Waiting tasks give their handler back, so
 * this bounds only how many unacknowledged messages a replica holds that way (the consumers' max_ack_pending is
 * 1,000 across replicas).
 */
const WAITING_TASKS_PER_HANDLER = 4;

export class Worker {
  readonly #parts: Parts;
  readonly #log: Logger;
  readonly #assignerLoop: ConsumerLoop;
  readonly #learnerLoop: ConsumerLoop;
  readonly #marks: AppliedMarks;
  readonly #reassigner: Reassigner;
  readonly #retention: RetentionService;
  readonly #registry: RegistryService;
  readonly #checks: readonly ReadinessCheck[];
  #state: WorkerState = 'starting';
  #lastReconnectAt = 0;
  #probe: ProbeServer | undefined;
  #running: Promise<void> | undefined;
  #shutdown: Promise<void> | undefined;

  private constructor(parts: Parts) {
    this.#parts = parts;
    this.#log = parts.log;
    const { config, nc, js, jsm, kg, stores, metrics, profiles, capacity, topology, log } = parts;
    const clock = parts.clock ? { clock: parts.clock } : {};
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
      roster: config.agents && new Set(config.agents.map((spec) => spec.agentId)),
      policies: new PolicyRouter(config.policy),
      kg,
      ...clock,
    });
    this.#marks = new AppliedMarks(kg, log);
    const learner = createLearner({ kg, marks: this.#marks, profiles, capacity, tasks, metrics, ...clock });
    this.#registry = new RegistryService({
      nc,
      jsm,
      agentsKv: stores.agentsKv,
      roster: config.agents,
      log: log.child({ component: 'registry' }),
      ...clock,
    });
    this.#reassigner = new Reassigner({
      js,
      stores,
      capacity,
      tasks,
      metrics,
      log: log.child({ component: 'reassigner' }),
      heartbeatTimeoutMs: AGENT_HEARTBEAT_TIMEOUT_MS,
      timeoutCountsAsFailure: config.timeoutCountsAsFailure,
      intervalMs: config.sweepIntervalMs,
      lastReconnectAt: () => this.#lastReconnectAt,
      registryCurrent: () => stores.agents.current,
      jsm,
      ...clock,
    });
    this.#retention = new RetentionService({
      kg,
      retentionMs: config.kgRetentionMs,
      log: log.child({ component: 'retention' }),
      registry: metrics.registry,
      ...clock,
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
        onEnded: (err) => this.#superviseLoop(consumer, err),
        onSettled: (outcome, _msg, ms) => {
          if (outcome.kind === 'ack') latency.observe(ms / 1000);
          else if (outcome.kind === 'retry') metrics.retries.inc({ consumer: origin });
          else metrics.deadLetters.inc({ origin });
        },
      });
    this.#assignerLoop = loop(
      Streams.tasks,
      Consumers.assigner,
      'assigner',
      assigner,
      metrics.decisionSeconds,
    );
    this.#learnerLoop = loop(
      Streams.results,
      Consumers.learner,
      'learner',
      learner,
      metrics.ingestionSeconds,
    );
    this.#checks = [
      {
        name: 'nats',
        check: async () => {
          if (nc.isClosed()) throw new NatsUnavailableError('connection closed');
          await nc.flush();
        },
      },
      { name: 'kg', check: () => kg.ping() },
      {
        name: 'consumers',
        check: () => {
          const stopped = [
            ...(this.#assignerLoop.running ? [] : [Consumers.assigner]),
            ...(this.#learnerLoop.running ? [] : [Consumers.learner]),
          ];
          if (stopped.length > 0) {
            return Promise.reject(
              new NatsUnavailableError(`consumer loop not running: ${stopped.join(', ')}`),
            );
          }
          return Promise.resolve();
        },
      },
      {
        name: 'mirrors',
        check: () => {
          const behind = mirrorsBehind(stores);
          if (behind.length > 0) {
            return Promise.reject(new NatsUnavailableError(`mirror not current: ${behind.join(', ')}`));
          }
          return Promise.resolve();
        },
      },
      {
        name: 'streams',
        check: async () => {
          const missing = await missingTopology(jsm, topology);
          if (missing.length > 0) {
            throw new VaporaError(ErrorCodes.TopologyMissing, `missing: ${missing.join(', ')}`);
          }
        },
      },
    ];
  }

  /** Connects, provisions and warms up a replica; it consumes nothing until run(). State: `starting`. */
  static async create(options: WorkerOptions): Promise<Worker> {
    const { config } = options;
    const log = options.log ?? createLogger(config.logLevel);
    const name = options.name ?? `vapora-learning-worker-${process.pid}`;
    const nc = options.nc ?? (await connectNats(config.nats, { name }));
    let kg: KnowledgeGraph | undefined;
    try {
      kg = options.kg ?? (await connectKnowledgeGraph(config.kg));
      const js = jetstream(nc);
      const jsm = await jetstreamManager(nc);
      const topology = options.topology ?? (await loadTopology());
      if (config.applyStreams) {
        const reports = await applyTopology(nc, topology, { replicas: config.streamReplicas });
        log.info({ changed: reports.filter((r) => r.action !== 'unchanged') }, 'topology applied');
      }
      const metrics = createMetrics();
      const stores = await openStores(js, log, { nc });
      const onConflict = (bucket: string) => () => metrics.casRetries.inc({ bucket });
      const profiles = new ProfileService(stores, kg, onConflict(Buckets.profiles));
      const capacity = new CapacityService(
        stores,
        onConflict(Buckets.capacity),
        WAITING_TASKS_PER_HANDLER * config.concurrency,
      );
      const worker = new Worker({
        config,
        log,
        nc,
        js,
        jsm,
        kg,
        stores,
        metrics,
        profiles,
        capacity,
        topology,
        ownsConnection: options.nc === undefined,
        ownsKg: options.kg === undefined,
        clock: options.clock,
        serveProbes: options.serveProbes ?? true,
        onFailed: options.onFailed,
      });
      log.info({ state: worker.#state }, 'worker state: starting');
      await worker.#coldStart();
      return worker;
    } catch (err) {
      if (options.kg === undefined) await kg?.close().catch(() => undefined);
      if (options.nc === undefined) await nc.close().catch(() => undefined);
      throw err;
    }
  }

  /** The lifecycle state; every change is logged (`worker state: <state>`) and read by the probes. */
  get state(): WorkerState {
    return this.#state;
  }

  /** The Prometheus registry /metrics serves (for a caller that serves the probes itself). */
  get metricsRegistry(): WorkerMetrics['registry'] {
    return this.#parts.metrics.registry;
  }

  /** The port of the probe and metrics server once run() started it (useful with `HTTP_PORT=0`). */
  get httpPort(): number | undefined {
    return this.#probe?.port;
  }

  /**
   * What /readyz answers: ready only while `running` and NATS, the KG and the topology all answer (each check
   * bounded to 2 s). Never rejects.
   */
  ready(): Promise<Readiness> {
    return readiness(this.#state, this.#checks);
  }

  /**
   * Serves the probes, then starts consuming. Resolves once `running`; rejects (state `failed`) when the
   * consumers cannot start. Calling it again returns the same promise; after shutdown() it starts nothing.
   */
  run(): Promise<void> {
    if (this.#state !== 'starting' && this.#running === undefined) return Promise.resolve();
    this.#running ??= this.#start().catch((err: unknown) => {
      this.#fail(err);
      throw err;
    });
    return this.#running;
  }

  /** Idempotent. Stops pulling, finishes in-flight work within `graceMs`, then closes what it owns. */
  shutdown(graceMs: number = this.#parts.config.shutdownGraceMs): Promise<void> {
    this.#shutdown ??= this.#stop(graceMs);
    return this.#shutdown;
  }

  async #start(): Promise<void> {
    const { config, nc, metrics } = this.#parts;
    if (this.#parts.serveProbes) {
      this.#probe = await startProbeServer({
        port: config.httpPort,
        registry: () => metrics.registry,
        readiness: () => this.ready(),
        isAlive: () => this.#state === 'starting' || this.#state === 'running',
      });
    }
    void this.#watchConnection(nc);
    await this.#registry.start();
    await this.#assignerLoop.start();
    await this.#learnerLoop.start();
    this.#reassigner.start();
    this.#retention.start();
    if (this.#state !== 'starting') return; // shut down while starting
    this.#setState('running', { httpPort: this.#probe?.port, concurrency: config.concurrency });
  }

  /**
   * A consumer loop's subscription ended on its own: start it again, with backoff. An outage is waited out for
   * as long as it lasts; anything else (the consumer is gone) gets a few attempts, then the worker fails, so that
   * the process exits and its restart re-applies the topology.
   */
  #superviseLoop(consumer: string, err: unknown): void {
    const loop = consumer === Consumers.assigner ? this.#assignerLoop : this.#learnerLoop;
    this.#log.warn({ err, consumer }, 'consumer loop ended; restarting it');
    void (async () => {
      let failures = 0;
      for (let delay = 250; ; delay = Math.min(5_000, delay * 2)) {
        await new Promise((resolve) => setTimeout(resolve, delay).unref());
        if (this.#state !== 'starting' && this.#state !== 'running') return;
        try {
          await loop.start();
          this.#log.info({ consumer }, 'consumer loop restarted');
          return;
        } catch (cause) {
          if (!isNatsOutage(cause)) failures += 1;
          this.#log.warn({ err: cause, consumer, failures }, 'consumer loop restart failed');
          if (failures >= LOOP_RESTART_ATTEMPTS) {
            this.#fail(
              new VaporaError(ErrorCodes.TopologyMissing, `consumer ${consumer} cannot be restarted`, {
                cause,
              }),
            );
            return;
          }
        }
      }
    })();
  }

  async #watchConnection(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (status.type === 'reconnect') {
        // The mirrors resynchronise themselves on this reconnect (KvCache); the reassigner waits for them.
        this.#lastReconnectAt = Date.now();
        this.#log.warn('reconnected to NATS');
      } else if (status.type === 'disconnect') this.#log.warn('disconnected from NATS; reconnecting');
    }
    // The status iterator ends when the connection is closed: for good, unless we are the ones closing it.
    if (this.#state === 'starting' || this.#state === 'running') {
      this.#fail(new Error('the NATS connection closed and will not reconnect'));
    }
  }

  async #coldStart(): Promise<void> {
    // An empty profile cache with history in the KG (a lost or new bucket): rebuild every profile first.
    const { stores, kg, profiles } = this.#parts;
    if (stores.profiles.size > 0) return;
    const keys = await kg.listProfileKeys();
    if (keys.length === 0) return;
    this.#log.info({ profiles: keys.length }, 'profile cache empty; rebuilding from the knowledge graph');
    const now = new Date();
    for (const { agentId, taskType } of keys) await profiles.rebuild(agentId, taskType, now);
  }

  /**
   * Every step is bounded by what is left of `graceMs`: a step that hangs (a sweep waiting on a silent server, a
   * pull that will not close, a drain on a connection that is reconnecting) is logged and left behind, and what it
   * did not finish is redelivered. The background services get at most a quarter of the grace each, the consumer
   * loops what is left but the last slice, which is the drain's. Past `graceMs` only the drain's minimum and the
   * KG's own close bound can run.
   */
  async #stop(graceMs: number): Promise<void> {
    const { nc, kg, stores, ownsConnection, ownsKg } = this.#parts;
    const started = Date.now();
    const drainReserve = Math.min(SHUTDOWN_DRAIN_RESERVE_MS, Math.floor(graceMs / 4));
    const left = (reserve = drainReserve) => Math.max(0, started + graceMs - reserve - Date.now());
    const step = async (what: string, work: Promise<unknown>, ms = left()): Promise<void> => {
      try {
        await withTimeout(work, ms, what);
      } catch (err) {
        this.#log.warn({ err, step: what }, 'shutdown step did not finish; going on');
      }
    };
    if (this.#state !== 'failed') this.#setState('draining', { graceMs });
    this.#log.info({ graceMs }, 'shutting down: no new messages, finishing in-flight work');
    const quarter = () => Math.min(left(), Math.floor(graceMs / 4));
    await step('registry stop', this.#registry.stop(), quarter());
    await step('reassigner stop', this.#reassigner.stop(), quarter());
    await step('retention stop', this.#retention.stop(), quarter());
    const loopsMs = left();
    const [assignerLeft, learnerLeft] = await Promise.all([
      this.#assignerLoop.stop(loopsMs),
      this.#learnerLoop.stop(loopsMs),
    ]);
    if (assignerLeft + learnerLeft > 0) {
      this.#log.warn(
        { unfinished: assignerLeft + learnerLeft },
        'grace period over; unfinished messages will be redelivered',
      );
    }
    await step('applied marks flush', this.#marks.flush());
    await step('mirrors stop', closeStores(stores));
    await step('probe close', this.#probe?.close() ?? Promise.resolve());
    if (ownsConnection) {
      await step('NATS drain', nc.drain(), Math.max(left(0), MIN_DRAIN_MS));
      if (!nc.isClosed()) await nc.close().catch(() => undefined);
    }
    if (ownsKg) await kg.close().catch(() => undefined);
    if (this.#state !== 'failed') this.#setState('stopped');
    this.#log.info({ ms: Date.now() - started }, 'shut down');
  }

  #fail(err: unknown): void {
    if (this.#state === 'failed' || this.#state === 'stopped') return;
    this.#setState('failed', { err: err instanceof Error ? err.message : String(err) }, 'error');
    this.#parts.onFailed?.(err);
  }

  #setState(
    next: WorkerState,
    details: Record<string, unknown> = {},
    level: 'info' | 'error' = 'info',
  ): void {
    if (next === this.#state) return;
    const from = this.#state;
    this.#state = next;
    this.#log[level]({ ...details, state: next, from }, `worker state: ${next}`);
  }
}
