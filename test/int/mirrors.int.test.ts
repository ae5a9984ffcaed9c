/**
 * KV mirrors cannot silently diverge (reliability issue, item 2): they resynchronise after a reconnect, a periodic
 * reconciliation catches a watch that stopped delivering, a "nobody has room" verdict is confirmed against the
 * bucket, and the reassigner confirms "agent gone" against the bucket before taking work back.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { applyTopology, loadTopology } from '../../src/bus/topology.js';
import type { KV } from '@nats-io/kv';
import { Kvm } from '@nats-io/kv';
import { KvCache } from '../../src/bus/kv-cache.js';
import { Buckets } from '../../src/bus/subjects.js';
import type { AgentRegistration, CapacityRecord, TaskArrived } from '../../src/domain/index.js';
import { CapacityService } from '../../src/worker/capacity-service.js';
import { confirmedEligibleFor, eligibleFor } from '../../src/worker/choose-and-reserve.js';
import { createMetrics } from '../../src/worker/metrics.js';
import { ProfileService } from '../../src/worker/profile-service.js';
import { Reassigner } from '../../src/worker/reassigner.js';
import type { Stores } from '../../src/worker/stores.js';
import { closeStores, openStores } from '../../src/worker/stores.js';
import { TaskStateService } from '../../src/worker/task-state-service.js';
import { MemoryKnowledgeGraph } from '../support/memory-knowledge-graph.js';
import { waitFor } from '../support/wait-for.js';
import type { Env } from './harness.js';
import { silent, startEnv, stopEnv } from './harness.js';

let env: Env | undefined;
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  await stopEnv(env);
  env = undefined;
});

async function ownConnection(e: Env): Promise<NatsConnection> {
  const nc = await connect({ servers: e.server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  cleanups.push(() => nc.close());
  return nc;
}

async function bucket(e: Env, name: string): Promise<KV> {
  return new Kvm(e.js).open(name);
}

function registration(agentId: string, heartbeatAt: Date, maxConcurrent = 1): AgentRegistration {
  return { agentId, role: 'developer', maxConcurrent, heartbeatAt: heartbeatAt.toISOString() };
}

/**
 * The bucket with a watch that delivers nothing while `muted()`: a watch that silently stopped (as one cut off by a
 * server restart can). Fault injection over the real bucket, like withFaultInjection() over the real KG.
 */
function withMutedWatch(kv: KV, muted: () => boolean): KV {
  return new Proxy(kv, {
    get(target, prop) {
      if (prop !== 'watch') {
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      }
      return async (opts: Parameters<KV['watch']>[0]) => {
        const inner = await target.watch(opts);
        const forwarded = (async function* () {
          for await (const entry of inner) if (!muted()) yield entry;
        })();
        return Object.assign(forwarded, { stop: () => inner.stop() });
      };
    },
  });
}

