/**
 * Shared support for the security suites: a private nats-server that loads the shipped
 * k8s/base/nats/auth.conf unchanged (or what `vapora-learning auth render` produces for another roster), with the
 * passwords supplied through the server's environment exactly as in Kubernetes (Secret `nats-auth`, envFrom).
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
import {
  agentInboxPrefix,
  agentPasswordVariable,
  agentUser,
  DASHBOARD_INBOX_PREFIX,
  DASHBOARD_USER,
  renderAuthConf,
} from '../../src/auth/render-auth.js';
import { parseAgentSpecs } from '../../src/domain/agent-roster.js';
import { REPO_ROOT } from '../deploy/helpers.js';
import type { NatsServerHandle } from '../support/nats-server.js';
import { natsServerBinary, startNatsServer } from '../support/nats-server.js';

export const AUTH_CONF = path.join(REPO_ROOT, 'k8s/base/nats/auth.conf');

/** The roster of the shipped auth.conf (the worker's AGENTS in k8s/base). */
export const SHIPPED_ROSTER = 'coder-1:developer:4';

/** Users of the shipped auth.conf and the passwords this suite gives them (see password()). */
export const PASSWORDS = {
  worker: 'worker-secret',
  producer: 'producer-secret',
  dashboard: 'dashboard-secret',
  'agent-coder-1': 'agent-coder-1-secret',
} as const;
/** A user of the rendered file: worker, producer, dashboard or agent-<id>. */
export type User = string;

/** The password this suite gives `user` (worker-secret, producer-secret, dashboard-secret, agent-<id>-secret). */
export const password = (user: User): string => `${user}-secret`;

/** The variables auth.conf reads from the server's environment, for a roster. */
function serverEnv(roster: string): Record<string, string> {
  return {
    VAPORA_WORKER_PASSWORD: password('worker'),
    VAPORA_PRODUCER_PASSWORD: password('producer'),
    VAPORA_DASHBOARD_PASSWORD: password('dashboard'),
    ...Object.fromEntries(
      parseAgentSpecs(roster).map((a) => [agentPasswordVariable(a.agentId), password(agentUser(a.agentId))]),
    ),
  };
}

/** The private inbox prefix each user must use (auth.conf grants agents/producers only their own). */
export function inboxOf(user: User): string | undefined {
  if (user === 'worker') return undefined;
  if (user === 'producer') return '_INBOX.producer';
  if (user === DASHBOARD_USER) return DASHBOARD_INBOX_PREFIX;
  return agentInboxPrefix(user.slice('agent-'.length));
}

export const NATS_BINARY = natsServerBinary();

export interface AuthServer {
  server: NatsServerHandle;
  /** Opens a connection as `user` (private inbox unless `inboxPrefix` overrides it); closed by stop(). */
  connectAs(user: User, options?: { inboxPrefix?: string | null; pass?: string }): Promise<NatsConnection>;
  /** Permission violations the server reported to `nc` (collected from nc.status()). */
  violations(nc: NatsConnection): PermissionViolationError[];
  stop(): Promise<void>;
}

export interface AuthServerOptions {
  /** Render auth.conf for this roster (`auth render --agents`); default: a verbatim copy of the shipped file. */
  roster?: string;
  /** Server settings before the include (e.g. limits, TLS). */
  extraConfig?: string;
}

/** Starts nats-server with `include ./auth.conf`, JetStream on. */
export async function startAuthServer(options: AuthServerOptions | string = {}): Promise<AuthServer> {
  if (NATS_BINARY === null) throw new Error('nats-server is not installed');
  const { roster, extraConfig = '' } = typeof options === 'string' ? { extraConfig: options } : options;
  const dir = await mkdtemp(path.join(tmpdir(), 'vapora-nats-auth-'));
  if (roster === undefined) await copyFile(AUTH_CONF, path.join(dir, 'auth.conf'));
  else await writeFile(path.join(dir, 'auth.conf'), renderAuthConf(parseAgentSpecs(roster)));
  // The shipped file is rendered from SHIPPED_ROSTER (validate deploy checks it): its variables follow from that.
  const vars = serverEnv(roster ?? SHIPPED_ROSTER);
  const configFile = path.join(dir, 'server.conf');
  await writeFile(configFile, `${extraConfig}\ninclude ./auth.conf\n`);
  const wrapper = path.join(dir, 'nats-server');
  const exports = Object.entries(vars)
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
      const inboxPrefix = options.inboxPrefix === undefined ? inboxOf(user) : options.inboxPrefix;
      const nc = await connect({
        servers: server.url,
        user,
        pass: options.pass ?? password(user),
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
