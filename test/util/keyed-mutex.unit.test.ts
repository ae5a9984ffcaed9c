import { describe, expect, it } from '@jest/globals';
import { KeyedMutex } from '../../src/util/keyed-mutex.js';

const tick = () => new Promise((r) => setImmediate(r));

describe('KeyedMutex', () => {
  it('runs work for one key one at a time, in call order, even after a rejection', async () => {
    const mutex = new KeyedMutex();
    const log: string[] = [];
    let active = 0;
    const job = (name: string, fail = false) =>
      mutex.run('k', async () => {
        active += 1;
        expect(active).toBe(1);
        log.push(`start ${name}`);
        await tick();
        log.push(`end ${name}`);
        active -= 1;
        if (fail) throw new Error(name);
        return name;
      });
    const results = await Promise.allSettled([job('a'), job('b', true), job('c')]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  });

  it('lets different keys run concurrently', async () => {
    const mutex = new KeyedMutex();
    let active = 0;
    let maxActive = 0;
    const job = (key: string) =>
      mutex.run(key, async () => {
        active += 1;
        maxActive = Math.max(maxActive, active);
        await tick();
        active -= 1;
      });
    await Promise.all([job('x'), job('y'), job('z')]);
    expect(maxActive).toBe(3);
  });
});
