/**
 * One way to open a NATS connection for the worker, the CLI and the agent SDK: auth, TLS and reconnect policy in
 * one place. After the first connection the client reconnects forever: an outage delays work, it never ends it.
 */
import { readFileSync } from 'node:fs';
import type { NatsConnection, NodeConnectionOptions } from '@nats-io/transport-node';
import { connect, credsAuthenticator, errors } from '@nats-io/transport-node';
import type { NatsConfig } from '../config/config.js';
import { NatsUnavailableError } from '../errors.js';

export interface ConnectNatsOptions {
  /** Connection name shown by the server's monitoring. */
  name: string;
  /** Give up on the first connection after this long. @default 5000 */
  timeoutMs?: number;
  /**
   * Private reply-inbox prefix. Agents (`_INBOX.agent-<id>`) and producers (`_INBOX.producer`) need one: the
   * server's permissions let only the worker read the shared `_INBOX.>` (see k8s/base/nats/auth.conf).
   */
  inboxPrefix?: string;
}

export function natsConnectionOptions(
  config: NatsConfig,
  options: ConnectNatsOptions,
): NodeConnectionOptions {
  const servers = config.url.split(',').map((url) => url.trim().replace(/^tls:\/\//, 'nats://'));
  return {
    servers,
    name: options.name,
    timeout: options.timeoutMs ?? 5000,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1000,
    pingInterval: 10_000,
    // Without this every request and JetStream publish builds two Error objects up front (their stacks are only
    // used to annotate a timeout): 7% of the worker's CPU in the scale bench's profile. Our errors are told apart
    // by type and code, never by stack.
    noAsyncTraces: true,
    ...(options.inboxPrefix !== undefined ? { inboxPrefix: options.inboxPrefix } : {}),
    ...(config.user !== undefined ? { user: config.user, pass: config.pass } : {}),
    ...(config.token !== undefined ? { token: config.token } : {}),
    ...(config.credsFile !== undefined
      ? { authenticator: credsAuthenticator(readFileSync(config.credsFile)) }
      : {}),
    ...(config.tls !== undefined || config.url.startsWith('tls://') ? { tls: { ...config.tls } } : {}),
  };
}

/** Connects or throws NatsUnavailableError whose message says what was tried and how to fix it. */
export async function connectNats(config: NatsConfig, options: ConnectNatsOptions): Promise<NatsConnection> {
  try {
    return await connect(natsConnectionOptions(config, options));
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new NatsUnavailableError(`cannot connect to NATS at ${config.url} (${why}); ${hint(err, config)}`, {
      cause: err,
    });
  }
}

export interface WaitingConnectOptions extends ConnectNatsOptions {
  /** Each failed attempt, with the error and the pause before the next one. */
  onRetry?: (attempt: number, err: NatsUnavailableError, retryInMs: number) => void;
  /** Stops waiting: the last error is thrown. */
  signal?: AbortSignal;
  /** Give up after this long. @default no limit */
  waitMs?: number;
  /** @default 250, 5000 */
  minDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * connectNats, tried again with backoff until it connects: a process started while NATS is unreachable (a node
 * that died under both, a rollout racing the server) waits for it instead of exiting.
 */
export async function connectNatsWaiting(
  config: NatsConfig,
  options: WaitingConnectOptions,
): Promise<NatsConnection> {
  const deadline = Date.now() + (options.waitMs ?? Number.POSITIVE_INFINITY);
  for (let attempt = 1, delay = options.minDelayMs ?? 250; ; attempt += 1) {
    try {
      return await connectNats(config, options);
    } catch (err) {
      const failure = err as NatsUnavailableError;
      if (options.signal?.aborted || Date.now() + delay > deadline) throw failure;
      options.onRetry?.(attempt, failure, delay);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        options.signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
      });
      delay = Math.min(options.maxDelayMs ?? 5_000, delay * 2);
    }
  }
}

/** The likely fix for a failed first connection, so an auth or TLS problem is not reported as "no server". */
function hint(err: unknown, config: NatsConfig): string {
  if (err instanceof errors.AuthorizationError) {
    return 'the server refused the credentials: check NATS_USER/NATS_PASS (or NATS_TOKEN, NATS_CREDS)';
  }
  const message = err instanceof Error ? `${err.message} ${String(err.cause)}` : String(err);
  if (/certificate|self[- ]signed|SSL|TLS|handshake/i.test(message)) {
    return (
      'TLS failed: set NATS_TLS_CA to the CA that signed the server certificate (whose names must ' +
      'include the host in NATS_URL), and NATS_TLS_CERT/NATS_TLS_KEY if the server verifies clients'
    );
  }
  const usesTls = config.tls !== undefined || config.url.startsWith('tls://');
  return (
    'start a server with JetStream (nats-server -js) or set NATS_URL to one' +
    (usesTls && config.tls?.certFile === undefined
      ? '; if the server requires client certificates (tls verify), set NATS_TLS_CERT and NATS_TLS_KEY'
      : '')
  );
}
