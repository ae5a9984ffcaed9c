/** The registry's heartbeat handling under a flood from one agent. */
import { jetstreamManager } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { Subjects } from '../../src/bus/subjects.js';
import { MIN_REFRESH_MS, RegistryService } from '../../src/worker/registry-service.js';
import { waitFor } from '../support/wait-for.js';
import type { Env } from './harness.js';
import { silent, startEnv, stopEnv } from './harness.js';

const T0 = Date.parse('2026-12-02T12:00:00.000Z');

let env: Env | undefined;
let service: RegistryService | undefined;
afterEach(async () => {
  await service?.stop();
  service = undefined;
  await stopEnv(env);
  env = undefined;
});

/** A registry service on the real connection whose registry writes go to `put` (and deletes nowhere). */
async function registryWith(
  e: Env,
  put: (key: string, value: string) => Promise<void>,
  clock?: () => Date,
): Promise<RegistryService> {
  const agentsKv = {
    put: async (key: string, value: string) => {
      await put(key, value);
      return 1;
    },
    delete: async () => undefined,
  } as unknown as KV;
  return new RegistryService({
    nc: e.nc,
    jsm: await jetstreamManager(e.nc),
    agentsKv,
    roster: undefined,
    log: silent,
    ...(clock ? { clock } : {}),
  });
}

describe('RegistryService', () => {
  it('keeps the latest heartbeat per agent while it writes: a flood from one agent is one write per turn', async () => {
    env = await startEnv();
    // A registry whose writes wait for the test, so heartbeats pile up exactly as behind a slow store.
    const writes: string[] = [];
    let open: (() => void) | undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    service = await registryWith(env, async (key) => {
      writes.push(key);
      await gate;
    });
    await service.start();
    const beat = (agentId: string, maxConcurrent = 2) =>
      env!.nc.publish(
        Subjects.heartbeat(agentId),
        JSON.stringify({ agentId, role: 'developer', maxConcurrent }),
      );
    beat('flood', 3);
    await waitFor(() => writes.length === 1, { what: "the first write of 'flood'" });
    // While that write hangs: 500 more from 'flood', each a change (so none is skipped as a too-early refresh),
    // then one from 'calm'.
    for (let i = 0; i < 500; i += 1) beat('flood', 1 + (i % 2));
    beat('calm');
    await env.nc.flush();
    await new Promise((r) => setTimeout(r, 200));
    open!();
    await waitFor(() => writes.includes('calm'), { what: "'calm' to be written" });
    await new Promise((r) => setTimeout(r, 200));
    // One write for the 500 waiting heartbeats of 'flood' (the latest), one for 'calm'.
    expect(writes).toEqual(['flood', 'flood', 'calm']);
  });

  it('writes an unchanged registration at most once a second per agent, and a changed one at once', async () => {
    env = await startEnv();
    const written: string[] = [];
    let now = T0;
    service = await registryWith(
      env,
      async (_key, value) => {
        const { maxConcurrent, heartbeatAt } = JSON.parse(value) as {
          maxConcurrent: number;
          heartbeatAt: string;
        };
        written.push(`${maxConcurrent}@${Date.parse(heartbeatAt) - T0}`);
      },
      () => new Date(now),
    );
    const beat = async (maxConcurrent: number) => {
      await service!.handle(
        Subjects.heartbeat('steady'),
        new TextEncoder().encode(JSON.stringify({ role: 'developer', maxConcurrent })),
      );
    };
    for (let i = 0; i < 20; i += 1) await beat(2); // a flood at one instant: one write
    now += MIN_REFRESH_MS - 1;
    await beat(2); // still too early
    now += 1;
    await beat(2); // a second after the last write: refreshed
    await beat(3); // a change: written at once
    expect(written).toEqual(['2@0', `2@${MIN_REFRESH_MS}`, `3@${MIN_REFRESH_MS}`]);
  });
});
