/**
 * Streams, consumers and KV buckets are data (`streams/*.json`, in NATS API field names and units); this module
 * applies them idempotently: create what is missing, update what has drifted, and fail, naming the setting,
 * when the server will not take an update. Drift is never reported as `unchanged`: after an update the server's
 * config is read back and compared again.
 */
import { readFile } from 'node:fs/promises';
import type { JetStreamManager } from '@nats-io/jetstream';
import { JetStreamApiError, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { KvOptions } from '@nats-io/kv';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { isConsumerNotFound, isNatsOutage, isStreamNotFound } from './errors.js';
import { bucketDrift, configDrift, formatChange, type Drift } from './topology-diff.js';
import { TopologyInvalidError, TopologyRefusedError } from './topology-errors.js';
import {
  bucketStreamName,
  checkTopology,
  type BucketSpec,
  type ConsumerSpec,
  type StreamSpec,
  type Topology,
} from './topology-spec.js';

export type { BucketSpec, ConsumerSpec, StreamSpec, Topology } from './topology-spec.js';

export type ApplyAction = 'created' | 'updated' | 'unchanged';
export interface ApplyReport {
  kind: 'stream' | 'consumer' | 'bucket';
  name: string;
  action: ApplyAction;
  /** For `updated`: each changed setting as `name old → new` (streams/ names and units). */
  changes: string[];
}

/** Directory holding streams.json, consumers.json and buckets.json (shipped with the package). */
export const DEFAULT_TOPOLOGY_DIR = new URL('../../streams/', import.meta.url);

/** Reads streams/ and checks it (every stream and bucket bounded in bytes, …); throws TopologyInvalidError. */
export async function loadTopology(dir: URL | string = DEFAULT_TOPOLOGY_DIR): Promise<Topology> {
  const base = typeof dir === 'string' ? new URL(`file://${dir.endsWith('/') ? dir : `${dir}/`}`) : dir;
  const read = async <T>(file: string): Promise<T> =>
    JSON.parse(await readFile(new URL(file, base), 'utf8')) as T;
  const topology: Topology = {
    streams: await read('streams.json'),
    consumers: await read('consumers.json'),
    buckets: await read('buckets.json'),
  };
  const problems = checkTopology(topology);
  if (problems.length > 0) throw new TopologyInvalidError(problems);
  return topology;
}

export interface ApplyOptions {
  /** Overrides num_replicas / replicas of everything (1 locally, 3 in a production cluster). */
  replicas?: number;
  /**
   * Bound of each JetStream API request made here. Creating a replicated stream or bucket answers only once its
   * raft group has elected a leader, which on a busy cluster outlives an ordinary request. @default 30000
   */
  requestTimeoutMs?: number;
  /**
   * How long a step that failed because the cluster could not answer (timeout, no responders, leader election,
   * a peer down) is retried, with backoff. Every step is idempotent (read, then create or reconcile), so a retry
   * after a create that timed out but happened finds the stream and compares it. @default 120000
   */
  retryForMs?: number;
}

const BACKOFF_MS = { first: 250, max: 5_000 } as const;

export async function applyTopology(
  nc: NatsConnection,
  topology: Topology,
  options: ApplyOptions = {},
): Promise<ApplyReport[]> {
  const timeout = options.requestTimeoutMs ?? 30_000;
  const deadline = Date.now() + (options.retryForMs ?? 120_000);
  const step = <T>(call: () => Promise<T>) => retryOutage(nc, deadline, call);
  const jsm = await step(() => jetstreamManager(nc, { timeout }));
  const reports: ApplyReport[] = [];
  for (const spec of topology.streams) {
    const config = options.replicas ? { ...spec, num_replicas: options.replicas } : spec;
    reports.push(await step(() => applyStream(jsm, config)));
  }
  for (const spec of topology.consumers) reports.push(await step(() => applyConsumer(jsm, spec)));
  const kvm = new Kvm(jetstream(nc, { timeout }));
  for (const spec of topology.buckets) {
    reports.push(await step(() => applyBucket(jsm, kvm, spec, options.replicas)));
  }
  return reports;
}

/** Runs `call` until it succeeds, fails with something other than an outage, or the deadline passes. */
async function retryOutage<T>(nc: NatsConnection, deadline: number, call: () => Promise<T>): Promise<T> {
  for (let wait: number = BACKOFF_MS.first; ; wait = Math.min(BACKOFF_MS.max, wait * 2)) {
    try {
      return await call();
    } catch (err) {
      if (!isNatsOutage(err) || nc.isClosed() || Date.now() + wait > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

const created = (kind: ApplyReport['kind'], name: string): ApplyReport => ({
  kind,
  name,
  action: 'created',
  changes: [],
});

async function applyStream(jsm: JetStreamManager, config: StreamSpec): Promise<ApplyReport> {
  let actual: object;
  try {
    actual = (await jsm.streams.info(config.name)).config;
  } catch (err) {
    if (!isStreamNotFound(err)) throw err;
    await jsm.streams.add(config);
    return created('stream', config.name);
  }
  return reconcile('stream', config.name, configDrift(config, actual), async (patch) => {
    // nats.js merges the patch onto the server's current config, so settings streams/ leaves out are kept.
    const info = await jsm.streams.update(config.name, patch);
    return configDrift(config, info.config);
  });
}

async function applyConsumer(jsm: JetStreamManager, spec: ConsumerSpec): Promise<ApplyReport> {
  const name = `${spec.stream}/${spec.config.durable_name}`;
  let actual: object;
  try {
    actual = (await jsm.consumers.info(spec.stream, spec.config.durable_name)).config;
  } catch (err) {
    if (!isConsumerNotFound(err)) throw err;
    await jsm.consumers.add(spec.stream, spec.config);
    return created('consumer', name);
  }
  return reconcile('consumer', name, configDrift(spec.config, actual), async (patch) => {
    const info = await jsm.consumers.update(spec.stream, spec.config.durable_name, patch);
    return configDrift(spec.config, info.config);
  });
}

async function applyBucket(
  jsm: JetStreamManager,
  kvm: Kvm,
  spec: BucketSpec,
  replicas?: number,
): Promise<ApplyReport> {
  const stream = bucketStreamName(spec.name);
  let actual: object;
  try {
    actual = (await jsm.streams.info(stream)).config;
  } catch (err) {
    if (!isStreamNotFound(err)) throw err;
    const options: Partial<KvOptions> = {
      history: spec.history ?? 1,
      storage: spec.storage === 'memory' ? 'memory' : 'file',
      replicas: replicas ?? spec.replicas ?? 1,
      maxValueSize: spec.max_value_size,
      max_bytes: spec.max_bytes,
      ...(spec.description ? { description: spec.description } : {}),
      ...(spec.ttl_ms ? { ttl: spec.ttl_ms } : {}),
    };
    await kvm.create(spec.name, options);
    return created('bucket', spec.name);
  }
  // A bucket is its stream: the same update API, with buckets.json's settings mapped onto stream fields.
  return reconcile('bucket', spec.name, bucketDrift(spec, replicas, actual), async (patch) => {
    const info = await jsm.streams.update(stream, patch);
    return bucketDrift(spec, replicas, info.config);
  });
}

/**
 * Sends the drift's patch and checks the server's answer. A refusal (an immutable setting such as storage or
 * retention, replicas the cluster cannot place) or an update the server accepted without applying both fail
 * with the target and the settings named: reporting them as done would leave the drift in place unseen.
 */
async function reconcile(
  kind: ApplyReport['kind'],
  name: string,
  drift: Drift,
  update: (patch: Record<string, unknown>) => Promise<Drift>,
): Promise<ApplyReport> {
  if (drift.changes.length === 0) return { kind, name, action: 'unchanged', changes: [] };
  const changes = drift.changes.map(formatChange);
  const settings = drift.changes.map((c) => c.setting);
  let after: Drift;
  try {
    after = await update(drift.patch);
  } catch (err) {
    // An outage (leader election, a peer down) is not a refusal: applyTopology retries the whole step.
    if (!(err instanceof JetStreamApiError) || isNatsOutage(err)) throw err;
    throw new TopologyRefusedError(
      kind,
      name,
      settings,
      `streams apply: ${kind} ${name}: the server refused to change ${changes.join(', ')}: ${err.message}`,
      { cause: err },
    );
  }
  if (after.changes.length > 0) {
    throw new TopologyRefusedError(
      kind,
      name,
      after.changes.map((c) => c.setting),
      `streams apply: ${kind} ${name}: the server accepted the update but still holds ${after.changes.map(formatChange).join(', ')}`,
    );
  }
  return { kind, name, action: 'updated', changes };
}

/** Names of streams and buckets that are missing (readiness probe). */
export async function missingTopology(jsm: JetStreamManager, topology: Topology): Promise<string[]> {
  const names = [
    ...topology.streams.map((s) => s.name),
    ...topology.buckets.map((b) => bucketStreamName(b.name)),
  ];
  const missing: string[] = [];
  for (const name of names) {
    try {
      await jsm.streams.info(name);
    } catch (err) {
      if (!isStreamNotFound(err)) throw err;
      missing.push(name);
    }
  }
  return missing;
}
