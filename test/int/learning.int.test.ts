/** The learner against a real nats-server and embedded SurrealDB: exactly-once effect, DLQ, rebuild. */
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { Buckets, Streams, profileKey } from '../../src/bus/subjects.js';
import { DlqHeaders } from '../../src/bus/dead-letter.js';
import type { ProfileRecord } from '../../src/domain/index.js';
import { computeExpertise, expertiseFromState } from '../../src/domain/index.js';
import { rebuildCachedProfile } from '../../src/worker/profile-rebuild.js';
import { withCrashAfterRecord } from '../support/faulty-knowledge-graph.js';
import type { KnowledgeGraph } from '../../src/kg/knowledge-graph.js';
import { waitFor } from '../support/wait-for.js';
import { freePort, metric } from '../support/worker-metrics.js';
import type { Env } from './harness.js';
import {
  memoryKg,
  publishRaw,
  publishResult,
  publishTask,
  readStream,
  result,
  keyOf,
  startEnv,
  startWorker,
  stopEnv,
} from './harness.js';

let env: Env | undefined;
afterEach(async () => {
  await stopEnv(env);
  env = undefined;
});

async function profileEntry(
  e: Env,
  agentId: string,
  taskType = 'coding',
): Promise<{ record: ProfileRecord; revision: number } | undefined> {
  const kv = await new Kvm(e.js).open(Buckets.profiles);
  const entry = await kv.get(profileKey(agentId, taskType));
  return entry && entry.operation === 'PUT'
    ? { record: entry.json<ProfileRecord>(), revision: entry.revision }
    : undefined;
}

async function profile(e: Env, agentId: string, taskType = 'coding'): Promise<ProfileRecord | undefined> {
  return (await profileEntry(e, agentId, taskType))?.record;
}

/**
 * `kg` with its first full-history read (a cold-start rebuild, which the learner does inside its compare-and-swap
 * when no profile exists yet) held until release(): a replica paused between choosing a revision and writing.
 */
