/**
 * Worker configuration, compiled once from the environment into a frozen object with normalised units (…Ms).
 * What each variable means, its default and its range live in env-schema.ts; this file only shapes the parsed
 * values into the objects the worker, the CLI and the agent SDK take.
 */
import type { AgentSpec } from '../domain/index.js';
import { parseAgentSpecs } from '../domain/index.js';
import { ConfigError } from '../errors.js';
import type { ConfigProblem, EnvSource } from './env-parse.js';
import { parseEnv } from './env-parse.js';
import type { EnvName, EnvValues, LOG_LEVELS } from './env-schema.js';
import { EnvSchema, durationMs, envNamesOf } from './env-schema.js';
import type { PolicyPlan } from './policy-plan.js';
import { policyPlanOf } from './policy-plan.js';

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

/** Each field comes from the variable named in its comment; default values and ranges are in env-schema.ts. */
export interface WorkerConfig {
  nats: NatsConfig;
  kg: KgConfig;
  /** HTTP_PORT: probes and metrics; 0 picks a free port. */
  httpPort: number;
  /** LOG_LEVEL. */
  logLevel: (typeof LOG_LEVELS)[number];
  /** WORKER_CONCURRENCY: messages processed at once per consumer in this replica. */
  concurrency: number;
  /** SHUTDOWN_GRACE_MS: time SIGTERM allows for in-flight work before the process exits anyway. */
  shutdownGraceMs: number;
  /** APPLY_STREAMS: create or update streams, consumers and buckets at start. */
  applyStreams: boolean;
  /** UNASSIGNABLE_AFTER_MS: how long a task may wait for an eligible agent before it is published as unassignable. */
  unassignableAfterMs: number;
  /** USE_RECENCY: rank on the recency-weighted success rate (deprecated: POLICY=seed-recency). */
  useRecency: boolean;
  /** POLICY, or POLICY_SPLIT, with POLICY_BUDGET_CENTS_PER_TASK and POLICY_EPSILON: which policy decides which task. */
  policy: PolicyPlan;
  /** STREAM_REPLICAS: replicas for streams and buckets created at start (3 in a production cluster). */
  streamReplicas: number;
  /** ASSIGNMENT_TIMEOUT_MS: how long an agent may hold a task before it is reassigned (a task's `timeoutMs` wins). */
  assignmentTimeoutMs: number;
  /** TIMEOUT_COUNTS_AS_FAILURE: record a timed-out assignment in the KG as a failed execution (error "timeout"). */
  timeoutCountsAsFailure: boolean;
  /** SWEEP_INTERVAL_MS: how often each replica looks for timed-out assignments. */
  sweepIntervalMs: number;
  /** KG_RETENTION in ms: executions older than this are rolled up and deleted (the 100 most recent per pair stay). */
  kgRetentionMs: number;
  /** The operator's agent roster (AGENTS); undefined: heartbeats declare role and capacity. */
  agents?: readonly AgentSpec[];
}

export type { ConfigProblem, EnvSource } from './env-parse.js';
export type { EnvName, EnvValues } from './env-schema.js';
export type { PolicyArm, PolicyPlan } from './policy-plan.js';

export const DEFAULT_NATS_URL: string = EnvSchema.properties.NATS_URL.default;
export const DEFAULT_SURREAL_URL: string = EnvSchema.properties.SURREAL_URL.default;

const NATS_VARS = envNamesOf('nats');
const KG_VARS = envNamesOf('kg');
const WORKER_VARS = envNamesOf('nats', 'kg', 'worker');

/**
 * The named variables, parsed and checked, or a ConfigError listing every problem (one line, `; `-separated).
 * For commands that read a variable or two outside the three configs below (`streams apply`: STREAM_REPLICAS).
 */
export function loadEnv<K extends EnvName>(
  names: readonly K[],
  env: EnvSource = process.env,
): Readonly<Pick<EnvValues, K>> {
  const parsed = parseEnv(names, env);
  if (!parsed.ok) throw configError(parsed.problems);
  return Object.freeze(parsed.values);
}