describe('KV mirrors', () => {
  it('resynchronise from the bucket after a reconnect, whatever their watch delivered', async () => {
    env = await startEnv();
    const nc = await ownConnection(env);
    const kv = await new Kvm(jetstream(nc)).open(Buckets.capacity);
    const cache = new KvCache<CapacityRecord>(
      withMutedWatch(kv, () => true),
      (e) => e.json<CapacityRecord>(),
      silent,
      {
        nc,
        reconcileMs: 0, // the reconnect alone must do it
      },
    );
    cleanups.push(() => cache.stop());
    await cache.start();
    expect(cache.current).toBe(true);
    const record: CapacityRecord = { agentId: 'a1', inFlight: {} };
    await (await bucket(env, Buckets.capacity)).put('a1', JSON.stringify(record));
    await env.server.restart();
    await waitFor(() => cache.get('a1') !== undefined && cache.current, {
      timeoutMs: 20_000,
      what: 'the mirror to read the entry its watch never delivered',
    });
    expect(cache.get('a1')).toEqual(record);
    expect(cache.resyncs).toBeGreaterThanOrEqual(1);
  });

  it('reconcile with the bucket periodically: a watch that stopped delivering is caught', async () => {
    env = await startEnv();
    const kv = await bucket(env, Buckets.capacity);
    let muted = false;
    const cache = new KvCache<CapacityRecord>(
      withMutedWatch(kv, () => muted),
      (e) => e.json<CapacityRecord>(),
      silent,
      {
        reconcileMs: 500,
      },
    );
    cleanups.push(() => cache.stop());
    await cache.start();
    const full: CapacityRecord = { agentId: 'a1', inFlight: { t1: { at: 'x', deadline: 'y' } } };
    await kv.put('a1', JSON.stringify(full));
    await kv.put('a2', JSON.stringify(full));
    await waitFor(() => cache.get('a1') !== undefined && cache.get('a2') !== undefined, {
      what: 'the entries',
    });
    muted = true;
    await kv.put('a1', JSON.stringify({ agentId: 'a1', inFlight: {} }));
    await kv.delete('a2');
    await waitFor(() => Object.keys(cache.get('a1')?.inFlight ?? { x: 1 }).length === 0, {
      timeoutMs: 20_000,
      what: 'the reconciliation to bring the mirror back to the bucket',
    });
    await waitFor(() => cache.get('a2') === undefined, { what: 'the deleted key to leave the mirror' });
  });

  it('decode an entry when it is read, not when it arrives, and never the copy of their own write', async () => {
    env = await startEnv();
    const kv = await bucket(env, Buckets.capacity);
    let decoded = 0;
    const changed: string[] = [];
    const cache = new KvCache<CapacityRecord>(
      kv,
      (e) => {
        decoded += 1;
        return e.json<CapacityRecord>();
      },
      silent,
      { reconcileMs: 0 },
    );
    cleanups.push(() => cache.stop());
    await cache.start();
    cache.onChange((key) => changed.push(key));
    let last = 0;
    for (let i = 0; i < 20; i += 1)
      last = await kv.put(
        'a1',
        JSON.stringify({ agentId: 'a1', inFlight: { [`t${i}`]: { at: 'x', deadline: 'y' } } }),
      );
    // The mirror follows every write and announces it; reading none of them decodes none.
    await waitFor(() => cache.revision('a1') === last, { what: 'the last write of a1 in the mirror' });
    expect(changed.filter((key) => key === 'a1').length).toBeGreaterThanOrEqual(1);
    expect(decoded).toBe(0);
    expect(Object.keys(cache.get('a1')!.inFlight)).toEqual(['t19']);
    expect(cache.get('a1')).toBe(cache.get('a1'));
    expect(decoded).toBe(1);

    // A value this replica wrote is known as written. Here the watch's copy of the write arrives first (announced
    // then, undecoded); the write's own result then takes its place: no decode, no second announcement.
    const mine: CapacityRecord = { agentId: 'a2', inFlight: {} };
    const written = await kv.put('a2', JSON.stringify(mine));
    await waitFor(() => changed.includes('a2'), { what: "the watch's copy of a2" });
    const announced = changed.length;
    cache.put('a2', mine, written);
    expect(cache.get('a2')).toBe(mine);
    expect(cache.known('a2').revision).toBe(written);
    expect(decoded).toBe(1);
    expect(changed).toHaveLength(announced);
    // A deleted key reads as absent without a decode.
    await kv.delete('a1');
    await waitFor(() => cache.get('a1') === undefined, { what: 'the deletion in the mirror' });
    expect(decoded).toBe(1);
  });

  it('follow a bucket whose stream went back (a server that lost its last writes, a recreated bucket)', async () => {
    env = await startEnv();
    const nc = await ownConnection(env);
    const js = jetstream(nc);
    const kv = await new Kvm(js).open(Buckets.capacity);
    const cache = new KvCache<CapacityRecord>(kv, (e) => e.json<CapacityRecord>(), silent, {
      nc,
      reconcileMs: 500,
    });
    cleanups.push(() => cache.stop());
    await cache.start();
    const full: CapacityRecord = { agentId: 'a1', inFlight: { t1: { at: 'x', deadline: 'y' } } };
    for (let i = 0; i < 20; i += 1) await kv.put('a1', JSON.stringify(full));
    await waitFor(() => cache.known('a1').revision === 20, { what: 'the mirror at revision 20' });
    // The bucket starts over: its next writes carry revisions the mirror has already seen.
    const jsm = await jetstreamManager(env.nc);
    await jsm.streams.delete(`KV_${Buckets.capacity}`);
    await applyTopology(env.nc, await loadTopology());
    const outside = await bucket(env, Buckets.capacity);
    await outside.put('a1', JSON.stringify({ agentId: 'a1', inFlight: {} }));
    await waitFor(() => Object.keys(cache.get('a1')?.inFlight ?? { x: 1 }).length === 0, {
      timeoutMs: 20_000,
      what: 'the mirror to follow the bucket back',
    });
  });

  describe('with a stale capacity mirror', () => {
    async function world(
      e: Env,
    ): Promise<{ stores: Stores; capacity: CapacityService; profiles: ProfileService }> {
      const stores = await openStores(e.js, silent, { reconcileMs: 0 });
      cleanups.push(() => closeStores(stores));
      const capacity = new CapacityService(stores);
      const profiles = new ProfileService(stores, new MemoryKnowledgeGraph());
      return { stores, capacity, profiles };
    }

    it('a decision that finds nobody with room confirms against the bucket before backing off', async () => {
      env = await startEnv();
      const agents = await bucket(env, Buckets.agents);
      const capacityKv = await bucket(env, Buckets.capacity);
      await agents.put('a1', JSON.stringify(registration('a1', new Date())));
      const full: CapacityRecord = {
        agentId: 'a1',
        inFlight: {
          old: { at: new Date().toISOString(), deadline: new Date(Date.now() + 60_000).toISOString() },
        },
      };
      await capacityKv.put('a1', JSON.stringify(full));
      const { stores, capacity, profiles } = await world(env);
      await waitFor(() => capacity.inFlight('a1') === 1 && stores.agents.get('a1') !== undefined);
      // The mirror stops following the bucket (as a watch cut off by a restart does); the bucket moves on.
      await stores.capacity.stop();
      await capacityKv.put('a1', JSON.stringify({ agentId: 'a1', inFlight: {} }));
      const deps = { stores, profiles, capacity, heartbeatTimeoutMs: 30_000, useRecency: false };
      const task: TaskArrived = { taskId: 't1', title: 'Fix the bug' };
      const input = { task, taskType: 'bugfix', record: null, now: new Date(), redelivered: false };
      // What the mirror alone says: at capacity.
      expect(eligibleFor(deps, input).eligible).toEqual([]);
      const confirmed = await confirmedEligibleFor(deps, input);
      expect(confirmed.eligible.map((a) => a.agentId)).toEqual(['a1']);
      expect(capacity.inFlight('a1')).toBe(0);
    });

    it('the reassigner does not take work back from a live agent because its registry mirror is behind', async () => {
      env = await startEnv();
      const agents = await bucket(env, Buckets.agents);
      const old = new Date(Date.now() - 120_000);
      await agents.put('a1', JSON.stringify(registration('a1', old)));
      const { stores, capacity } = await world(env);
      await waitFor(() => stores.agents.get('a1') !== undefined);
      await stores.agents.stop(); // the registry mirror falls behind
      await agents.put('a1', JSON.stringify(registration('a1', new Date())));
      const tasks = new TaskStateService(stores.tasksKv);
      const at = new Date(Date.now() - 60_000);
      const task: TaskArrived = { taskId: 't1', title: 'Fix the bug' };
      expect(await capacity.reserve('a1', 't1', 1, at, 600_000)).toBe('reserved');
      const assignment = {
        taskId: 't1',
        agentId: 'a1',
        taskType: 'bugfix',
        policy: 'learned' as const,
        score: { base: 0, expertise: 0, confidence: 0, final: 0 },
        ranking: [],
        reasoning: 'test',
        assignedAt: at.toISOString(),
        attempt: 1,
        task,
      };
      await tasks.execute('t1', { type: 'assign', assignment, firstSeenAt: at, at });
      const reassigner = new Reassigner({
        js: env.js,
        stores,
        capacity,
        tasks,
        metrics: createMetrics({ defaultMetrics: false }),
        log: silent,
        heartbeatTimeoutMs: 30_000,
        timeoutCountsAsFailure: true,
        intervalMs: 60_000,
      });
      await reassigner.sweep();
      expect((await tasks.get('t1'))?.record.status).toBe('assigned');
      expect(capacity.inFlight('a1')).toBe(1);
    });
  });
});
