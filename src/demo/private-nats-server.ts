/**
 * The demo's own nats-server: JetStream on a free loopback port (never 4222, where a developer's server may
 * live) with a temporary store dir, stopped and removed at the end. Just start and stop; the test launcher in
 * test/support/nats-server.ts adds crashes and restarts.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { accessSync, constants as fsConstants, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { ErrorCodes, VaporaError } from '../errors.js';
import { NatsUnavailableError } from '../errors.js';

const HOST = '127.0.0.1';
const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;
/** Debian installs it in /usr/sbin, which is not on a normal user's PATH. */
const FALLBACK_BINARIES = ['/usr/sbin/nats-server', '/usr/local/bin/nats-server', '/usr/bin/nats-server'];

export interface PrivateNatsServer {
  /** nats://127.0.0.1:<port> */
  readonly url: string;
  /** SIGTERM (SIGKILL after 5 s), then removes the store dir. Idempotent. */
  stop(): Promise<void>;
}

/** Absolute path of the nats-server binary on PATH or in the usual places, or null. */
export function natsServerBinary(): string | null {
  const onPath = (process.env['PATH'] ?? '')
    .split(delimiter)
    .filter((dir) => dir !== '')
    .map((dir) => join(dir, 'nats-server'));
  return [...onPath, ...FALLBACK_BINARIES].find(isExecutableFile) ?? null;
}

export async function startPrivateNatsServer(): Promise<PrivateNatsServer> {
  const binary = natsServerBinary();
  if (binary === null) {
    throw new VaporaError(ErrorCodes.NatsUnavailable, 'nats-server not found on PATH or in /usr/sbin');
  }
  const storeDir = await mkdtemp(join(tmpdir(), 'vapora-demo-nats-'));
  const port = await freePort();
  const child = spawn(binary, ['-a', HOST, '-p', String(port), '-js', '-sd', storeDir], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let output = '';
  child.stderr?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4096)));
  // A demo interrupted with Ctrl-C must not leave the server behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      process.removeListener('exit', killOnExit);
      await terminate(child);
      await rm(storeDir, { recursive: true, force: true });
    })());
  try {
    await waitUntilAccepting(child, port);
  } catch (err) {
    await stop();
    const tail = output.split('\n').slice(-10).join('\n');
    throw new VaporaError(
      ErrorCodes.NatsUnavailable,
      `the private nats-server did not start: ${(err as Error).message}\n${tail}`,
    );
  }
  return { url: `nats://${HOST}:${port}`, stop };
}

async function waitUntilAccepting(child: ChildProcess, port: number): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new NatsUnavailableError(`it exited (code ${child.exitCode}, signal ${child.signalCode})`);
    }
    if (await canConnect(port)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new NatsUnavailableError(
    `nothing accepted connections on ${HOST}:${port} within ${START_TIMEOUT_MS} ms`,
  );
}

async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const escalate = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(escalate);
}

/** A port the kernel says is free now (never 4222). */
async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, HOST, () => {
        const address = server.address();
        const p = typeof address === 'object' && address !== null ? address.port : 0;
        server.close(() => resolve(p));
      });
    });
    if (port !== 0 && port !== 4222) return port;
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: HOST, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}
