/** What the test run does on a machine without nats-server: install it as root with apt, else say how, in one line. */
import { mkdtemp, rm, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NATS_SERVER_INSTALL_HINT, ensureNatsServer, findNatsServer } from '../support/ensure-nats-server.js';

/** Given a machine where nats-server is at `installedAt` (or nowhere) and installing puts it at `afterInstall`. */
function machine(installedAt: string | null, afterInstall: string | null = '/usr/sbin/nats-server') {
  let binary = installedAt;
  const commands: string[] = [];
  const said: string[] = [];
  return {
    commands,
    said,
    options: (canInstall: boolean) => ({
      canInstall,
      find: () => binary,
      run: (command: string, args: string[]) => {
        commands.push([command, ...args].join(' '));
        if (args[0] === 'install') binary = afterInstall;
      },
      say: (line: string) => said.push(line),
    }),
  };
}

describe('ensureNatsServer', () => {
  it('uses an installed nats-server and runs nothing', () => {
    const m = machine('/usr/local/bin/nats-server');
    expect(ensureNatsServer(m.options(true))).toBe('/usr/local/bin/nats-server');
    expect(m.commands).toEqual([]);
    expect(m.said).toEqual([]);
  });

  it('installs it with apt-get when it is missing and it may (root, Debian), and says what it does', () => {
    const m = machine(null);
    expect(ensureNatsServer(m.options(true))).toBe('/usr/sbin/nats-server');
    expect(m.commands).toEqual(['apt-get update', 'apt-get install -y nats-server']);
    expect(m.said[0]).toBe(
      'nats-server not found; installing it: apt-get update && apt-get install -y nats-server',
    );
  });

  it('fails with the one-line install hint, running nothing, when it may not install', () => {
    const m = machine(null);
    expect(() => ensureNatsServer(m.options(false))).toThrow(NATS_SERVER_INSTALL_HINT);
    expect(NATS_SERVER_INSTALL_HINT).not.toContain('\n');
    expect(NATS_SERVER_INSTALL_HINT).toMatch(/apt-get install -y nats-server/);
    expect(m.commands).toEqual([]);
  });

  it('fails, with the hint, when the installation did not produce a binary', () => {
    const m = machine(null, null);
    expect(() => ensureNatsServer(m.options(true))).toThrow(
      /still not found; .*apt-get install -y nats-server/,
    );
  });
});

describe('findNatsServer', () => {
  it('finds an executable nats-server on the given PATH, and ignores one that is not executable', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vapora-find-nats-'));
    const plain = await mkdtemp(join(tmpdir(), 'vapora-find-nats-'));
    try {
      await writeFile(join(dir, 'nats-server'), '#!/bin/sh\n');
      await chmod(join(dir, 'nats-server'), 0o755);
      await writeFile(join(plain, 'nats-server'), 'not executable');
      await chmod(join(plain, 'nats-server'), 0o644);
      expect(findNatsServer(`${plain}:${dir}`)).toBe(join(dir, 'nats-server'));
    } finally {
      await rm(dir, { recursive: true, force: true });
      await rm(plain, { recursive: true, force: true });
    }
  });
});
