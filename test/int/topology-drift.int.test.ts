/**
 * `streams apply` against a real nats-server whose streams and buckets have drifted from streams/: what the server
 * lets it change is updated (and read back), what it refuses fails naming the target and the setting. A single
 * 2.9 server cannot hold replicas 3 (it records them and keeps one copy), so drift is made with limits and TTL,
 * and refusal with immutable settings.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { JetStreamManager } from '@nats-io/jetstream';
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { connect } from '@nats-io/transport-node';
import type { BucketSpec, StreamSpec, Topology } from '../../src/bus/topology.js';
import { applyTopology, loadTopology } from '../../src/bus/topology.js';
import { isTopologyRefused, TopologyRefusedError } from '../../src/bus/topology-errors.js';
import type { NatsServerHandle } from '../support/nats-server.js';
import { startNatsServer } from '../support/nats-server.js';

const NS_PER_MS = 1_000_000;
let server: NatsServerHandle;
let nc: NatsConnection;
let jsm: JetStreamManager;
let shipped: Topology;

beforeAll(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
  jsm = await jetstreamManager(nc);
  shipped = await loadTopology();
});
afterAll(async () => {
  await nc.close();
  await server.stop();
});

/** Unique names per test; each test cleans up its own streams. */
let seq = 0;
const created: string[] = [];
afterEach(async () => {
  for (const name of created.splice(0)) await jsm.streams.delete(name).catch(() => undefined);
});

/** A shipped stream (so the limits under test are the real ones), renamed onto its own subjects. */
function streamLike(name: string): StreamSpec {
  const base = shipped.streams.find((s) => s.name === 'VAPORA_RESULTS')!;
  const id = `drift${(seq += 1)}`;
  created.push(`${name}_${id}`);
  return { ...base, name: `${name}_${id}`, subjects: [`${id}.>`] };
}

function bucketLike(): BucketSpec {
  const base = shipped.buckets.find((b) => b.name === 'vapora_agents')!;
  const name = `drift_bucket_${(seq += 1)}`;
  created.push(`KV_${name}`);
  return { ...base, name };
}

const only = (t: Partial<Topology>): Topology => ({ streams: [], consumers: [], buckets: [], ...t });

