/**
 * Child processes of the chaos suite: worker and agent entry scripts run with `node --import tsx`, tracked so that
 * every one of them is killed at the end of a scenario, whatever happened.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { AgentSpec } from './agent-process.js';

export const WORKER_SCRIPT = fileURLToPath(new URL('./worker-process.ts', import.meta.url));
export const AGENT_SCRIPT = fileURLToPath(new URL('./agent-process.ts', import.meta.url));
export const PLAIN_AGENT_SCRIPT = fileURLToPath(new URL('./plain-agent-process.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ChildHandle {
  name: string;
  child: ChildProcess;
  pid: number;
  /** Parsed JSON of the CHAOS_READY line. */
  ready: Promise<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  readonly alive: boolean;
  /** Time of the kill -9 (or exit), epoch ms. */
  diedAt: number | undefined;
  output(): string;
  kill9(): Promise<void>;
  /** SIGTERM and wait for exit (SIGKILL after `ms`). Returns the exit code. */
  terminate(ms?: number): Promise<number | null>;
  signal(sig: NodeJS.Signals): void;
}

const MAX_OUTPUT = 512 * 1024;

export class ProcessGroup {
  readonly children: ChildHandle[] = [];

  constructor(private readonly logDir: string) {}

  /** `nodeArgs`: extra node flags before the script (e.g. `--cpu-prof`, which NODE_OPTIONS does not allow). */
  spawn(name: string, script: string, env: Record<string, string>, nodeArgs: string[] = []): ChildHandle {
    const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', script], {
      cwd: REPO_ROOT,
      // jest runs with --experimental-vm-modules; the children need none of it.
      env: { ...process.env, NODE_OPTIONS: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const file: WriteStream = createWriteStream(`${this.logDir}/${name}.log`, { flags: 'a' });
    let out = '';
    let resolveReady: (v: Record<string, unknown>) => void = () => undefined;
    let rejectReady: (e: Error) => void = () => undefined;
    const ready = new Promise<Record<string, unknown>>((res, rej) => {
      resolveReady = res;
      rejectReady = rej;
    });
    ready.catch(() => undefined);
    const onData = (buf: Buffer) => {
      const s = buf.toString('utf8');
      file.write(s);
      out += s;
      if (out.length > MAX_OUTPUT) out = out.slice(out.length - MAX_OUTPUT);
      const m = /CHAOS_READY (\{.*\})/.exec(out);
      if (m) resolveReady(JSON.parse(m[1]!) as Record<string, unknown>);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    let alive = true;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>(
      (resolve) => {
        child.once('exit', (code, signal) => {
          alive = false;
          handle.diedAt ??= Date.now();
          file.end();
          rejectReady(
            new Error(`${name} exited (code ${code}, signal ${signal}) before it was ready:\n${tail()}`),
          );
          resolve({ code, signal, at: Date.now() });
        });
      },
    );
    const tail = () => out.split('\n').slice(-30).join('\n');
    const handle: ChildHandle = {
      name,
      child,
      pid: child.pid ?? -1,
      ready,
      exited,
      get alive() {
        return alive;
      },
      diedAt: undefined,
      output: () => out,
      async kill9() {
        if (!alive) return;
        handle.diedAt = Date.now();
        child.kill('SIGKILL');
        await exited;
      },
      async terminate(ms = 30_000) {
        if (!alive) return (await exited).code;
        child.kill('SIGTERM');
        const timer = setTimeout(() => {
          if (alive) child.kill('SIGKILL');
        }, ms);
        const { code } = await exited;
        clearTimeout(timer);
        return code;
      },
      signal(sig) {
        if (alive) child.kill(sig);
      },
    };
    this.children.push(handle);
    return handle;
  }

  worker(name: string, env: Record<string, string>, nodeArgs: string[] = []): ChildHandle {
    return this.spawn(
      name,
      WORKER_SCRIPT,
      { HTTP_PORT: '0', LOG_LEVEL: 'warn', SHUTDOWN_GRACE_MS: '5000', ...env },
      nodeArgs,
    );
  }

  /** `plain`: agents on plain JetStream clients (no SDK), as another team would write them. */
  agents(name: string, natsUrl: string, specs: AgentSpec[], logFile: string, plain = false): ChildHandle {
    return this.spawn(name, plain ? PLAIN_AGENT_SCRIPT : AGENT_SCRIPT, {
      NATS_URL: natsUrl,
      CHAOS_AGENTS: JSON.stringify(specs),
      CHAOS_AGENT_LOG: logFile,
      LOG_LEVEL: 'warn',
    });
  }

  /** SIGKILL everything still running (afterEach / afterAll, also on failure). */
  async killAll(): Promise<void> {
    await Promise.all(this.children.map((c) => c.kill9().catch(() => undefined)));
  }
}

/** Waits for a child's ready line, failing fast (with its output) if it dies or takes too long. */
export async function whenReady(handle: ChildHandle, ms = 60_000): Promise<Record<string, unknown>> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${handle.name} not ready after ${ms} ms:\n${handle.output().slice(-3000)}`)),
      ms,
    );
  });
  try {
    return await Promise.race([handle.ready, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