export function loadWorkerConfig(env: EnvSource = process.env): Readonly<WorkerConfig> {
  const v = loadEnv(WORKER_VARS, env);
  const agents = v.AGENTS === undefined ? undefined : rosterOf(v.AGENTS);
  const plan = policyPlanOf({
    POLICY: v.POLICY,
    policySet: (env.POLICY?.trim() ?? '') !== '',
    USE_RECENCY: v.USE_RECENCY,
    ...(v.POLICY_SPLIT === undefined ? {} : { POLICY_SPLIT: v.POLICY_SPLIT }),
    ...(v.POLICY_BUDGET_CENTS_PER_TASK === undefined
      ? {}
      : { POLICY_BUDGET_CENTS_PER_TASK: v.POLICY_BUDGET_CENTS_PER_TASK }),
    ...(v.POLICY_EPSILON === undefined ? {} : { POLICY_EPSILON: v.POLICY_EPSILON }),
  });
  if (!plan.ok) throw configError(plan.problems);
  return deepFreeze({
    ...(agents ? { agents } : {}),
    nats: natsConfig(v),
    kg: kgConfig(v),
    httpPort: v.HTTP_PORT,
    logLevel: v.LOG_LEVEL,
    concurrency: v.WORKER_CONCURRENCY,
    shutdownGraceMs: v.SHUTDOWN_GRACE_MS,
    applyStreams: v.APPLY_STREAMS,
    unassignableAfterMs: v.UNASSIGNABLE_AFTER_MS,
    useRecency: v.USE_RECENCY,
    policy: plan.plan,
    streamReplicas: v.STREAM_REPLICAS,
    assignmentTimeoutMs: v.ASSIGNMENT_TIMEOUT_MS,
    timeoutCountsAsFailure: v.TIMEOUT_COUNTS_AS_FAILURE,
    sweepIntervalMs: v.SWEEP_INTERVAL_MS,
    kgRetentionMs: durationMs(v.KG_RETENTION),
  });
}

/** NATS settings alone, for the CLI and the agent SDK. */
export function loadNatsConfig(env: EnvSource = process.env): Readonly<NatsConfig> {
  return deepFreeze(natsConfig(loadEnv(NATS_VARS, env)));
}

export function loadKgConfig(env: EnvSource = process.env): Readonly<KgConfig> {
  return deepFreeze(kgConfig(loadEnv(KG_VARS, env)));
}

function rosterOf(text: string): AgentSpec[] {
  try {
    return parseAgentSpecs(text);
  } catch (err) {
    throw configError([{ variable: 'AGENTS', value: text, message: `AGENTS: ${(err as Error).message}` }]);
  }
}

function configError(problems: readonly ConfigProblem[]): ConfigError {
  return new ConfigError(`invalid configuration: ${problems.map((p) => p.message).join('; ')}`);
}

function natsConfig(v: Pick<EnvValues, (typeof NATS_VARS)[number]>): NatsConfig {
  const tls = omitUndefined({ caFile: v.NATS_TLS_CA, certFile: v.NATS_TLS_CERT, keyFile: v.NATS_TLS_KEY });
  const hasTls = tls.caFile !== undefined || tls.certFile !== undefined;
  return omitUndefined({
    url: v.NATS_URL,
    user: v.NATS_USER,
    pass: v.NATS_PASS,
    token: v.NATS_TOKEN,
    credsFile: v.NATS_CREDS,
    tls: hasTls ? tls : undefined,
  });
}

function kgConfig(v: Pick<EnvValues, (typeof KG_VARS)[number]>): KgConfig {
  return omitUndefined({
    url: v.SURREAL_URL,
    namespace: v.SURREAL_NS,
    database: v.SURREAL_DB,
    username: v.SURREAL_USER,
    password: v.SURREAL_PASS,
  });
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
