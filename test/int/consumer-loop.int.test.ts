/** The consumer loop's concurrency bound, and a handler giving its slot back while it waits. */
import { AckPolicy, jetstreamManager } from '@nats-io/jetstream';
import type { HandlerSlot } from '../../src/bus/consumer-loop.js';
import { ConsumerLoop } from '../../src/bus/consumer-loop.js';
import { ack } from '../../src/bus/outcome.js';
import { waitFor } from '../support/wait-for.js';
import type { Env } from './harness.js';
import { silent, startEnv, stopEnv } from './harness.js';

let env: Env | undefined;
let loop: ConsumerLoop | undefined;
afterEach(async () => {
  await loop?.stop(1_000);
  loop = undefined;
  await stopEnv(env);
  env = undefined;
});

/** A loop with one slot over a fresh stream holding these messages, in order. */
async function oneSlotLoop(
  names: string[],
  handle: (name: string, slot: HandlerSlot) => Promise<void>,
): Promise<void> {
  env = await startEnv();
  const jsm = await jetstreamManager(env.nc);
  await jsm.streams.add({ name: 'LOOP_TEST', subjects: ['loop.test'] });
  await jsm.consumers.add('LOOP_TEST', { durable_name: 'loop', ack_policy: AckPolicy.Explicit });
  for (const name of names) await env.js.publish('loop.test', name);
  loop = new ConsumerLoop({
    js: env.js,
    stream: 'LOOP_TEST',
    consumer: 'loop',
    concurrency: 1,
    log: silent,
    handler: async (msg, _log, slot) => {
      await handle(msg.string(), slot);
      return ack();
    },
  });
  await loop.start();
}

describe('ConsumerLoop', () => {
  it('starts the next message only when a slot is free', async () => {
    const started: string[] = [];
    let finishFirst: (() => void) | undefined;
    await oneSlotLoop(['first', 'second'], async (name) => {
      started.push(name);
      if (name === 'first') await new Promise<void>((resolve) => (finishFirst = resolve));
    });
    await waitFor(() => finishFirst !== undefined, { what: 'the first message' });
    await new Promise((r) => setTimeout(r, 300));
    expect(started).toEqual(['first']);
    finishFirst!();
    await waitFor(() => started.length === 2, { what: 'the second message after the first' });
  });

  it('starts the next message while a handler that released its slot waits, and drains both on stop', async () => {
    const started: string[] = [];
    const finished: string[] = [];
    const gates = new Map<string, () => void>();
    await oneSlotLoop(['first', 'second', 'third'], async (name, slot) => {
      started.push(name);
      if (name === 'first') {
        slot.release();
        slot.release(); // a second call frees nothing more
      }
      if (name !== 'third') await new Promise<void>((resolve) => gates.set(name, resolve));
      finished.push(name);
    });
    await waitFor(() => gates.has('second'), { what: 'the second message while the first waits' });
    // 'second' holds the only slot: 'third' waits for it, released twice by 'first' or not.
    await new Promise((r) => setTimeout(r, 300));
    expect(started).toEqual(['first', 'second']);
    gates.get('second')!();
    await waitFor(() => finished.includes('third'), { what: 'the third message after the second' });
    expect(finished).toEqual(['second', 'third']);
    const stopping = loop!.stop(5_000);
    gates.get('first')!();
    await expect(stopping).resolves.toBe(0);
    expect(finished).toEqual(['second', 'third', 'first']);
  });
});
