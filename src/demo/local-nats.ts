/**
 * NATS for the demo: use the server at NATS_URL when one answers; otherwise start a private nats-server (on
 * Debian as root, installing the package first when it is missing), or say exactly how to install it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from '@nats-io/transport-node';
import { DEFAULT_NATS_URL } from '../config/config.js';
import { VaporaError, ErrorCodes } from '../errors.js';
import type { PrivateNatsServer } from './private-nats-server.js';
import { natsServerBinary, startPrivateNatsServer } from './private-nats-server.js';

export interface DemoNats {
  url: string;
  /** The private server, when the demo started one. */
  server?: PrivateNatsServer;
}

async function answers(url: string): Promise<boolean> {
  try {
    const nc = await connect({ servers: url, timeout: 1500, maxReconnectAttempts: 0 });
    await nc.close();
    return true;
  } catch {
    return false;
  }
}

export async function ensureNats(say: (line: string) => void): Promise<DemoNats> {
  const configured = process.env['NATS_URL'];
  const url = configured ?? DEFAULT_NATS_URL;
  if (await answers(url)) {
    say(`NATS: using the server at ${url}`);
    return { url };
  }
  if (configured) {
    throw new VaporaError(
      ErrorCodes.NatsUnavailable,
      `no NATS server answers at NATS_URL=${configured}; start it or unset NATS_URL`,
    );
  }
  if (!natsServerBinary()) installNatsServer(say);
  const server = await startPrivateNatsServer();
  say(`NATS: started a private nats-server with JetStream at ${server.url}`);
  return { url: server.url, server };
}

function installNatsServer(say: (line: string) => void): void {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot || !existsSync('/usr/bin/apt-get')) {
    throw new VaporaError(
      ErrorCodes.NatsUnavailable,
      'no NATS server answers at nats://127.0.0.1:4222 and nats-server is not installed; ' +
        'install it with: sudo apt-get install -y nats-server (or set NATS_URL)',
    );
  }
  say('NATS: nats-server not found; installing it with apt-get (Debian package) …');
  try {
    execFileSync('apt-get', ['install', '-y', '-qq', 'nats-server'], { stdio: 'ignore' });
  } catch {
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'ignore' });
    execFileSync('apt-get', ['install', '-y', '-qq', 'nats-server'], { stdio: 'ignore' });
  }
}
