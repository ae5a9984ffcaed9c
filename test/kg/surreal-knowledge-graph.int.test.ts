import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { connectKnowledgeGraph } from '../../src/kg/connect.js';
import { isKgUnavailable } from '../../src/errors.js';
import { describeKnowledgeGraphConformance, execution } from './knowledge-graph.conformance.js';

const tempDirs: string[] = [];
async function tempStoreUrl(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'vapora-kg-'));
  tempDirs.push(dir);
  // A nested path: connect must create the parent directory itself.
  return `surrealkv://${join(dir, 'nested', 'store')}`;
}
afterAll(async () => {
  await Promise.all(tempDirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err as Error,
  );
}

describeKnowledgeGraphConformance('SurrealKnowledgeGraph mem://', () =>
  connectKnowledgeGraph({ url: 'mem://' }),
);
describeKnowledgeGraphConformance('SurrealKnowledgeGraph surrealkv://', async () =>
  connectKnowledgeGraph({ url: await tempStoreUrl() }),
);

describe('SurrealKnowledgeGraph surrealkv:// persistence and close', () => {
  it('keeps data and the applied flag across close and reopen, and closes within its bound', async () => {
    const url = await tempStoreUrl();
    const e = execution({ qualityScore: 0.5 });
    const first = await connectKnowledgeGraph({ url, namespace: 'vapora', database: 'kg' });
    expect(await first.recordExecution(e)).toBe('created');
    await first.markProfileApplied(e.executionId);
    const t0 = performance.now();
    await first.close();
    expect(performance.now() - t0).toBeLessThan(2_500);

    const second = await connectKnowledgeGraph({ url, connectTimeoutMs: 5_000 });
    try {
      expect(await second.getExecution(e.executionId)).toEqual(e);
      expect(await second.isProfileApplied(e.executionId)).toBe(true);
      expect(await second.recordExecution(e)).toBe('existed');
    } finally {
      await second.close();
    }
  });

  it('times out with KgUnavailableError when another connection holds the store', async () => {
    const url = await tempStoreUrl();
    const holder = await connectKnowledgeGraph({ url });
    try {
      const err = await rejection(connectKnowledgeGraph({ url, connectTimeoutMs: 500 }));
      expect(isKgUnavailable(err)).toBe(true);
      expect(err.message).toContain(url.slice('surrealkv://'.length));
      expect(err.message).toMatch(/single-process/);
    } finally {
      await holder.close();
    }
  });
});

describe('SurrealKnowledgeGraph group commit', () => {
  it('fails only the row the store refuses, not the good rows that shared its batch', async () => {
    const kg = await connectKnowledgeGraph({ url: 'mem://' });
    try {
      // Keep the committer busy so the next writes queue up and go as one batch with the bad row among them.
      const first = kg.recordExecution(execution());
      const good = Array.from({ length: 20 }, () => execution());
      // A number CBOR cannot encode: the store's client refuses the whole statement that carries it.
      const bad = execution({ durationMs: 1e308 });
      const writes = [...good.slice(0, 10), bad, ...good.slice(10)].map((e) => kg.recordExecution(e));
      expect(await first).toBe('created');
      const settled = await Promise.allSettled(writes);
      expect(settled[10]!.status).toBe('rejected');
      expect(isKgUnavailable((settled[10] as PromiseRejectedResult).reason)).toBe(false);
      const others = settled.filter((_, i) => i !== 10);
      expect(others.map((r) => (r.status === 'fulfilled' ? r.value : 'rejected'))).toEqual(
        Array.from({ length: 20 }, () => 'created'),
      );
      // The effect, not only the answers: every good row is stored, the bad one is not.
      for (const e of good) expect(await kg.getExecution(e.executionId)).toEqual(e);
      expect(await kg.getExecution(bad.executionId)).toBeNull();
    } finally {
      await kg.close();
    }
  });
});

describe('connectKnowledgeGraph errors', () => {
  it('rejects an unsupported scheme with a message naming the URL and the supported ones', async () => {
    const err = await rejection(connectKnowledgeGraph({ url: 'postgres://localhost/kg' }));
    expect(isKgUnavailable(err)).toBe(true);
    expect(err.message).toContain('"postgres://localhost/kg"');
    expect(err.message).toContain('surrealkv://');
    expect(err.message).toContain('ws://');
  });

  it('rejects a surrealkv URL without a directory', async () => {
    const err = await rejection(connectKnowledgeGraph({ url: 'surrealkv://' }));
    expect(isKgUnavailable(err)).toBe(true);
    expect(err.message).toMatch(/no directory/);
  });

  it('reports an unreachable remote server as KgUnavailableError naming the URL', async () => {
    // Port 9 (discard) is not listening here; fetch refuses the connection quickly.
    const url = 'http://127.0.0.1:9/rpc';
    const err = await rejection(
      connectKnowledgeGraph({ url, username: 'root', password: 'root', connectTimeoutMs: 3_000 }),
    );
    expect(isKgUnavailable(err)).toBe(true);
    expect(err.message).toContain(url);
  });
});