function holdFirstHistoryRead(kg: KnowledgeGraph): {
  kg: KnowledgeGraph;
  readonly entered: boolean;
  release: () => void;
} {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let entered = false;
  const held = new Proxy(kg, {
    get(target, prop) {
      if (prop === 'getAllExecutionsForTaskType') {
        return async (agentId: string, taskType: string) => {
          if (!entered) {
            entered = true;
            await gate;
          }
          return target.getAllExecutionsForTaskType(agentId, taskType);
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return {
    kg: held,
    get entered() {
      return entered;
    },
    release,
  };
}

describe('learner', () => {
  it('counts a result delivered twice once, in the KG and in the profile', async () => {
    env = await startEnv();
    const kg = await memoryKg(env);
    const port = await freePort();
    await startWorker(env, { HTTP_PORT: String(port) }, { kg });
    const r = result({ agentId: 'a1', executionId: 'dup-1' });
    await publishResult(env, r);
    const first = await waitFor(async () => {
      const entry = await profileEntry(env!, 'a1');
      return entry?.record.totalExecutions === 1 ? entry : undefined;
    });
    // The applied mark is batched and trails the ack: from then on a copy is known to be a duplicate.
    await waitFor(async () => (await kg.isProfileApplied(keyOf(r))) === true, { what: 'the applied mark' });
    // A second copy with another Nats-Msg-Id gets past JetStream's dedupe and reaches the worker.
    await env.js.publish('vapora.results.a1', JSON.stringify(r), { msgID: 'another-id' });
    // The copy's own outcome: handled, as a duplicate (nothing else is in flight, so this is that copy).
    await waitFor(async () => (await metric(port, 'vapora_results_total', { outcome: 'duplicate' })) === 1, {
      what: 'the copy to be handled as a duplicate',
    });
    expect(await metric(port, 'vapora_results_total', { outcome: 'recorded' })).toBe(1);
    expect(await profileEntry(env, 'a1')).toEqual(first); // not rewritten: same revision, same record
    expect(await kg.countExecutions('a1', 'coding')).toBe(1);
    // And the worker still learns from the next result.
    await publishResult(env, result({ agentId: 'a1', executionId: 'after-dup' }));
    await waitFor(async () => (await profile(env!, 'a1'))?.totalExecutions === 2, {
      what: 'the later result',
    });
    expect(await kg.countExecutions('a1', 'coding')).toBe(2);
  });

  it('counts a result exactly once when the worker crashes between the KG write and the profile update', async () => {
    env = await startEnv();
    const kg = await memoryKg(env);
    let crashes = 0;
    // The worker's KG writes through, then fails the first call: a crash between the KG write and the profile.
    const crashing = withCrashAfterRecord(kg, () => {
      if (crashes === 0) {
        crashes += 1;
        throw new Error('injected crash after the KG write');
      }
    });
    await startWorker(env, {}, { kg: crashing });
    const crashed = result({ agentId: 'a1', executionId: 'crash-1' });
    await publishResult(env, crashed);
    const record = await waitFor(async () => profile(env!, 'a1'), {
      timeoutMs: 15_000,
      what: 'the redelivered result',
    });
    expect(crashes).toBe(1);
    expect(record.totalExecutions).toBe(1);
    expect(await kg.countExecutions('a1', 'coding')).toBe(1);
    // The applied mark is batched and trails the ack by a few milliseconds.
    await waitFor(async () => (await kg.isProfileApplied(keyOf(crashed))) === true, {
      what: 'the applied mark',
    });
  });

  it('loses no update when two replicas write the same profile from the same revision: the loser retries', async () => {
    env = await startEnv();
    const kg = await memoryKg(env);
    // Replica A computes the first profile of "hot" inside its compare-and-swap (no profile yet: revision 0, rebuilt
    // from the KG); its KG read is held there until replica B has written that profile.
    const held = holdFirstHistoryRead(kg);
    const portA = await freePort();
    await startWorker(env, { HTTP_PORT: String(portA), WORKER_CONCURRENCY: '16' }, { kg: held.kg });
    await publishResult(env, result({ agentId: 'hot', executionId: 'hot-first' }));
    await waitFor(() => held.entered, { what: 'replica A to be inside its compare-and-swap' });
    // B starts on the same KG and bucket: history without a cached profile, so it writes the profile first.
    const portB = await freePort();
    await startWorker(env, { HTTP_PORT: String(portB), WORKER_CONCURRENCY: '16' }, { kg });
    const byB = await waitFor(async () => profileEntry(env!, 'hot'), { what: "B's profile write" });
    expect(byB.record.totalExecutions).toBe(1);
    held.release();
    // A's write against revision 0 collides with B's; A reads B's value, finds its execution there, writes nothing.
    await waitFor(async () => (await metric(portA, 'vapora_results_total', { outcome: 'recorded' })) === 1, {
      what: 'replica A to finish the result',
    });
    expect(await metric(portA, 'vapora_cas_retries_total', { bucket: Buckets.profiles })).toBe(1);
    expect(await metric(portB, 'vapora_cas_retries_total', { bucket: Buckets.profiles })).toBe(0);
    expect(await profileEntry(env, 'hot')).toEqual(byB);

    // Then both replicas take a burst on the same key: every update lands.
    const total = 120;
    await Promise.all(
      Array.from({ length: total }, (_, i) =>
        publishResult(env!, result({ agentId: 'hot', executionId: `hot-${i}`, success: i % 3 !== 0 })),
      ),
    );
    const record = await waitFor(
      async () => {
        const p = await profile(env!, 'hot');
        return p?.totalExecutions === total + 1 ? p : undefined;
      },
      { timeoutMs: 45_000, what: `${total + 1} executions in the profile` },
    );
    expect(record.successRate).toBeCloseTo(
      computeExpertise(await kg.getAllExecutionsForTaskType('hot', 'coding'), 'coding', new Date())
        .successRate,
      9,
    );
    const handled = async (port: number) => metric(port, 'vapora_results_total');
    expect((await handled(portA)) + (await handled(portB))).toBe(total + 1);
  });

  it('folds a burst of results for one profile into fewer writes than results, and counts each once', async () => {
    env = await startEnv();
    const kg = await memoryKg(env);
    const total = 60;
    // Published before the worker starts, so its consumer pulls them in batches: a burst on one profile key.
    for (let i = 0; i < total; i += 1)
      await publishResult(env, result({ agentId: 'burst', executionId: `burst-${i}`, success: i % 4 !== 0 }));
    const port = await freePort();
    await startWorker(env, { HTTP_PORT: String(port), WORKER_CONCURRENCY: '16' }, { kg });
    const record = await waitFor(
      async () => {
        const p = await profile(env!, 'burst');
        return p?.totalExecutions === total ? p : undefined;
      },
      { timeoutMs: 30_000, what: `${total} executions in the profile` },
    );
    expect(record.successRate).toBeCloseTo(45 / 60, 9);
    expect(record.state.window).toHaveLength(total);
    // The metric counts a result after its task is settled, a moment after the profile write.
    await waitFor(
      async () => (await metric(port, 'vapora_results_total', { outcome: 'recorded' })) === total,
      {
        what: `${total} results counted as recorded`,
      },
    );
    expect(await metric(port, 'vapora_results_total', { outcome: 'duplicate' })).toBe(0);
    // The bucket holds this one key only: its stream's last sequence is the number of profile writes.
    const jsm = await jetstreamManager(env.nc);
    const writes = (await jsm.streams.info(`KV_${Buckets.profiles}`)).state.last_seq;
    expect(writes).toBeGreaterThan(0);
    expect(writes).toBeLessThan(total);
  });

  it('rejects a spoofed result whose payload agentId differs from its subject', async () => {
    env = await startEnv();
    const kg = await memoryKg(env);
    await startWorker(env, {}, { kg });
    await publishResult(
      env,
      result({ agentId: 'victim', executionId: 'spoof-1', success: true }),
      'attacker',
    );
    const dead = await waitFor(async () => (await readStream(env!, Streams.deadLetters))[0], {
      what: 'the dead letter',
    });
    expect(dead.subject).toBe('vapora.dlq.results.attacker');
    expect(dead.headers[DlqHeaders.reason]).toContain('agentId mismatch');
    expect(await kg.getExecution(keyOf({ taskId: 'task-spoof-1', agentId: 'victim' }))).toBeNull();
    expect(await kg.getExecution(keyOf({ taskId: 'task-spoof-1', agentId: 'attacker' }))).toBeNull();
    expect(await profile(env, 'victim')).toBeUndefined();
  });

  it('dead-letters every kind of bad input with its reason and keeps processing valid traffic', async () => {
    env = await startEnv();
    await startWorker(env);
    const bad: [string, string | Uint8Array, RegExp][] = [
      ['vapora.tasks.arrived', 'not json at all', /not JSON/],
      [
        'vapora.tasks.arrived',
        JSON.stringify({ taskId: 't', description: 'no title' }),
        /\/title is required/,
      ],
      ['vapora.tasks.arrived', JSON.stringify({ taskId: 'a.b', title: 'x' }), /\/taskId/],
      ['vapora.results.a1', new Uint8Array([0xc3, 0x28]), /UTF-8/],
      ['vapora.results.a1', JSON.stringify({ ...result({ agentId: 'a1' }), durationMs: -4 }), /\/durationMs/],
      [
        'vapora.results.a1',
        JSON.stringify({ ...result({ agentId: 'a1' }), finishedAt: 'tuesday' }),
        /\/finishedAt/,
      ],
      [
        'vapora.results.a1',
        JSON.stringify({ ...result({ agentId: 'a1' }), qualityScore: 7 }),
        /\/qualityScore/,
      ],
    ];
    for (const [subject, data] of bad) await publishRaw(env, subject, data);
    await publishResult(env, result({ agentId: 'a1', executionId: 'good-1' }));
    await publishTask(env, { taskId: 'still-works', title: 'Implement it', candidates: ['nobody'] });
    await waitFor(async () => (await profile(env!, 'a1'))?.totalExecutions === 1, {
      what: 'the valid result',
    });
    const dead = await waitFor(async () => {
      const all = await readStream(env!, Streams.deadLetters);
      return all.length === bad.length ? all : undefined;
    });
    bad.forEach(([subject, data, reason]) => {
      const letter = dead.find((d) => Buffer.from(d.data).equals(Buffer.from(data)));
      expect(letter).toBeDefined();
      expect(letter!.headers[DlqHeaders.origin]).toBe(subject);
      expect(letter!.headers[DlqHeaders.reason]).toMatch(reason);
      expect(letter!.subject).toBe(`vapora.dlq.${subject.slice('vapora.'.length)}`);
    });
  });

  it('dead-letters a bad message of the largest size the server accepts, cutting it to fit', async () => {
    env = await startEnv();
    await startWorker(env);
    const maxPayload = env.nc.info!.max_payload;
    const huge = new Uint8Array(maxPayload - 512).fill(0x7b); // '{{{{…': not JSON
    // On VAPORA_TASKS: VAPORA_RESULTS refuses anything this large at publish (its max_msg_size is 64 KiB).
    await publishRaw(env, 'vapora.tasks.arrived', huge);
    const letter = await waitFor(async () => (await readStream(env!, Streams.deadLetters))[0], {
      timeoutMs: 15_000,
      what: 'the dead letter of the huge message',
    });
    expect(letter.headers[DlqHeaders.reason]).toMatch(/not JSON/);
    expect(letter.headers[DlqHeaders.truncated]).toBe(String(huge.length));
    expect(letter.data.length).toBeLessThan(huge.length);
    expect(letter.data.length).toBeGreaterThan(huge.length - 16 * 1024);
  });

  it('rebuilds from the KG exactly the profile that incremental updates produced', async () => {
    env = await startEnv();
    const kg = await memoryKg(env);
    await startWorker(env, {}, { kg });
    const day = 86_400_000;
    const results = Array.from({ length: 150 }, (_, i) =>
      result({
        agentId: 'r1',
        executionId: `r-${String(i).padStart(3, '0')}`,
        success: (i * 7) % 5 !== 0,
        durationMs: 100 + i,
        finishedAt: new Date(Date.now() - ((i * 37) % 45) * day - i * 1000).toISOString(),
      }),
    );
    for (const r of results.reverse()) await publishResult(env, r);
    const incremental = await waitFor(
      async () => {
        const p = await profile(env!, 'r1');
        return p?.totalExecutions === 150 ? p : undefined;
      },
      { timeoutMs: 30_000 },
    );
    const kv = await new Kvm(env.js).open(Buckets.profiles);
    const now = new Date();
    const rebuilt = await rebuildCachedProfile(kv, kg, 'r1', 'coding', now);
    expect(expertiseFromState(rebuilt.record.state, now)).toEqual(expertiseFromState(incremental.state, now));
  });
});
