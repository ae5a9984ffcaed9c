/**
 * Every environment variable the worker, the CLI and the demo read, written once. This schema drives parsing and
 * validation (env-parse.ts), each command's `--help` and the README's table (env-docs.ts): a variable added here
 * appears in all three, and nowhere else needs to know its default or range.
 *
 * Names and default values are a contract with deployments (k8s/, provisioning/): change them only with a migration note.
 * Values are the parsed types; the environment's strings are coerced by env-parse.ts before they are checked.
 */
import type { Static, TSchema } from '@sinclair/typebox';
import { Type } from '@sinclair/typebox';
import { DEFAULT_POLICY, POLICIES } from '../domain/policy/registry.js';

/** Which part of the product reads a variable; a command's help lists the variables of the groups it uses. */
export type EnvGroup = 'nats' | 'kg' | 'worker';

/** Annotations beyond JSON Schema, kept on each variable's schema. */
export interface EnvAnnotations {
  group: EnvGroup;
  /** One sentence for operators; `code` in backticks (stripped in terminal help). */
  description: string;
  /** The unit of a number; the parsed config names it in the field (`…Ms`). */
  unit?: 'ms';
  /** URL schemes accepted (`nats` for `nats://…`). */
  schemes?: readonly string[];
  /** Several URLs separated by commas are accepted. */
  list?: boolean;
  /** Must be set together with this other variable, or neither. */
  together?: string;
}

const DAY_MS = 86_400_000;
/** A whole number and a unit: ms, s, m (minutes), h or d. */
const DURATION_PATTERN = '^[0-9]+(ms|s|m|h|d)$';
const DURATION_UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: DAY_MS };

/** Milliseconds of a duration that matched DURATION_PATTERN (`90d`, `2m`). */
export function durationMs(text: string): number {
  const match = new RegExp(DURATION_PATTERN).exec(text);
  if (!match) throw new RangeError(`not a duration: ${JSON.stringify(text)} (e.g. 90d, 12h, 2m)`);
  return Number.parseInt(text, 10) * (DURATION_UNIT_MS[match[1]!] ?? 1);
}
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const nats = (annotations: Omit<EnvAnnotations, 'group'>) => ({ group: 'nats' as const, ...annotations });
const kg = (annotations: Omit<EnvAnnotations, 'group'>) => ({ group: 'kg' as const, ...annotations });
const worker = (annotations: Omit<EnvAnnotations, 'group'>) => ({ group: 'worker' as const, ...annotations });
const optionalString = (annotations: EnvAnnotations) => Type.Optional(Type.String({ ...annotations }));

