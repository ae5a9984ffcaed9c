/**
 * Spawns a private `nats-server` for integration tests, the chaos suite and the benches. (The demo has its own,
 * smaller launcher in src/demo: it needs neither kill9 nor restart.)
 *
 * Loosely modelled on nats.js `nst/src/launcher.ts`, reduced to what our tests
 * need: one JetStream-enabled server on a random loopback port with its own
 * temporary store dir, which can be stopped, SIGKILLed and restarted on the
 * same port + store dir (so JetStream state survives a restart).
 *
 * Port 4222 is never used (a developer's local server may live there).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export const NATS_SERVER_MISSING_MESSAGE =
  'nats-server not found on PATH; install it with: apt-get install -y nats-server';

/** Places searched after PATH when the caller does not override the search path. */
const FALLBACK_BINARIES = ['/usr/sbin/nats-server', '/usr/local/bin/nats-server', '/usr/bin/nats-server'];

const HOST = '127.0.0.1';
const FORBIDDEN_PORT = 4222;
const READY_LINE = 'Listening for client connections on';
const MAX_LOG_CHARS = 256 * 1024;

export interface NatsServerBinaryOptions {
  /**
   * PATH-style string to search instead of `process.env.PATH`. When given, the
   * fallback locations (/usr/sbin, ...) are NOT searched, which lets tests
   * simulate a machine without nats-server.
   */
  searchPath?: string;
}

/** Absolute path of the nats-server binary, or null when none is found. */
export function natsServerBinary(opts: NatsServerBinaryOptions = {}): string | null {
  const searchPath = opts.searchPath ?? process.env.PATH ?? '';
  for (const dir of searchPath.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, 'nats-server');
    if (isExecutableFile(candidate)) return candidate;
  }
  if (opts.searchPath === undefined) {
    for (const candidate of FALLBACK_BINARIES) {
      if (isExecutableFile(candidate)) return candidate;
    }
  }
  return null;
}

export interface StartNatsServerOptions extends NatsServerBinaryOptions {
  /** Enable JetStream (`-js -sd <storeDir>`). Default true. */
  jetstream?: boolean;
  /** Passed as `-c <file>`; command-line flags (port, host, store dir) still win. */
  configFile?: string;
  /** Appended verbatim to the command line. */
  extraArgs?: string[];
  /** Explicit binary; skips the PATH search. */
  binary?: string;
  /** How long to wait for the server to accept connections. Default 10 000 ms. */
  startTimeoutMs?: number;
  /** SIGTERM grace period before SIGKILL in stop()/restart(). Default 5000 ms. */
  stopTimeoutMs?: number;
  /** Echo the server log to stderr (also enabled by env NATS_SERVER_DEBUG=1). */
  debug?: boolean;
}

export interface NatsServerHandle {
  /** nats://127.0.0.1:<port> */
  readonly url: string;
  readonly port: number;
  /** JetStream store dir (a mkdtemp dir; removed by stop()). */
  readonly storeDir: string;
  /** pid of the current process (changes after restart()). */
  readonly pid: number;
  /** True while a server process is alive. */
  readonly running: boolean;
  /** SIGTERM, SIGKILL after `stopTimeoutMs`, then remove the store dir. Idempotent. */
  stop(): Promise<void>;
  /** Stop the process (keeping the store dir) and start a new one on the same port + store dir. */
  restart(): Promise<void>;
  /** SIGKILL the process and wait for it to exit; store dir is kept, restart() brings it back. */
  kill9(): Promise<void>;
  /** Captured server output (stdout + stderr) of all incarnations, tail-truncated. */
  logs(): string;
}

