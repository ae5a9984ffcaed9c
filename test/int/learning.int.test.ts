/** The learner against a real nats-server and embedded SurrealDB: exactly-once effect, DLQ, rebuild. */
import { Kvm } from '@nats-io/kv';
import { Buckets, Streams, profileKey } from '../../src/bus/subjects.js';
import { DlqHeaders } from '../../src/bus/dead-letter.js';
import type { ProfileRecord } from '../../src/domain/index.js';
import { computeExpertise, expertiseFromState } from '../../src/domain/index.js';
import { rebuildCachedProfile } from '../../src/worker/profile-rebuild.js';
import { waitFor } from '../support/wait-for.js';
import type { Env } from './harness.js';
import {
  memoryKg,
  publishRaw,
  publishResult,
  publishTask,
  readStream,
  result,
  startEnv,
  startWorker,
  stopEnv,
} from './harness.js';

let env: Env | undefined;
afterEach(async () => {
  await stopEnv(env);
  env = undefined;
});

async function profile(e: Env, agentId: string, taskType = 'coding'): Promise<ProfileRecord | undefined> {
  const kv = await new Kvm(e.js).open(Buckets.profiles);
  const entry = await kv.get(profileKey(agentId, taskType));
  return entry && entry.operation === 'PUT' ? entry.json<ProfileRecord>() : undefined;
}

describe('learner', () => {
  it('counts a result delivered twice once, in the KG and in the profile', async () => {
    env = await startEnv();
    const worker = await startWorker(env);
    const r = result({ agentId: 'a1', executionId: 'dup-1' });
    await publishResult(env, r);
    await waitFor(async () => (await profile(env!, 'a1'))?.totalExecutions === 1);
    // A second copy with another Nats-Msg-Id gets past JetStream's dedupe and reaches the worker.
    await env.js.publish('vapora.results.a1', JSON.stringify(r), { msgID: 'another-id' });
    await publishResult(env, result({ agentId: 'a1', executionId: 'after-dup' }));
    await waitFor(async () => (await profile(env!, 'a1'))?.totalExecutions === 2, {
      what: 'the later result',
    });
    expect((await profile(env, 'a1'))!.totalExecutions).toBe(2);
    expect(await worker.kg.countExecutions('a1', 'coding')).toBe(2);
  });

  it('counts a result exactly once when the worker crashes between the KG write and the profile update', async () => {
    env = await startEnv();
    const kg = await memoryKg(env);
    let crashes = 0;
    const faults = {
      afterKgWrite: () => {
        if (crashes === 0) {
          crashes += 1;
          throw new Error('injected crash after the KG write');
        }
      },
    };
    await startWorker(env, {}, { kg, faults });
    await publishResult(env, result({ agentId: 'a1', executionId: 'crash-1' }));
    const record = await waitFor(async () => profile(env!, 'a1'), {
      timeoutMs: 15_000,
      what: 'the redelivered result',
    });
    expect(crashes).toBe(1);
    expect(record.totalExecutions).toBe(1);
    expect(await kg.countExecutions('a1', 'coding')).toBe(1);
    // The applied mark is batched and trails the ack by a few milliseconds.
    await waitFor(async () => (await kg.isProfileApplied('crash-1')) === true, { what: 'the applied mark' });
  });

  it('loses no update when two worker instances update the same profile concurrently', async () => {
    env = await startEnv();
    const kg = await memoryKg(env);
    const a = await startWorker(env, { WORKER_CONCURRENCY: '16' }, { kg });
    const b = await startWorker(env, { WORKER_CONCURRENCY: '16' }, { kg });
    const total = 120;
    await Promise.all(
      Array.from({ length: total }, (_, i) =>
        publishResult(env!, result({ agentId: 'hot', executionId: `hot-${i}`, success: i % 3 !== 0 })),
      ),
    );
    const record = await waitFor(
      async () => {
        const p = await profile(env!, 'hot');
        return p?.totalExecutions === total ? p : undefined;
      },
      { timeoutMs: 45_000, what: `${total} executions in the profile` },
    );
    expect(record.successRate).toBeCloseTo(
      computeExpertise(await kg.getAllExecutionsForTaskType('hot', 'coding'), 'coding', new Date())
        .successRate,
      9,
    );
    // Both replicas did part of the work, and they collided on the hot key at least once.
    const handled = async (w: typeof a) =>
      (await w.metrics.results.get()).values.reduce((s, v) => s + v.value, 0);
    expect((await handled(a)) + (await handled(b))).toBe(total);
    expect(await handled(a)).toBeGreaterThan(0);
    expect(await handled(b)).toBeGreaterThan(0);
  });

  it('rejects a spoofed result whose payload agentId differs from its subject', async () => {
    env = await startEnv();
    const worker = await startWorker(env);
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
    expect(await worker.kg.getExecution('spoof-1')).toBeNull();
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
