import { GroupCommit } from '../../src/util/group-commit.js';

/** A batch write that records each batch and answers when released. */
function gatedWriter() {
  const batches: number[][] = [];
  const gates: (() => void)[] = [];
  const write = async (items: readonly number[]) => {
    batches.push([...items]);
    await new Promise<void>((resolve) => gates.push(resolve));
    return items.map((n) => n * 10);
  };
  const release = async () => {
    await new Promise((r) => setImmediate(r));
    gates.shift()?.();
    await new Promise((r) => setImmediate(r));
  };
  return { batches, write, release };
}

describe('GroupCommit', () => {
  it('writes a lone call at once, and everything that arrived meanwhile as the next batch', async () => {
    const w = gatedWriter();
    const commit = new GroupCommit(w.write);
    const first = commit.run(1);
    const rest = [2, 3, 4].map((n) => commit.run(n));
    expect(w.batches).toEqual([[1]]); // written at once; 2–4 wait for it
    await w.release();
    expect(w.batches).toEqual([[1], [2, 3, 4]]); // one write for the three, never two at a time
    await w.release();
    expect(await first).toBe(10);
    expect(await Promise.all(rest)).toEqual([20, 30, 40]);
  });

  it('caps a batch at maxBatch', async () => {
    const w = gatedWriter();
    const commit = new GroupCommit(w.write, { maxBatch: 2 });
    const all = [1, 2, 3, 4, 5].map((n) => commit.run(n));
    for (let i = 0; i < 3; i += 1) await w.release();
    expect(await Promise.all(all)).toEqual([10, 20, 30, 40, 50]);
    expect(w.batches).toEqual([[1], [2, 3], [4, 5]]);
  });

  it('rejects every call of a failed write, and goes on with the next batch', async () => {
    let calls = 0;
    const commit = new GroupCommit<number, number>(async (items) => {
      calls += 1;
      await new Promise((r) => setImmediate(r));
      if (calls === 2) throw new Error('store unavailable');
      return items.map((n) => n);
    });
    const first = commit.run(1);
    const failed = [commit.run(2), commit.run(3)];
    await first;
    const after = commit.run(4);
    await expect(failed[0]).rejects.toThrow('store unavailable');
    await expect(failed[1]).rejects.toThrow('store unavailable');
    expect(await after).toBe(4);
  });

  it('with isolate, writes a failed batch again item by item, so only the item the store refuses fails', async () => {
    const writes: number[][] = [];
    const refusing = async (items: readonly number[]) => {
      writes.push([...items]);
      await new Promise((r) => setImmediate(r));
      if (items.includes(13)) throw new Error('row refused');
      return items.map((n) => n * 10);
    };
    const isolating = new GroupCommit(refusing, { isolate: () => true });
    const first = isolating.run(1);
    const batch = [12, 13, 14].map((n) => isolating.run(n));
    await first;
    await expect(batch[1]).rejects.toThrow('row refused');
    expect(await batch[0]).toBe(120);
    expect(await batch[2]).toBe(140);
    expect(writes).toEqual([[1], [12, 13, 14], [12], [13], [14]]);

    // Without isolate (an outage, say) the whole batch fails together.
    const plain = new GroupCommit(refusing);
    const lone = plain.run(1);
    const together = [12, 13, 14].map((n) => plain.run(n));
    await lone;
    for (const p of together) await expect(p).rejects.toThrow('row refused');
  });
});
