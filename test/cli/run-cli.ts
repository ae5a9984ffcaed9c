/** Runs the `vapora-learning` CLI as a subprocess (`node --import tsx src/cli/run.ts …`) to completion. */
import { spawn } from 'node:child_process';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** NODE_OPTIONS is cleared (jest sets --experimental-vm-modules); SURREAL_URL points at a throwaway store. */
export function runCli(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 30_000,
): Promise<CliRun> {
  return withCliSlot(() => spawnCli(args, env, timeoutMs));
}

/**
 * Concurrent tests start at most one CLI process per core at a time: each compiles the CLI with tsx, and twenty
 * of them at once on two cores can outlast any per-process time limit without anything being wrong.
 */
const cliSlots = { free: Math.max(1, availableParallelism()), waiting: [] as (() => void)[] };
async function withCliSlot<T>(run: () => Promise<T>): Promise<T> {
  if (cliSlots.free === 0) await new Promise<void>((resolve) => cliSlots.waiting.push(resolve));
  else cliSlots.free -= 1;
  try {
    return await run();
  } finally {
    const next = cliSlots.waiting.shift();
    if (next) next();
    else cliSlots.free += 1;
  }
}

function spawnCli(args: string[], env: Record<string, string>, timeoutMs: number): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/run.ts', ...args], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        NODE_OPTIONS: '',
        LOG_LEVEL: 'silent',
        NATS_URL: 'nats://127.0.0.1:1',
        SURREAL_URL: `surrealkv://${join(tmpdir(), 'vapora-cli-test-unused', 'kg')}`,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `vapora-learning ${args.join(' ')} did not exit within ${timeoutMs} ms\n${stdout}\n${stderr}`,
        ),
      );
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
