/** Connections for CLI commands, opened from the environment, with errors that say how to fix them. */
import type { JetStreamClient } from '@nats-io/jetstream';
import { jetstream } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { loadKgConfig, loadNatsConfig } from '../config/config.js';
import { VaporaError, ErrorCodes } from '../errors.js';
import { connectNats } from '../bus/connect.js';
import { isStreamNotFound } from '../bus/errors.js';
import type { KnowledgeGraph } from '../kg/knowledge-graph.js';
import { connectKnowledgeGraph } from '../kg/connect.js';

export interface NatsContext {
  nc: NatsConnection;
  js: JetStreamClient;
  close(): Promise<void>;
}

export async function openNats(name: string, inboxPrefix?: string): Promise<NatsContext> {
  const config = loadNatsConfig();
  const nc = await connectNats(config, {
    name,
    timeoutMs: 3000,
    ...(inboxPrefix !== undefined ? { inboxPrefix } : {}),
  });
  return { nc, js: jetstream(nc), close: () => nc.drain().catch(() => undefined) };
}

/** Opens a bucket, or explains that the topology has not been applied yet. */
export async function openBucket(ctx: NatsContext, bucket: string): Promise<KV> {
  const kv = await new Kvm(ctx.js).open(bucket);
  try {
    await kv.status();
  } catch (err) {
    if (isStreamNotFound(err)) {
      throw new VaporaError(
        ErrorCodes.TopologyMissing,
        `KV bucket ${bucket} does not exist on this NATS server; run 'vapora-learning streams apply' or start the worker`,
      );
    }
    throw err;
  }
  return kv;
}

export async function openKg(): Promise<KnowledgeGraph> {
  return connectKnowledgeGraph(loadKgConfig());
}

export async function readAll<T>(kv: KV): Promise<Map<string, T>> {
  const values = new Map<string, T>();
  const keys: string[] = [];
  for await (const key of await kv.keys()) keys.push(key);
  for (const key of keys.sort()) {
    const entry = await kv.get(key);
    if (entry && entry.operation === 'PUT') values.set(key, entry.json<T>());
  }
  return values;
}
