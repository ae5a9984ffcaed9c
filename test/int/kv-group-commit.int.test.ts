/** Group commit against a real KV bucket: no update lost, fewer writes than updates, races with other writers. */
import { Kvm } from '@nats-io/kv';
import type { KV } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { casUpdate } from '../../src/bus/kv-cas.js';
import { KvGroupCommit } from '../../src/bus/kv-group-commit.js';
import type { NatsServerHandle } from '../support/nats-server.js';
import { startNatsServer } from '../support/nats-server.js';

interface Counter {
  n: number;
  seen: number[];
}

let server: NatsServerHandle;
let nc: NatsConnection;
let kv: KV;

beforeAll(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
  kv = await new Kvm(jetstream(nc)).create('group_commit_test', { history: 1 });
});
afterAll(async () => {
  await nc.close();
  await server.stop();
});

const increment = (i: number) => (current: Counter | undefined) => ({
  next: { n: (current?.n ?? 0) + 1, seen: [...(current?.seen ?? []), i] },
  result: (current?.n ?? 0) + 1,
});

describe('KvGroupCommit', () => {
  it('applies every queued operation once, in order, with fewer writes than operations', async () => {
    let writes = 0;
    const commits = new KvGroupCommit<Counter>(kv, { onWritten: () => (writes += 1) });
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => commits.run('a', increment(i))));
    const stored = (await kv.get('a'))!.json<Counter>();
    expect(stored.n).toBe(50);
    expect(stored.seen).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect([...results].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(writes).toBeLessThan(50);
    expect(writes).toBeGreaterThan(0);
  });

  it('loses nothing when two committers (two replicas) race on one key', async () => {
    const a = new KvGroupCommit<Counter>(kv);
    const b = new KvGroupCommit<Counter>(kv);
    await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? a : b).run('race', increment(i))));
    const stored = (await kv.get('race'))!.json<Counter>();
    expect(stored.n).toBe(60);
    expect(new Set(stored.seen).size).toBe(60);
  });

  it('collides when two replicas write from the same mirrored revision, and the loser retries: both land', async () => {
    const revision = await kv.put('collide', JSON.stringify({ n: 0, seen: [] }));
    // Both replicas' mirrors saw the same revision, so both first attempts write against it without reading.
    const mirror = () => ({ value: { n: 0, seen: [] }, revision });
    let conflicts = 0;
    const options = { known: mirror, onConflict: () => (conflicts += 1) };
    const a = new KvGroupCommit<Counter>(kv, options);
    const b = new KvGroupCommit<Counter>(kv, options);
    const results = await Promise.all([a.run('collide', increment(0)), b.run('collide', increment(1))]);
    expect(conflicts).toBe(1);
    const stored = (await kv.get('collide'))!;
    expect(stored.revision).toBeGreaterThan(revision);
    expect(stored.json<Counter>().n).toBe(2);
    expect([...stored.json<Counter>().seen].sort()).toEqual([0, 1]);
    expect([...results].sort()).toEqual([1, 2]);
  });

  it('writes nothing for operations that change nothing, and still resolves them', async () => {
    let writes = 0;
    const commits = new KvGroupCommit<Counter>(kv, { onWritten: () => (writes += 1) });
    const result = await commits.run('untouched', () => ({ next: undefined, result: 'no-op' }));
    expect(result).toBe('no-op');
    expect(writes).toBe(0);
    expect(await kv.get('untouched')).toBeNull();
  });

  it('starts a key that holds nothing from `initial`, writes it even when no operation changes it, and says so', async () => {
    let built = 0;
    const commits = new KvGroupCommit<Counter>(kv, {
      initial: () => {
        built += 1;
        return Promise.resolve({ n: 10, seen: [] });
      },
    });
    const created = await commits.run('from-initial', (_current, round) => ({
      next: undefined,
      result: round.created,
    }));
    expect(created).toBe(true);
    const first = (await kv.get('from-initial'))!;
    expect(first.json<Counter>()).toEqual({ n: 10, seen: [] });
    // The key now holds a value: `initial` is not asked again, and a no-op writes nothing.
    const again = await commits.run('from-initial', (_current, round) => ({
      next: undefined,
      result: round.created,
    }));
    expect(again).toBe(false);
    expect(built).toBe(1);
    expect((await kv.get('from-initial'))!.revision).toBe(first.revision);
  });

  it('applies `finish` once per write, after every queued operation of the round', async () => {
    let finished = 0;
    let writes = 0;
    const commits = new KvGroupCommit<Counter>(kv, {
      onWritten: () => (writes += 1),
      // A derived field: seen sorted and capped, as a costly statistic would be, recomputed per write.
      finish: (value) => {
        finished += 1;
        return { n: value.n, seen: [...value.seen].sort((a, b) => b - a).slice(0, 3) };
      },
    });
    await Promise.all(Array.from({ length: 30 }, (_, i) => commits.run('finished', increment(i))));
    const stored = (await kv.get('finished'))!.json<Counter>();
    expect(stored.n).toBe(30);
    expect(finished).toBe(writes);
    expect(finished).toBeLessThan(30);
    // Each round starts from the previous round's finished value, so the cap holds across rounds too.
    expect(stored.seen.length).toBeLessThanOrEqual(3);
    expect(stored.seen[0]).toBe(29);
  });

  it('does not trust "nothing to do" decided on a stale mirror: it reads and decides again', async () => {
    await kv.put('mirror', JSON.stringify({ n: 5, seen: [] }));
    // The mirror has not seen the write yet: it believes the key is absent.
    const result = await casUpdate<Counter>(
      kv,
      'mirror',
      (current) => (current ? { n: current.n + 1, seen: current.seen } : undefined),
      { known: { value: undefined, revision: 0 } },
    );
    expect(result.written).toBe(true);
    expect((await kv.get('mirror'))!.json<Counter>().n).toBe(6);
  });
});
