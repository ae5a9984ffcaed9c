/**
 * Shared support for the security suites: a private nats-server that loads the shipped
 * k8s/base/nats/auth.conf unchanged, with the passwords supplied through the server's environment
 * exactly as in Kubernetes (Secret `nats-auth` loaded with envFrom).
 *
 * The launcher (test/support/nats-server.ts) inherits this process's environment, so the passwords
 * are set by a tiny wrapper script (`exec nats-server "$@"`) passed as its binary.
 */
import { chmod, copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection, PermissionViolationError } from '@nats-io/transport-node';
import { connect, errors } from '@nats-io/transport-node';
import { REPO_ROOT } from '../deploy/helpers.js';
import type { NatsServerHandle } from '../support/nats-server.js';
import { natsServerBinary, startNatsServer } from '../support/nats-server.js';

export const AUTH_CONF = path.join(REPO_ROOT, 'k8s/base/nats/auth.conf');

/** Users of auth.conf and the passwords this suite gives them. */
export const PASSWORDS = {
  worker: 'worker-secret',
  producer: 'producer-secret',
  'agent-coder-1': 'coder-1-secret',
} as const;
export type User = keyof typeof PASSWORDS;

/** The variables auth.conf reads from the server's environment. */
const SERVER_ENV: Record<string, string> = {
  VAPORA_WORKER_PASSWORD: PASSWORDS.worker,
  VAPORA_PRODUCER_PASSWORD: PASSWORDS.producer,
  VAPORA_AGENT_CODER_1_PASSWORD: PASSWORDS['agent-coder-1'],
};

/** The private inbox prefix each role must use (auth.conf grants agents/producers only their own). */
export const INBOX: Record<User, string | undefined> = {
  worker: undefined,
  producer: '_INBOX.producer',
  'agent-coder-1': '_INBOX.agent-coder-1',
};

export const NATS_BINARY = natsServerBinary();

export interface AuthServer {
  server: NatsServerHandle;
  /** Opens a connection as `user` (private inbox unless `inboxPrefix` overrides it); closed by stop(). */
  connectAs(user: User, options?: { inboxPrefix?: string | null; pass?: string }): Promise<NatsConnection>;
  /** Permission violations the server reported to `nc` (collected from nc.status()). */
  violations(nc: NatsConnection): PermissionViolationError[];
  stop(): Promise<void>;
}

/** Starts nats-server with `include ./auth.conf` (a verbatim copy of the shipped file), JetStream on. */
export async function startAuthServer(extraConfig = ''): Promise<AuthServer> {
  if (NATS_BINARY === null) throw new Error('nats-server is not installed');
  const dir = await mkdtemp(path.join(tmpdir(), 'vapora-nats-auth-'));
  await copyFile(AUTH_CONF, path.join(dir, 'auth.conf'));
  const configFile = path.join(dir, 'server.conf');
  await writeFile(configFile, `${extraConfig}\ninclude ./auth.conf\n`);
  const wrapper = path.join(dir, 'nats-server');
  const exports = Object.entries(SERVER_ENV)
    .map(([k, v]) => `export ${k}='${v}'`)
    .join('\n');
  await writeFile(wrapper, `#!/bin/sh\n${exports}\nexec '${NATS_BINARY}' "$@"\n`);
  await chmod(wrapper, 0o755);

  let server: NatsServerHandle;
  try {
    server = await startNatsServer({ configFile, binary: wrapper });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const conns: NatsConnection[] = [];
  const seen = new Map<NatsConnection, PermissionViolationError[]>();

  return {
    server,
    async connectAs(user, options = {}) {
      const inboxPrefix = options.inboxPrefix === undefined ? INBOX[user] : options.inboxPrefix;
      const nc = await connect({
        servers: server.url,
        user,
        pass: options.pass ?? PASSWORDS[user],
        reconnect: false,
        name: `test-${user}`,
        ...(inboxPrefix ? { inboxPrefix } : {}),
      });
      conns.push(nc);
      const list: PermissionViolationError[] = [];
      seen.set(nc, list);
      void (async () => {
        for await (const s of nc.status()) {
          if (s.type === 'error' && s.error instanceof errors.PermissionViolationError) list.push(s.error);
        }
      })();
      return nc;
    },
    violations(nc) {
      return seen.get(nc) ?? [];
    },
    async stop() {
      await Promise.all(conns.map((c) => c.close().catch(() => undefined)));
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** How many messages on exactly `subject` the stream holds (read by a fully privileged connection). */
export async function storedOn(admin: NatsConnection, stream: string, subject: string): Promise<number> {
  const jsm = await jetstreamManager(admin);
  const info = await jsm.streams.info(stream, { subjects_filter: subject });
  return info.state.subjects?.[subject] ?? 0;
}

/** The stream's last sequence: it moves with every message stored, overwrites of a KV key included. */
export async function lastSeq(admin: NatsConnection, stream: string): Promise<number> {
  return (await (await jetstreamManager(admin)).streams.info(stream)).state.last_seq;
}

/** Server log lines that report a permission violation by `user`. */
export function violationLog(server: NatsServerHandle, user: User): string[] {
  return server
    .logs()
    .split('\n')
    .filter((l) => /Violation/.test(l) && l.includes(`"${user}"`));
}
