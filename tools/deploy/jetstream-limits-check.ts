// The NATS storage limits must hold what streams/ declares. A stream's max_bytes is reserved when it is created:
// the account (auth.conf) reserves it once per replica, each node (nats.conf max_file_store) once. Limits too small
// make the worker fail at start with "insufficient storage resources"; no limits at all let a flood fill the disk.
import { problem, type DeployProblem } from './problem.js';

export const NATS_CONF = 'k8s/base/nats/nats.conf';
export const AUTH_CONF = 'k8s/base/nats/auth.conf';

export interface JetStreamLimitsInput {
  /** Text of nats.conf and auth.conf, when present. */
  natsConf?: string;
  authConf?: string;
  /** max_bytes of every stream and KV bucket in streams/ (`name` for messages). */
  declared: readonly { name: string; maxBytes: number | undefined }[];
  /** Copies of each stream in production (STREAM_REPLICAS). */
  replicas: number;
}

const UNITS: Record<string, number> = {
  '': 1,
  k: 1e3,
  kb: 1024,
  ki: 1024,
  kib: 1024,
  m: 1e6,
  mb: 1024 ** 2,
  mi: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1e9,
  gb: 1024 ** 3,
  gi: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1e12,
  tb: 1024 ** 4,
  ti: 1024 ** 4,
  tib: 1024 ** 4,
};

/** A nats-server size (`9GB`, `256MB`, `1024`) in bytes, with the server's suffixes; undefined when unreadable. */
export function natsSize(text: string): number | undefined {
  const m = /^(\d+)\s*([a-z]*)$/i.exec(text.trim());
  const unit = m ? UNITS[(m[2] ?? '').toLowerCase()] : undefined;
  return m && unit !== undefined ? Number(m[1]) * unit : undefined;
}

/** `key: value` (or `key = value`) anywhere in `text`, comments stripped. */
function setting(text: string, key: string): string | undefined {
  const clean = text.replace(/#.*$/gm, '');
  return new RegExp(`^\\s*${key}\\s*[:=]\\s*([^\\s,}]+)`, 'm').exec(clean)?.[1];
}

/** The body of the account's `jetstream: { … }` block in auth.conf (undefined for `jetstream: enabled`). */
function accountJetStream(text: string): string | undefined {
  const clean = text.replace(/#.*$/gm, '');
  const m = /\bjetstream\s*[:=]?\s*\{([^}]*)\}/.exec(clean);
  return m?.[1];
}

const gib = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(2)} GiB`;

export function checkJetStreamLimits(input: JetStreamLimitsInput): DeployProblem[] {
  const out: DeployProblem[] = [];
  const unbounded = input.declared.filter((d) => !(typeof d.maxBytes === 'number' && d.maxBytes > 0));
  for (const d of unbounded)
    out.push(
      problem('streams', `${d.name} max_bytes`, 'not set: every stream and bucket needs a byte bound'),
    );
  const perNode = input.declared.reduce((sum, d) => sum + (d.maxBytes ?? 0), 0);

  if (input.natsConf !== undefined) {
    const raw = setting(input.natsConf, 'max_file_store');
    const store = raw === undefined ? undefined : natsSize(raw);
    if (store === undefined)
      out.push(problem(NATS_CONF, 'jetstream.max_file_store', 'not set or unreadable'));
    else if (store < perNode)
      out.push(
        problem(
          NATS_CONF,
          'jetstream.max_file_store',
          `${raw} is less than the ${gib(perNode)} streams/ reserves on each node`,
        ),
      );
  }

  if (input.authConf !== undefined) {
    const js = accountJetStream(input.authConf);
    if (js === undefined) {
      out.push(
        problem(AUTH_CONF, 'accounts jetstream', 'no limits: set max_mem, max_file and max_bytes_required'),
      );
      return out;
    }
    const raw = setting(js, 'max_file') ?? setting(js, 'max_store');
    const file = raw === undefined ? undefined : natsSize(raw);
    const cluster = perNode * input.replicas;
    if (file === undefined)
      out.push(problem(AUTH_CONF, 'accounts jetstream.max_file', 'not set or unreadable'));
    else if (file < cluster)
      out.push(
        problem(
          AUTH_CONF,
          'accounts jetstream.max_file',
          `${raw} is less than the ${gib(cluster)} streams/ reserves (${gib(perNode)} × ${input.replicas} replicas)`,
        ),
      );
    if ((setting(js, 'max_mem') ?? setting(js, 'max_memory')) === undefined)
      out.push(problem(AUTH_CONF, 'accounts jetstream.max_mem', 'not set'));
    if (setting(js, 'max_bytes_required') !== 'true')
      out.push(
        problem(
          AUTH_CONF,
          'accounts jetstream.max_bytes_required',
          'must be true (no stream without a byte bound)',
        ),
      );
  }
  return out;
}
