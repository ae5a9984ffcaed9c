import { jest } from '@jest/globals';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import {
  canConnect,
  NATS_SERVER_MISSING_MESSAGE,
  natsServerBinary,
  startNatsServer,
  type NatsServerHandle,
} from './nats-server.js';
import { waitFor } from './wait-for.js';

// NB: `testTimeout` inside a jest `projects[]` entry is ignored (it is a global option), so set it here.
jest.setTimeout(60_000);

describe('startNatsServer', () => {
  let server: NatsServerHandle | undefined;
  let nc: NatsConnection | undefined;

  afterEach(async () => {
    await nc?.close().catch(() => undefined);
    nc = undefined;
    await server?.stop();
    server = undefined;
  });

  it('finds the binary', () => {
    expect(natsServerBinary()).toMatch(/nats-server$/);
  });

  it('starts JetStream on a random port, keeps stream data across restart(), closes the port on stop()', async () => {
    server = await startNatsServer();
    expect(server.port).not.toBe(4222);
    expect(server.url).toBe(`nats://127.0.0.1:${server.port}`);
    expect(server.pid).toBeGreaterThan(0);
    expect(existsSync(server.storeDir)).toBe(true);
    const firstPid = server.pid;

    nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'LAUNCHER', subjects: ['launcher.>'] });
    const js = jetstream(nc);
    const ack = await js.publish('launcher.a', 'hello', { msgID: 'm-1' });
    expect(ack.seq).toBe(1);

    let reconnects = 0;
    void (async () => {
      for await (const s of nc.status()) if (s.type === 'reconnect') reconnects++;
    })();

    await server.restart();
    expect(server.pid).not.toBe(firstPid);
    expect(server.running).toBe(true);

    // The same connection reconnects to the same port and the message survived.
    // (Wait for the reconnect first: a JS API request sent while disconnected is
    // not replayed and just times out after 5 s.)
    await waitFor(() => reconnects >= 1, { timeoutMs: 10_000, what: 'client to reconnect after restart()' });
    const info = await jsm.streams.info('LAUNCHER');
    expect(info.state.messages).toBe(1);
    expect(info.state.last_seq).toBe(1);
    const msg = await jsm.streams.getMessage('LAUNCHER', { seq: 1 });
    expect(msg?.string()).toBe('hello');

    // kill -9 then restart keeps the data too.
    await server.kill9();
    expect(server.running).toBe(false);
    expect(await canConnect(server.port)).toBe(false);
    await server.restart();
    await waitFor(() => reconnects >= 2, {
      timeoutMs: 10_000,
      what: 'client to reconnect after kill9() + restart()',
    });
    expect((await jsm.streams.info('LAUNCHER')).state.messages).toBe(1);

    await nc.close();
    nc = undefined;
    const { port, storeDir } = server;
    await server.stop();
    server = undefined;
    expect(await canConnect(port)).toBe(false);
    expect(existsSync(storeDir)).toBe(false);
  });

  it('supports jetstream: false, configFile and extraArgs', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nats-conf-'));
    const conf = join(dir, 'server.conf');
    // port/host in the file are overridden by the launcher's command-line flags
    await writeFile(conf, 'port: 4222\nmax_payload: 4096\n');
    try {
      server = await startNatsServer({
        jetstream: false,
        configFile: conf,
        extraArgs: ['--name', 'launcher-test'],
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    expect(server.port).not.toBe(4222);
    nc = await connect({ servers: server.url });
    expect(nc.info?.jetstream ?? false).toBe(false);
    expect(nc.info?.max_payload).toBe(4096);
    expect(nc.info?.server_name).toBe('launcher-test');
  });

  it('throws an actionable error when the binary is missing', async () => {
    expect(natsServerBinary({ searchPath: '/nonexistent' })).toBeNull();
    await expect(startNatsServer({ searchPath: '/nonexistent' })).rejects.toThrow(
      NATS_SERVER_MISSING_MESSAGE,
    );
    await expect(startNatsServer({ searchPath: '' })).rejects.toThrow(
      'nats-server not found on PATH; install it with: apt-get install -y nats-server',
    );
    await expect(startNatsServer({ binary: '/nonexistent/nats-server' })).rejects.toThrow(
      NATS_SERVER_MISSING_MESSAGE,
    );
  });
});

describe('waitFor', () => {
  it('returns the first truthy-ish value', async () => {
    let n = 0;
    await expect(waitFor(() => (++n >= 3 ? n : undefined), { intervalMs: 5 })).resolves.toBe(3);
  });

  it('accepts 0 and empty string as values (only undefined/false mean "not yet")', async () => {
    await expect(waitFor(() => 0)).resolves.toBe(0);
    await expect(waitFor(async () => '')).resolves.toBe('');
  });

  it('names what it waited for and the last error on timeout', async () => {
    await expect(
      waitFor(
        () => {
          throw new Error('boom');
        },
        { timeoutMs: 60, intervalMs: 10, what: 'the thing' },
      ),
    ).rejects.toThrow(/waiting for the thing; last error: Error: boom/);
    await expect(waitFor(() => false, { timeoutMs: 30, what: 'x' })).rejects.toThrow(/last value: false/);
  });
});
