/**
 * Makes sure a nats-server binary exists before any suite starts one, the way the demo does on a fresh machine:
 * found on PATH or in the Debian locations; else, as root on Debian, installed with apt-get (saying so); else one
 * line that says how to install it. The default export is the globalSetup of the jest projects that start
 * nats-server (jest.config.js); it imports nothing local because jest loads it without the test module mapper.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export const NATS_SERVER_INSTALL_HINT =
  'nats-server is not installed (not on PATH nor in /usr/sbin); install it with: sudo apt-get install -y nats-server';

/** Searched after PATH: Debian puts nats-server in /usr/sbin, which is not on every user's PATH. */
const SYSTEM_DIRS = ['/usr/sbin', '/usr/local/bin', '/usr/bin'];

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Absolute path of nats-server on `searchPath` or in the system directories, or null. */
export function findNatsServer(searchPath = process.env['PATH'] ?? ''): string | null {
  const dirs = [...searchPath.split(delimiter).filter(Boolean), ...SYSTEM_DIRS];
  return dirs.map((dir) => join(dir, 'nats-server')).find(isExecutable) ?? null;
}

export interface EnsureNatsServerOptions {
  find?: () => string | null;
  /** Whether installing with apt-get is possible here. @default root with /usr/bin/apt-get present */
  canInstall?: boolean;
  /** Runs one command, inheriting stdio. @default execFileSync */
  run?: (command: string, args: string[]) => void;
  say?: (line: string) => void;
}

function canInstallWithApt(): boolean {
  return process.getuid?.() === 0 && existsSync('/usr/bin/apt-get');
}

/** Returns the path of nats-server, installing it first when that is possible; throws the install hint if not. */
export function ensureNatsServer(options: EnsureNatsServerOptions = {}): string {
  const find = options.find ?? (() => findNatsServer());
  const found = find();
  if (found) return found;
  if (!(options.canInstall ?? canInstallWithApt())) throw new Error(NATS_SERVER_INSTALL_HINT);
  const run = options.run ?? ((command, args) => execFileSync(command, args, { stdio: 'inherit' }));
  const say = options.say ?? ((line) => process.stderr.write(`${line}\n`));
  say('nats-server not found; installing it: apt-get update && apt-get install -y nats-server');
  run('apt-get', ['update']);
  run('apt-get', ['install', '-y', 'nats-server']);
  const installed = find();
  if (!installed)
    throw new Error(`apt-get installed nats-server but it is still not found; ${NATS_SERVER_INSTALL_HINT}`);
  say(`nats-server installed at ${installed}`);
  return installed;
}

/** Jest globalSetup: on failure, one line (the install hint), not jest's stack trace of a failed setup. */
export default function globalSetup(): void {
  try {
    ensureNatsServer();
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}
