/**
 * The shape of streams/*.json (NATS API field names and units) and the rules the loader enforces on it. Pure: no
 * I/O, so the rules are unit-tested on their own. streams/README.md explains the chosen sizes.
 */
import type { ConsumerConfig, StreamConfig } from '@nats-io/jetstream';

/**
 * A stream as declared. Storage is bounded by bytes as well as by age: `max_age` alone lets a flood (or simply
 * high throughput) fill the node's store, and a full store stops every stream and bucket on it.
 */
export type StreamSpec = Partial<StreamConfig> &
  Pick<
    StreamConfig,
    'name' | 'subjects' | 'storage' | 'retention' | 'discard' | 'max_bytes' | 'max_msg_size'
  >;

export interface ConsumerSpec {
  stream: string;
  config: Partial<ConsumerConfig> & { durable_name: string };
}

/** A KV bucket as declared; the server holds it as stream `KV_<name>`. */
export interface BucketSpec {
  name: string;
  description?: string;
  /** Revisions kept per key (the stream's max_msgs_per_subject). @default 1 */
  history?: number;
  /** Entries expire this long after their last write (the stream's max_age); absent = never. */
  ttl_ms?: number;
  /** Largest value accepted (the stream's max_msg_size). */
  max_value_size: number;
  /** Bucket size bound; KV streams discard new, so a full bucket refuses writes instead of losing keys. */
  max_bytes: number;
  /** @default 'file' */
  storage?: 'file' | 'memory';
  /** Overridden by STREAM_REPLICAS. @default 1 */
  replicas?: number;
}

export interface Topology {
  streams: StreamSpec[];
  consumers: ConsumerSpec[];
  buckets: BucketSpec[];
}

export const bucketStreamName = (bucket: string): string => `KV_${bucket}`;

const positiveInt = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;

/** Every rule streams/ breaks, as `<file> <name>: <problem>` (empty when it is valid). */
export function checkTopology(t: Topology): string[] {
  const problems: string[] = [];
  const where = (file: string, name: unknown) => `${file} ${typeof name === 'string' ? name : '(unnamed)'}`;
  for (const s of t.streams) {
    const at = where('streams.json', s.name);
    if (typeof s.name !== 'string' || s.name === '') problems.push(`${at}: name is required`);
    if (!Array.isArray(s.subjects) || s.subjects.length === 0) problems.push(`${at}: subjects are required`);
    if (s.storage !== 'file' && s.storage !== 'memory')
      problems.push(`${at}: storage must be "file" or "memory"`);
    if (typeof s.retention !== 'string') problems.push(`${at}: retention is required`);
    if (s.discard !== 'old' && s.discard !== 'new') problems.push(`${at}: discard must be "old" or "new"`);
    if (!positiveInt(s.max_bytes)) problems.push(`${at}: max_bytes must be a positive integer (bytes)`);
    if (!positiveInt(s.max_msg_size)) problems.push(`${at}: max_msg_size must be a positive integer (bytes)`);
    if (positiveInt(s.max_bytes) && positiveInt(s.max_msg_size) && s.max_msg_size > s.max_bytes)
      problems.push(`${at}: max_msg_size is larger than max_bytes`);
  }
  for (const b of t.buckets) {
    const at = where('buckets.json', b.name);
    if (typeof b.name !== 'string' || b.name === '') problems.push(`${at}: name is required`);
    if (!positiveInt(b.max_bytes)) problems.push(`${at}: max_bytes must be a positive integer (bytes)`);
    if (!positiveInt(b.max_value_size))
      problems.push(`${at}: max_value_size must be a positive integer (bytes)`);
    if (b.ttl_ms !== undefined && !positiveInt(b.ttl_ms))
      problems.push(`${at}: ttl_ms must be a positive integer`);
    if (b.history !== undefined && !positiveInt(b.history))
      problems.push(`${at}: history must be a positive integer`);
  }
  for (const c of t.consumers) {
    if (!t.streams.some((s) => s.name === c.stream))
      problems.push(
        `consumers.json ${c.config?.durable_name ?? '(unnamed)'}: stream ${c.stream} is not declared`,
      );
  }
  return problems;
}
