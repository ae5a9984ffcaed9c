/**
 * Streams, consumers and KV buckets are data (`streams/*.json`, in NATS API field names and units); this module
 * applies them idempotently: create what is missing, update what exists, leave the rest alone.
 */
import { readFile } from 'node:fs/promises';
import type { ConsumerConfig, JetStreamManager, StreamConfig } from '@nats-io/jetstream';
import type { KvOptions } from '@nats-io/kv';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { isConsumerNotFound, isStreamNotFound } from './errors.js';

export interface ConsumerSpec {
  stream: string;
  config: Partial<ConsumerConfig> & { durable_name: string };
}

export interface BucketSpec {
  name: string;
  description?: string;
  history?: number;
  ttl_ms?: number;
  max_value_size?: number;
  storage?: 'file' | 'memory';
  replicas?: number;
}

export interface Topology {
  streams: (Partial<StreamConfig> & { name: string })[];
  consumers: ConsumerSpec[];
  buckets: BucketSpec[];
}

export type ApplyAction = 'created' | 'updated' | 'unchanged';
export interface ApplyReport {
  kind: 'stream' | 'consumer' | 'bucket';
  name: string;
  action: ApplyAction;
}

/** Directory holding streams.json, consumers.json and buckets.json (shipped with the package). */
export const DEFAULT_TOPOLOGY_DIR = new URL('../../streams/', import.meta.url);

export async function loadTopology(dir: URL | string = DEFAULT_TOPOLOGY_DIR): Promise<Topology> {
  const base = typeof dir === 'string' ? new URL(`file://${dir.endsWith('/') ? dir : `${dir}/`}`) : dir;
  const read = async <T>(file: string): Promise<T> =>
    JSON.parse(await readFile(new URL(file, base), 'utf8')) as T;
  return {
    streams: await read('streams.json'),
    consumers: await read('consumers.json'),
    buckets: await read('buckets.json'),
  };
}

export interface ApplyOptions {
  /** Overrides num_replicas / replicas of everything (1 locally, 3 in a production cluster). */
  replicas?: number;
}

export async function applyTopology(
  nc: NatsConnection,
  topology: Topology,
  options: ApplyOptions = {},
): Promise<ApplyReport[]> {
  const jsm = await jetstreamManager(nc);
  const reports: ApplyReport[] = [];
  for (const spec of topology.streams) {
    const config = options.replicas ? { ...spec, num_replicas: options.replicas } : spec;
    reports.push({ kind: 'stream', name: spec.name, action: await applyStream(jsm, config) });
  }
  for (const spec of topology.consumers) {
    reports.push({
      kind: 'consumer',
      name: `${spec.stream}/${spec.config.durable_name}`,
      action: await applyConsumer(jsm, spec),
    });
  }
  const kvm = new Kvm(jetstream(nc));
  for (const spec of topology.buckets) {
    reports.push({
      kind: 'bucket',
      name: spec.name,
      action: await applyBucket(jsm, kvm, spec, options.replicas),
    });
  }
  return reports;
}

async function applyStream(
  jsm: JetStreamManager,
  config: Partial<StreamConfig> & { name: string },
): Promise<ApplyAction> {
  try {
    const info = await jsm.streams.info(config.name);
    if (isSubset(config, info.config)) return 'unchanged';
    const { name: _name, retention: _retention, storage: _storage, ...mutable } = config;
    await jsm.streams.update(config.name, mutable);
    return 'updated';
  } catch (err) {
    if (!isStreamNotFound(err)) throw err;
    await jsm.streams.add(config);
    return 'created';
  }
}

async function applyConsumer(jsm: JetStreamManager, spec: ConsumerSpec): Promise<ApplyAction> {
  try {
    const info = await jsm.consumers.info(spec.stream, spec.config.durable_name);
    if (isSubset(spec.config, info.config)) return 'unchanged';
    const { durable_name: _d, deliver_policy: _p, replay_policy: _r, ...mutable } = spec.config;
    await jsm.consumers.update(spec.stream, spec.config.durable_name, mutable);
    return 'updated';
  } catch (err) {
    if (!isConsumerNotFound(err)) throw err;
    await jsm.consumers.add(spec.stream, spec.config);
    return 'created';
  }
}

async function applyBucket(
  jsm: JetStreamManager,
  kvm: Kvm,
  spec: BucketSpec,
  replicas?: number,
): Promise<ApplyAction> {
  const streamName = `KV_${spec.name}`;
  let exists = true;
  try {
    await jsm.streams.info(streamName);
  } catch (err) {
    if (!isStreamNotFound(err)) throw err;
    exists = false;
  }
  if (exists) return 'unchanged';
  const options: Partial<KvOptions> = {
    history: spec.history ?? 1,
    storage: spec.storage === 'memory' ? 'memory' : 'file',
    replicas: replicas ?? spec.replicas ?? 1,
    ...(spec.description ? { description: spec.description } : {}),
    ...(spec.ttl_ms ? { ttl: spec.ttl_ms } : {}),
    ...(spec.max_value_size ? { maxValueSize: spec.max_value_size } : {}),
  };
  await kvm.create(spec.name, options);
  return 'created';
}

/** True when every field the spec sets has the same value on the server (the server adds default values). */
function isSubset(spec: object, actual: object): boolean {
  const server = actual as Record<string, unknown>;
  return Object.entries(spec).every(([key, value]) => JSON.stringify(server[key]) === JSON.stringify(value));
}

/** Names of streams and buckets that are missing (readiness probe). */
export async function missingTopology(jsm: JetStreamManager, topology: Topology): Promise<string[]> {
  const names = [...topology.streams.map((s) => s.name), ...topology.buckets.map((b) => `KV_${b.name}`)];
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