/** Every live server, so a crashing test run does not leak processes. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of live) {
      try {
        child.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }
  });
}

export async function startNatsServer(opts: StartNatsServerOptions = {}): Promise<NatsServerHandle> {
  const binary =
    opts.binary !== undefined
      ? isExecutableFile(opts.binary)
        ? opts.binary
        : null
      : natsServerBinary(opts.searchPath === undefined ? {} : { searchPath: opts.searchPath });
  if (binary === null) throw new Error(NATS_SERVER_MISSING_MESSAGE);

  const jetstream = opts.jetstream ?? true;
  const startTimeoutMs = opts.startTimeoutMs ?? 10_000;
  const stopTimeoutMs = opts.stopTimeoutMs ?? 5_000;
  const debug = opts.debug ?? process.env.NATS_SERVER_DEBUG === '1';
  const storeDir = await mkdtemp(join(tmpdir(), 'nats-js-'));

  let log = '';
  const appendLog = (chunk: string): void => {
    log += chunk;
    if (log.length > MAX_LOG_CHARS) log = log.slice(log.length - MAX_LOG_CHARS);
    if (debug) process.stderr.write(chunk);
  };

  const argsFor = (port: number): string[] => {
    const args: string[] = [];
    if (opts.configFile !== undefined) args.push('-c', opts.configFile);
    args.push('-a', HOST, '-p', String(port));
    if (jetstream) args.push('-js', '-sd', storeDir);
    args.push(...(opts.extraArgs ?? []));
    return args;
  };

  installExitHook();

  // First start: a port that is free now may be grabbed by someone else before
  // nats-server binds it, so retry a few times with a fresh port on bind errors.
  let child: ChildProcess | undefined;
  let port = 0;
  let lastErr: unknown;
  for (let attempt = 0; attempt < 5 && child === undefined; attempt++) {
    port = await freePort();
    try {
      child = await launch(binary, argsFor(port), port, startTimeoutMs, appendLog);
    } catch (err) {
      lastErr = err;
      if (!(err instanceof PortInUseError)) {
        await rm(storeDir, { recursive: true, force: true });
        throw err;
      }
    }
  }
  if (child === undefined) {
    await rm(storeDir, { recursive: true, force: true });
    throw lastErr instanceof Error ? lastErr : new Error(String(lastErr));
  }

  let current: ChildProcess | undefined = child;
  let removed = false;

  const terminate = async (signal: NodeJS.Signals): Promise<void> => {
    const proc = current;
    if (proc === undefined) return;
    current = undefined;
    if (!isAlive(proc)) {
      live.delete(proc);
      return;
    }
    const exited = waitExit(proc);
    proc.kill(signal);
    if (signal !== 'SIGKILL') {
      // Escalate to SIGKILL after the grace period (timer cleared so it never keeps the event loop alive).
      const escalate = setTimeout(() => {
        if (isAlive(proc)) proc.kill('SIGKILL');
      }, stopTimeoutMs);
      await exited;
      clearTimeout(escalate);
    }
    await exited;
    live.delete(proc);
  };

  const handle: NatsServerHandle = {
    url: `nats://${HOST}:${port}`,
    port,
    storeDir,
    get pid() {
      return current?.pid ?? -1;
    },
    get running() {
      return current !== undefined && isAlive(current);
    },
    async stop() {
      await terminate('SIGTERM');
      if (!removed) {
        removed = true;
        await rm(storeDir, { recursive: true, force: true });
      }
    },
    async restart() {
      if (removed) throw new Error('restart(): server was stopped and its store dir removed');
      await terminate('SIGTERM');
      // Same port, same store dir. The old listener is closed once the process
      // has exited; retry briefly in case the kernel has not released it yet.
      const deadline = Date.now() + startTimeoutMs;
      for (;;) {
        try {
          current = await launch(binary, argsFor(port), port, startTimeoutMs, appendLog);
          return;
        } catch (err) {
          if (!(err instanceof PortInUseError) || Date.now() > deadline) throw err;
          await delay(100);
        }
      }
    },
    async kill9() {
      await terminate('SIGKILL');
    },
    logs() {
      return log;
    },
  };
  return handle;
}

class PortInUseError extends Error {}

/**
 * Spawn the server and resolve once the "Listening for client connections on"
 * line has been printed (JetStream is initialised before that line on 2.9/2.10)
 * and a TCP connection to the port succeeds.
 */
function launch(
  binary: string,
  args: string[],
  port: number,
  timeoutMs: number,
  appendLog: (s: string) => void,
): Promise<ChildProcess> {
  if (port === FORBIDDEN_PORT) return Promise.reject(new Error('refusing to start nats-server on 4222'));
  return new Promise<ChildProcess>((resolve, reject) => {
    const proc = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(proc);
    let ownLog = '';
    let settled = false;
    let sawReadyLine = false;
    let probing = false;

    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (isAlive(proc)) proc.kill('SIGKILL');
      live.delete(proc);
      reject(err);
    };
    const succeed = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(proc);
    };
    const tail = (): string => ownLog.split('\n').slice(-15).join('\n');

    const timer = setTimeout(() => {
      fail(
        new Error(
          `nats-server did not accept connections on ${HOST}:${port} within ${timeoutMs} ms\n${tail()}`,
        ),
      );
    }, timeoutMs);

    const onData = (buf: Buffer): void => {
      const s = buf.toString('utf8');
      ownLog += s;
      appendLog(s);
      if (!sawReadyLine && ownLog.includes(READY_LINE)) {
        sawReadyLine = true;
        void probe();
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);

    const probe = async (): Promise<void> => {
      if (probing) return;
      probing = true;
      while (!settled) {
        if (await canConnect(port)) return succeed();
        await delay(25);
      }
    };

    proc.once('error', (err) => fail(err));
    proc.once('exit', (code, signal) => {
      live.delete(proc);
      if (settled) return;
      const msg = `nats-server exited before becoming ready (code=${code}, signal=${signal}): ${binary} ${args.join(' ')}\n${tail()}`;
      fail(/address already in use/i.test(ownLog) ? new PortInUseError(msg) : new Error(msg));
    });
  });
}

/** Ask the kernel for a free loopback port (never 4222). */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = createServer();
      srv.unref();
      srv.once('error', reject);
      srv.listen(0, HOST, () => {
        const addr = srv.address();
        const p = typeof addr === 'object' && addr !== null ? addr.port : 0;
        srv.close(() => resolve(p));
      });
    });
    if (port !== 0 && port !== FORBIDDEN_PORT) return port;
  }
}

/** True when something accepts a TCP connection on HOST:port. */
export function canConnect(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ host: HOST, port });
    const done = (ok: boolean): void => {
      sock.removeAllListeners();
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

function waitExit(proc: ChildProcess): Promise<void> {
  if (!isAlive(proc)) return Promise.resolve();
  return new Promise((resolve) => proc.once('exit', () => resolve()));
}

function isAlive(proc: ChildProcess): boolean {
  return proc.exitCode === null && proc.signalCode === null;
}

function isExecutableFile(p: string): boolean {
  try {
    if (!statSync(p).isFile()) return false;
    accessSync(p, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
