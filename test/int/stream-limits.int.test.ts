/**
 * Storage is bounded (issue 8, item 7): on a real nats-server with the shipped auth.conf, an oversized result is
 * refused at publish (not stored, so not copied into the DLQ either), the DLQ drops its oldest letters when full,
 * and the account refuses any stream that declares no byte bound.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { JetStreamManager } from '@nats-io/jetstream';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { Streams } from '../../src/bus/subjects.js';
import { applyTopology, loadTopology } from '../../src/bus/topology.js';
import type { AuthServer } from '../security/nats-auth.js';
import { startAuthServer } from '../security/nats-auth.js';

let auth: AuthServer;
let worker: NatsConnection;
let jsm: JetStreamManager;

beforeAll(async () => {
  auth = await startAuthServer();
  worker = await auth.connectAs('worker');
  jsm = await jetstreamManager(worker);
  await applyTopology(worker, await loadTopology());
});
afterAll(async () => {
  await auth.stop();
});

const result = (error: string) =>
  JSON.stringify({
    executionId: 'e-1',
    taskId: 't-1',
    agentId: 'coder-1',
    taskType: 'coding',
    success: false,
    durationMs: 1,
    finishedAt: new Date().toISOString(),
    error,
  });

describe('stream limits with the shipped account', () => {
  it('stores a result up to VAPORA_RESULTS max_msg_size and refuses a larger one at publish', async () => {
    const limit = (await jsm.streams.info(Streams.results)).config.max_msg_size;
    expect(limit).toBeLessThan(1024 * 1024);
    const agent = jetstream(await auth.connectAs('agent-coder-1'));
    const before = (await jsm.streams.info(Streams.results)).state.messages;

    await agent.publish('vapora.results.coder-1', result('e'.repeat(limit - 1024)));
    const big = result('e'.repeat(limit));
    const refused = await agent.publish('vapora.results.coder-1', big).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(Error);
    expect((refused as Error).message).toMatch(/maximum|size/i);

    expect((await jsm.streams.info(Streams.results)).state.messages).toBe(before + 1);
  });

  it('the DLQ keeps its newest letters when it reaches max_bytes (discard old)', async () => {
    const config = (await jsm.streams.info(Streams.deadLetters)).config;
    expect(config.discard).toBe('old');
    // Shrink the bound so a few letters overflow it, then restore the shipped one.
    await jsm.streams.update(Streams.deadLetters, { max_bytes: 64 * 1024 });
    try {
      const js = jetstream(worker);
      let last = 0;
      for (let i = 0; i < 40; i += 1) last = (await js.publish('vapora.dlq.test', new Uint8Array(4096))).seq;
      const state = (await jsm.streams.info(Streams.deadLetters)).state;
      expect(state.bytes).toBeLessThanOrEqual(64 * 1024);
      expect(state.last_seq).toBe(last);
      expect(state.first_seq).toBeGreaterThan(1);
    } finally {
      await jsm.streams.update(Streams.deadLetters, { max_bytes: config.max_bytes });
    }
  });

  it('the account refuses a stream without max_bytes (max_bytes_required)', async () => {
    const err = await jsm.streams
      .add({ name: 'UNBOUNDED', subjects: ['vapora.unbounded'] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/max.?bytes/i);
    await expect(jsm.streams.info('UNBOUNDED')).rejects.toThrow(/not found/);
  });
});
