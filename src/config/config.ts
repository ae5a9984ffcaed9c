/**
 * Worker configuration, compiled once from the environment into a frozen object with normalised units (…Ms).
 * Every problem names the variable, so an operator can fix a manifest without reading code.
 */
import type { AgentSpec } from '../domain/index.js';
import { ConfigError } from '../errors.js';

export interface NatsConfig {
  url: string;
  user?: string;
  pass?: string;
  token?: string;
  credsFile?: string;
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
}

export interface KgConfig {
  url: string;
  namespace: string;
  database: string;
  username?: string;
  password?: string;
}

export interface WorkerConfig {
  nats: NatsConfig;
  kg: KgConfig;
  httpPort: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Messages processed at once per consumer in this replica. @default 16 */
  concurrency: number;
  /** Time SIGTERM allows for in-flight work before the process exits anyway. @default 20000 */
  shutdownGraceMs: number;
  /** Create or update streams, consumers and buckets at start. @default true */
  applyStreams: boolean;
  /** How long a task may wait for an eligible agent before it is published as unassignable. @default 300000 */
  unassignableAfterMs: number;
  /** Rank on the recency-weighted success rate. @default false */
  useRecency: boolean;
  /** Replicas for streams and buckets created at start (3 in a production cluster). @default 1 */
  streamReplicas: number;
  /** How long an agent may hold a task before it is reassigned (a task's `timeoutMs` overrides). @default 600000 */
  assignmentTimeoutMs: number;
  /** Record a timed-out assignment in the KG as a failed execution (error "timeout"). @default true */
  timeoutCountsAsFailure: boolean;
  /** How often each replica looks for timed-out assignments. @default 1000 */
  sweepIntervalMs: number;
  /** The operator's agent roster (AGENTS); undefined: heartbeats declare role and capacity. */
  agents?: readonly AgentSpec[];
}

export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';
export const DEFAULT_SURREAL_URL = 'surrealkv://.vapora/kg';
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

type Env = Readonly<Record<string, string | undefined>>;

class EnvReader {
  readonly problems: string[] = [];
  constructor(private readonly env: Env) {}

  string(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      this.problems.push(`${name}=${JSON.stringify(raw)} must be an integer from ${min} to ${max}`);
      return fallback;
    }
    return value;
  }

  boolean(name: string, fallback: boolean): boolean {
    const raw = this.string(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
    if (['0', 'false', 'no', 'off'].includes(raw)) return false;
    this.problems.push(`${name}=${JSON.stringify(raw)} must be true or false`);
    return fallback;
  }

  url(name: string, fallback: string, schemes: readonly string[]): string {
    const raw = this.string(name) ?? fallback;
    const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(raw)?.[1]?.toLowerCase();
    if (!scheme || !schemes.includes(scheme)) {
      this.problems.push(
        `${name}=${JSON.stringify(raw)} must start with one of ${schemes.map((s) => `${s}://`).join(', ')}`,
      );
    }
    return raw;
  }
}

/** Parses NATS connection settings; shared by the worker, the CLI and the agent SDK. */
export function natsConfigFromEnv(reader: EnvReader): NatsConfig {
  const url = reader.url('NATS_URL', DEFAULT_NATS_URL, ['nats', 'tls', 'ws', 'wss']);
  const user = reader.string('NATS_USER');
  const pass = reader.string('NATS_PASS');
  if ((user === undefined) !== (pass === undefined))
    reader.problems.push('NATS_USER and NATS_PASS must be set together');
  const tls = {
    caFile: reader.string('NATS_TLS_CA'),
    certFile: reader.string('NATS_TLS_CERT'),
    keyFile: reader.string('NATS_TLS_KEY'),
  };
  if ((tls.certFile === undefined) !== (tls.keyFile === undefined)) {
    reader.problems.push('NATS_TLS_CERT and NATS_TLS_KEY must be set together');
  }
  const hasTls = tls.caFile !== undefined || tls.certFile !== undefined;
  return omitUndefined({
    url,
    user,
    pass,
    token: reader.string('NATS_TOKEN'),
    credsFile: reader.string('NATS_CREDS'),
    tls: hasTls ? omitUndefined(tls) : undefined,
  });
}

export function kgConfigFromEnv(reader: EnvReader): KgConfig {
  return omitUndefined({
    url: reader.url('SURREAL_URL', DEFAULT_SURREAL_URL, ['mem', 'surrealkv', 'ws', 'wss', 'http', 'https']),
    namespace: reader.string('SURREAL_NS') ?? 'vapora',
    database: reader.string('SURREAL_DB') ?? 'kg',
    username: reader.string('SURREAL_USER'),
    password: reader.string('SURREAL_PASS'),
  });
}

export function loadWorkerConfig(env: Env = process.env): Readonly<WorkerConfig> {
  const reader = new EnvReader(env);
  const logLevel = (reader.string('LOG_LEVEL') ?? 'info').toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    reader.problems.push(`LOG_LEVEL=${JSON.stringify(logLevel)} must be one of ${LOG_LEVELS.join(', ')}`);
  }
  const config: WorkerConfig = {
    nats: natsConfigFromEnv(reader),
    kg: kgConfigFromEnv(reader),
    httpPort: reader.integer('HTTP_PORT', 8080, 0, 65535),
    logLevel: (LOG_LEVELS as readonly string[]).includes(logLevel)
      ? (logLevel as WorkerConfig['logLevel'])
      : 'info',
    concurrency: reader.integer('WORKER_CONCURRENCY', 16, 1, 1024),
    shutdownGraceMs: reader.integer('SHUTDOWN_GRACE_MS', 20_000, 0, 600_000),
    applyStreams: reader.boolean('APPLY_STREAMS', true),
    unassignableAfterMs: reader.integer('UNASSIGNABLE_AFTER_MS', 300_000, 0, 7 * 86_400_000),
    useRecency: reader.boolean('USE_RECENCY', false),
    streamReplicas: reader.integer('STREAM_REPLICAS', 1, 1, 5),
    assignmentTimeoutMs: reader.integer('ASSIGNMENT_TIMEOUT_MS', 600_000, 100, 30 * 86_400_000),
    timeoutCountsAsFailure: reader.boolean('TIMEOUT_COUNTS_AS_FAILURE', true),
    sweepIntervalMs: reader.integer('SWEEP_INTERVAL_MS', 1000, 50, 600_000),
  };
  if (reader.problems.length > 0) {
    throw new ConfigError(`invalid configuration: ${reader.problems.join('; ')}`);
  }
  return deepFreeze(config);
}

/** NATS settings alone, for the CLI and the agent SDK. */
export function loadNatsConfig(env: Env = process.env): Readonly<NatsConfig> {
  const reader = new EnvReader(env);
  const nats = natsConfigFromEnv(reader);
  if (reader.problems.length > 0)
    throw new ConfigError(`invalid configuration: ${reader.problems.join('; ')}`);
  return deepFreeze(nats);
}

export function loadKgConfig(env: Env = process.env): Readonly<KgConfig> {
  const reader = new EnvReader(env);
  const kg = kgConfigFromEnv(reader);
  if (reader.problems.length > 0)
    throw new ConfigError(`invalid configuration: ${reader.problems.join('; ')}`);
  return deepFreeze(kg);
}

function omitUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