export const EnvSchema = Type.Object({
  NATS_URL: Type.String({
    default: 'nats://127.0.0.1:4222',
    ...nats({
      description: 'NATS server URL, or several separated by commas; `tls://` forces TLS',
      schemes: ['nats', 'tls', 'ws', 'wss'],
      list: true,
    }),
  }),
  NATS_USER: optionalString(nats({ description: 'NATS user name', together: 'NATS_PASS' })),
  NATS_PASS: optionalString(nats({ description: 'password of `NATS_USER`' })),
  NATS_TOKEN: optionalString(nats({ description: 'token authentication, instead of a user and password' })),
  NATS_CREDS: optionalString(
    nats({ description: 'path of a `.creds` file (JWT and NKey seed), instead of a user and password' }),
  ),
  NATS_TLS_CA: optionalString(
    nats({ description: 'CA bundle (PEM) that signed the NATS server certificate; enables TLS' }),
  ),
  NATS_TLS_CERT: optionalString(
    nats({
      description: 'client certificate (PEM), for a server that verifies clients (mutual TLS)',
      together: 'NATS_TLS_KEY',
    }),
  ),
  NATS_TLS_KEY: optionalString(nats({ description: 'private key (PEM) of `NATS_TLS_CERT`' })),

  SURREAL_URL: Type.String({
    default: 'surrealkv://.vapora/kg',
    ...kg({
      description:
        'knowledge graph: `mem://` (tests), `surrealkv://<dir>` or `rocksdb://<dir>` (embedded, one process per store), ' +
        '`ws(s)://host:port/rpc` or `http(s)://…` (SurrealDB server)',
      schemes: ['mem', 'surrealkv', 'rocksdb', 'ws', 'wss', 'http', 'https'],
    }),
  }),
  KG_RETENTION: Type.String({
    default: '90d',
    pattern: DURATION_PATTERN,
    ...kg({
      description:
        'how long executions are kept as rows (e.g. `90d`, `12h`, `2m`); older ones are rolled up into daily ' +
        'aggregates and deleted, except the 100 most recent of each agent and task type',
    }),
  }),
  SURREAL_NS: Type.String({ default: 'vapora', ...kg({ description: 'SurrealDB namespace' }) }),
  SURREAL_DB: Type.String({ default: 'kg', ...kg({ description: 'SurrealDB database' }) }),
  SURREAL_USER: optionalString(kg({ description: 'SurrealDB user (server URLs only)' })),
  SURREAL_PASS: optionalString(kg({ description: 'password of `SURREAL_USER`' })),

  HTTP_PORT: Type.Integer({
    default: 8080,
    minimum: 0,
    maximum: 65535,
    ...worker({
      description:
        '`/healthz`, `/readyz` (NATS connected, KG reachable, streams present) and `/metrics`; `0` picks a free port',
    }),
  }),
  LOG_LEVEL: Type.Union(
    LOG_LEVELS.map((level) => Type.Literal(level)),
    {
      default: 'info',
      ...worker({
        description: 'pino level; JSON logs bound to subject, stream sequence, delivery count and ids',
      }),
    },
  ),
  WORKER_CONCURRENCY: Type.Integer({
    default: 16,
    minimum: 1,
    maximum: 1024,
    ...worker({ description: 'messages in flight per consumer per replica' }),
  }),
  SHUTDOWN_GRACE_MS: Type.Integer({
    default: 20_000,
    minimum: 0,
    maximum: 600_000,
    ...worker({
      unit: 'ms',
      description: 'on SIGTERM: stop pulling, finish in-flight work for at most this long, drain, exit',
    }),
  }),
  APPLY_STREAMS: Type.Boolean({
    default: true,
    ...worker({ description: 'create or update the streams, consumers and buckets of `streams/` at start' }),
  }),
  UNASSIGNABLE_AFTER_MS: Type.Integer({
    default: 300_000,
    minimum: 0,
    maximum: 7 * DAY_MS,
    ...worker({
      unit: 'ms',
      description:
        'how long a task may wait with no live agent able to take it (a full one only delays it) before it is published as unassignable',
    }),
  }),
  USE_RECENCY: Type.Boolean({
    default: false,
    ...worker({
      description:
        'deprecated, same as `POLICY=seed-recency`; ignored when `POLICY` or `POLICY_SPLIT` is set',
    }),
  }),
  POLICY: Type.Union(
    POLICIES.map((name) => Type.Literal(name)),
    {
      default: DEFAULT_POLICY,
      ...worker({ description: 'the decision policy (docs/policies.md)' }),
    },
  ),
  POLICY_SPLIT: optionalString(
    worker({
      description: 'A/B split instead of `POLICY`, e.g. `thompson:90,seed:10`, sticky per taskId',
    }),
  ),
  POLICY_BUDGET_CENTS_PER_TASK: optionalString(
    worker({
      description: 'mean spend per task (cents, > 0) that `cost-aware` paces to; required by it',
    }),
  ),
  POLICY_EPSILON: optionalString(
    worker({
      description:
        'share of decisions `thompson` and `cost-aware` make uniformly at random, [0, 1) (default 0); gives every candidate the propensity `replay` of other policies needs',
    }),
  ),
  STREAM_REPLICAS: Type.Integer({
    default: 1,
    minimum: 1,
    maximum: 5,
    ...worker({
      description:
        'replicas of streams and buckets created at start or by `streams apply` (3 in a production cluster)',
    }),
  }),
  ASSIGNMENT_TIMEOUT_MS: Type.Integer({
    default: 600_000,
    minimum: 100,
    maximum: 30 * DAY_MS,
    ...worker({
      unit: 'ms',
      description: "how long an agent may hold a task before it is reassigned (a task's `timeoutMs` wins)",
    }),
  }),
  TIMEOUT_COUNTS_AS_FAILURE: Type.Boolean({
    default: true,
    ...worker({ description: 'record a timed-out assignment as a failed execution of that agent' }),
  }),
  SWEEP_INTERVAL_MS: Type.Integer({
    default: 1000,
    minimum: 50,
    maximum: 600_000,
    ...worker({ unit: 'ms', description: 'how often each replica looks for timed-out assignments' }),
  }),
  AGENTS: optionalString(
    worker({
      description:
        'the agent roster, id[:role[:maxConcurrent]],… (the list `auth render --agents` takes): role and capacity ceiling of each agent; unset: heartbeats declare them',
    }),
  ),
});

export type EnvName = keyof typeof EnvSchema.properties;
/** The environment after parsing: numbers, booleans and levels, default values filled in. */
export type EnvValues = Static<typeof EnvSchema>;
export type EnvVariableSchema = TSchema & EnvAnnotations;

/** Every variable in schema order (the order of help and docs). */
export const ENV_NAMES = Object.keys(EnvSchema.properties) as EnvName[];

export function envVariable(name: EnvName): EnvVariableSchema {
  return EnvSchema.properties[name] as unknown as EnvVariableSchema;
}

/** The variables of some groups, in schema order. */
export function envNamesOf(...groups: readonly EnvGroup[]): EnvName[] {
  return ENV_NAMES.filter((name) => groups.includes(envVariable(name).group));
}