describe('streams apply on drifted streams and buckets', () => {
  it('updates a stream whose byte and size limits differ, names them, then reports it unchanged', async () => {
    const desired = streamLike('RESULTS');
    // As a stream created before this release looked: no byte bound, 1 MiB messages, an older description.
    await jsm.streams.add({
      ...desired,
      max_bytes: -1,
      max_msg_size: 1024 * 1024,
      description: 'old',
    });

    const [report] = await applyTopology(nc, only({ streams: [desired] }));
    expect(report).toMatchObject({ kind: 'stream', name: desired.name, action: 'updated' });
    expect(report!.changes).toEqual([
      'description "old" → ' + JSON.stringify(desired.description),
      `max_bytes -1 → ${desired.max_bytes}`,
      `max_msg_size 1048576 → ${desired.max_msg_size}`,
    ]);
    const config = (await jsm.streams.info(desired.name)).config;
    expect(config).toMatchObject({
      max_bytes: desired.max_bytes,
      max_msg_size: desired.max_msg_size,
      description: desired.description,
      discard: desired.discard,
    });

    const [again] = await applyTopology(nc, only({ streams: [desired] }));
    expect(again).toEqual({ kind: 'stream', name: desired.name, action: 'unchanged', changes: [] });
  });

  it('updates a bucket whose TTL, history and size bound differ (the KV_ stream underneath)', async () => {
    const desired = bucketLike();
    await new Kvm(jetstream(nc)).create(desired.name, {
      ttl: 60_000,
      history: 5,
      maxValueSize: desired.max_value_size,
      description: desired.description!,
    });

    const [report] = await applyTopology(nc, only({ buckets: [desired] }));
    expect(report).toMatchObject({ kind: 'bucket', name: desired.name, action: 'updated' });
    expect(report!.changes).toEqual([
      `history 5 → ${desired.history}`,
      `ttl_ms 60000 → ${desired.ttl_ms}`,
      `max_bytes -1 → ${desired.max_bytes}`,
    ]);
    const config = (await jsm.streams.info(`KV_${desired.name}`)).config;
    expect(config.max_age).toBe(desired.ttl_ms! * NS_PER_MS);
    expect(config.max_msgs_per_subject).toBe(desired.history);
    expect(config.max_bytes).toBe(desired.max_bytes);
    // Still a working bucket after the update.
    const kv = await new Kvm(jetstream(nc)).open(desired.name);
    await kv.put('k', 'v');
    expect((await kv.get('k'))?.string()).toBe('v');

    const [again] = await applyTopology(nc, only({ buckets: [desired] }));
    expect(again).toEqual({ kind: 'bucket', name: desired.name, action: 'unchanged', changes: [] });
  });

  it('applies the shipped topology over a drifted copy of itself, then finds nothing left to do', async () => {
    // Every shipped bucket created with a TTL and bound it should not have: the real names, the real specs.
    const kvm = new Kvm(jetstream(nc));
    for (const b of shipped.buckets) {
      created.push(`KV_${b.name}`);
      await kvm.create(b.name, { ttl: 1_000_000, maxValueSize: b.max_value_size, history: 1 });
    }
    const reports = await applyTopology(nc, only({ buckets: shipped.buckets }));
    expect(reports.map((r) => r.action)).toEqual(shipped.buckets.map(() => 'updated'));
    for (const r of reports) expect(r.changes.join(', ')).toMatch(/max_bytes -1 → \d+/);
    const again = await applyTopology(nc, only({ buckets: shipped.buckets }));
    expect(again.map((r) => r.action)).toEqual(shipped.buckets.map(() => 'unchanged'));
  });

  it('raises replicas from STREAM_REPLICAS on an existing bucket, or fails naming replicas; never "unchanged"', async () => {
    const desired = bucketLike();
    await applyTopology(nc, only({ buckets: [desired] }));

    // A lone 2.9 server records replicas 3 (and keeps one copy); a newer one may refuse. Both are honest answers.
    const outcome = await applyTopology(nc, only({ buckets: [desired] }), { replicas: 3 }).catch(
      (e: unknown) => e,
    );
    if (outcome instanceof TopologyRefusedError) {
      expect(outcome.settings).toEqual(['replicas']);
      expect(outcome.message).toContain(`bucket ${desired.name}`);
    } else {
      expect(outcome).toEqual([
        { kind: 'bucket', name: desired.name, action: 'updated', changes: ['replicas 1 → 3'] },
      ]);
      expect((await jsm.streams.info(`KV_${desired.name}`)).config.num_replicas).toBe(3);
    }
  });

  it('fails naming the stream and setting when the server refuses the change (storage is immutable)', async () => {
    const desired = streamLike('TASKS');
    await jsm.streams.add({ ...desired, storage: 'memory' as StreamSpec['storage'], max_bytes: 1024 * 1024 });

    const err = await applyTopology(nc, only({ streams: [desired] })).catch((e: unknown) => e);
    expect(isTopologyRefused(err)).toBe(true);
    const refused = err as TopologyRefusedError;
    expect(refused.code).toBe('TOPOLOGY_REFUSED');
    expect(refused.target).toBe(desired.name);
    expect(refused.settings).toContain('storage');
    expect(refused.message).toContain(`stream ${desired.name}`);
    expect(refused.message).toContain('storage "memory" → "file"');
    // Nothing was half-applied: the server still has what it had.
    expect((await jsm.streams.info(desired.name)).config).toMatchObject({
      storage: 'memory',
      max_bytes: 1048576,
    });
  });

  it('fails naming the consumer and setting when the server refuses the change (deliver_policy)', async () => {
    const stream = streamLike('RESULTS');
    const base = shipped.consumers.find((c) => c.stream === 'VAPORA_RESULTS')!;
    const consumer = { stream: stream.name, config: { ...base.config, filter_subject: stream.subjects[0]! } };
    await applyTopology(nc, only({ streams: [stream] }));
    await jsm.consumers.add(stream.name, { ...consumer.config, deliver_policy: DeliverPolicy.New });

    const err = await applyTopology(nc, only({ streams: [stream], consumers: [consumer] })).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TopologyRefusedError);
    const refused = err as TopologyRefusedError;
    expect(refused.kind).toBe('consumer');
    expect(refused.settings).toEqual(['deliver_policy']);
    expect(refused.message).toContain(`consumer ${stream.name}/${consumer.config.durable_name}`);
    expect(refused.message).toContain('deliver_policy "new" → "all"');
  });
});
