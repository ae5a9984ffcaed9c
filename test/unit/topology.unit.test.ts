// streams/ as data: every stream and bucket bounded, limits that follow from the message schemas, and the pure
// drift computation `streams apply` relies on.
import { Value } from '@sinclair/typebox/value';
import { loadTopology } from '../../src/bus/topology.js';
import { bucketDrift, configDrift, formatChange } from '../../src/bus/topology-diff.js';
import { checkTopology, type Topology } from '../../src/bus/topology-spec.js';
import { ExecutionResultSchema } from '../../src/domain/messages.js';

const NS_PER_MS = 1_000_000;

describe('shipped streams/', () => {
  it('bounds every stream and bucket in bytes, and the DLQ discards old', async () => {
    const t = await loadTopology();
    expect(checkTopology(t)).toEqual([]);
    for (const s of t.streams) expect(s.max_bytes).toBeGreaterThan(0);
    for (const b of t.buckets) expect(b.max_bytes).toBeGreaterThan(0);
    expect(t.streams.find((s) => s.name === 'VAPORA_DLQ')?.discard).toBe('old');
  });

  it('lets the largest valid execution result into VAPORA_RESULTS, and nothing near 1 MB', async () => {
    const results = (await loadTopology()).streams.find((s) => s.name === 'VAPORA_RESULTS')!;
    // Worst case for JSON: every free-text character a control character, escaped as \u0001 (6 bytes).
    const c = '\u0001';
    const id = c.repeat(128);
    const largest = {
      executionId: id,
      taskId: id,
      agentId: id,
      taskType: 'x'.repeat(64),
      success: false,
      durationMs: Number.MAX_VALUE,
      finishedAt: '2026-01-31T12:00:00.123456789+00:00',
      startedAt: '2026-01-31T12:00:00.123456789+00:00',
      qualityScore: 0.123456789,
      costCents: 9_999_999.123456789,
      attempt: 1000,
      provider: c.repeat(128),
      error: c.repeat(4096),
    };
    expect(Value.Check(ExecutionResultSchema, largest)).toBe(true);
    // Header block: Nats-Msg-Id (the executionId) and the framing, generously.
    const headerBytes = 1024 + Buffer.byteLength(id);
    const bytes = Buffer.byteLength(JSON.stringify(largest)) + headerBytes;
    expect(bytes).toBeLessThanOrEqual(results.max_msg_size);
    expect(results.max_msg_size).toBeLessThanOrEqual(128 * 1024);
  });

  it('keeps every message a dead letter can carry within VAPORA_DLQ max_msg_size', async () => {
    const t = await loadTopology();
    const dlq = t.streams.find((s) => s.name === 'VAPORA_DLQ')!;
    for (const s of t.streams) expect(s.max_msg_size).toBeLessThanOrEqual(dlq.max_msg_size);
  });
});

describe('checkTopology', () => {
  const valid = (): Topology => ({
    streams: [
      {
        name: 'S',
        subjects: ['s.>'],
        storage: 'file' as Topology['streams'][number]['storage'],
        retention: 'limits' as Topology['streams'][number]['retention'],
        discard: 'old' as Topology['streams'][number]['discard'],
        max_bytes: 1024,
        max_msg_size: 512,
      },
    ],
    consumers: [{ stream: 'S', config: { durable_name: 'c' } }],
    buckets: [{ name: 'b', max_bytes: 1024, max_value_size: 128 }],
  });

  it('accepts a bounded topology', () => {
    expect(checkTopology(valid())).toEqual([]);
  });

  it('names the stream, bucket and setting that are missing or wrong', () => {
    const t = valid();
    const { max_bytes: _mb, ...unbounded } = t.streams[0]!;
    t.streams[0] = { ...unbounded, discard: 'sometimes' } as unknown as Topology['streams'][number];
    t.buckets[0] = { ...t.buckets[0]!, max_bytes: 0 };
    t.consumers[0] = { stream: 'NOPE', config: { durable_name: 'c' } };
    expect(checkTopology(t)).toEqual([
      'streams.json S: discard must be "old" or "new"',
      'streams.json S: max_bytes must be a positive integer (bytes)',
      'buckets.json b: max_bytes must be a positive integer (bytes)',
      'consumers.json c: stream NOPE is not declared',
    ]);
  });

  it('refuses a message size above the stream size', () => {
    const t = valid();
    t.streams[0]!.max_msg_size = 4096;
    expect(checkTopology(t)).toEqual(['streams.json S: max_msg_size is larger than max_bytes']);
  });
});

describe('drift', () => {
  it('counts only the settings streams/ declares, and patches exactly those', () => {
    const drift = configDrift(
      { name: 'S', max_bytes: 10, discard: 'old', subjects: ['a.>'] },
      { name: 'S', max_bytes: -1, discard: 'old', subjects: ['a.>', 'b.>'], sealed: false, max_msgs: -1 },
    );
    expect(drift.changes.map(formatChange)).toEqual([
      'max_bytes -1 → 10',
      'subjects ["a.>","b.>"] → ["a.>"]',
    ]);
    expect(drift.patch).toEqual({ max_bytes: 10, subjects: ['a.>'] });
  });

  it('maps bucket settings onto the KV stream, ttl in ms, and clamps the duplicate window to a shorter TTL', () => {
    const spec = {
      name: 'b',
      history: 1,
      ttl_ms: 30_000,
      max_value_size: 100,
      max_bytes: 1000,
      storage: 'file' as const,
    };
    const server = {
      max_msgs_per_subject: 1,
      max_age: 60_000 * NS_PER_MS,
      duplicate_window: 60_000 * NS_PER_MS,
      max_msg_size: 100,
      max_bytes: 1000,
      storage: 'file',
      num_replicas: 1,
    };
    const drift = bucketDrift(spec, 3, server);
    expect(drift.changes.map(formatChange)).toEqual(['ttl_ms 60000 → 30000', 'replicas 1 → 3']);
    expect(drift.patch).toEqual({
      max_age: 30_000 * NS_PER_MS,
      num_replicas: 3,
      duplicate_window: 30_000 * NS_PER_MS,
    });
    expect(bucketDrift(spec, 1, { ...server, max_age: 30_000 * NS_PER_MS }).changes).toEqual([]);
  });

  it('treats a TTL on the server that streams/ does not declare as drift', () => {
    const spec = { name: 'b', max_value_size: 100, max_bytes: 1000 };
    const server = {
      max_msgs_per_subject: 1,
      max_age: 5 * NS_PER_MS,
      max_msg_size: 100,
      max_bytes: 1000,
      storage: 'file',
      num_replicas: 1,
    };
    expect(bucketDrift(spec, undefined, server).changes.map(formatChange)).toEqual(['ttl_ms 5 → 0']);
  });
});
