/**
 * What differs between streams/ and the server, setting by setting. Pure: `applyTopology` reads the server's
 * config, asks this module for the drift, sends the patch, and then asks again to prove the server took it.
 */
import type { BucketSpec } from './topology-spec.js';

/** One setting whose server value differs from streams/ (both in streams/'s names and units). */
export interface SettingChange {
  setting: string;
  desired: unknown;
  actual: unknown;
}

export interface Drift {
  changes: SettingChange[];
  /** The server-side fields to send in an update (NATS API names and units). */
  patch: Record<string, unknown>;
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * Every field `desired` sets that the server holds with another value. Fields `desired` leaves out are the
 * server's business (default values it adds, state it keeps), so they never count as drift.
 */
export function configDrift(desired: object, actual: object): Drift {
  const server = actual as Record<string, unknown>;
  const changes: SettingChange[] = [];
  const patch: Record<string, unknown> = {};
  for (const [setting, value] of Object.entries(desired)) {
    if (value === undefined || same(server[setting], value)) continue;
    changes.push({ setting, desired: value, actual: server[setting] });
    patch[setting] = value;
  }
  return { changes, patch };
}

const NS_PER_MS = 1_000_000;

/** How each bucket setting maps onto its KV_<name> stream (as nats.js `Kvm.create` does). */
const BUCKET_FIELDS: {
  setting: keyof BucketSpec;
  field: string;
  want(spec: BucketSpec, replicas: number | undefined): unknown;
  fromServer(value: unknown): unknown;
}[] = [
  { setting: 'history', field: 'max_msgs_per_subject', want: (s) => s.history ?? 1, fromServer: (v) => v },
  {
    setting: 'ttl_ms',
    field: 'max_age',
    // No TTL is max_age 0 on the server; a bucket that has one while streams/ has none has drifted too.
    want: (s) => s.ttl_ms ?? 0,
    fromServer: (v) => (typeof v === 'number' ? v / NS_PER_MS : v),
  },
  { setting: 'max_value_size', field: 'max_msg_size', want: (s) => s.max_value_size, fromServer: (v) => v },
  { setting: 'max_bytes', field: 'max_bytes', want: (s) => s.max_bytes, fromServer: (v) => v },
  { setting: 'storage', field: 'storage', want: (s) => s.storage ?? 'file', fromServer: (v) => v },
  { setting: 'replicas', field: 'num_replicas', want: (s, r) => r ?? s.replicas ?? 1, fromServer: (v) => v },
  { setting: 'description', field: 'description', want: (s) => s.description, fromServer: (v) => v },
];

/** The drift of a bucket: changes in buckets.json's names and units, the patch in the stream's. */
export function bucketDrift(spec: BucketSpec, replicas: number | undefined, actual: object): Drift {
  const server = actual as Record<string, unknown>;
  const changes: SettingChange[] = [];
  const patch: Record<string, unknown> = {};
  for (const f of BUCKET_FIELDS) {
    const want = f.want(spec, replicas);
    const have = f.fromServer(server[f.field]);
    if (want === undefined || same(want, have)) continue;
    changes.push({ setting: f.setting, desired: want, actual: have });
    patch[f.field] = f.setting === 'ttl_ms' ? (want as number) * NS_PER_MS : want;
  }
  // The server refuses a duplicate window longer than max_age, and KV streams get one equal to a short TTL.
  const maxAge = patch['max_age'];
  const window = server['duplicate_window'];
  if (typeof maxAge === 'number' && maxAge > 0 && typeof window === 'number' && window > maxAge)
    patch['duplicate_window'] = maxAge;
  return { changes, patch };
}

const show = (v: unknown): string => (v === undefined ? 'unset' : JSON.stringify(v));

/** `max_bytes 1048576 → 1073741824`: server value first, then what streams/ wants. */
export function formatChange(c: SettingChange): string {
  return `${c.setting} ${show(c.actual)} → ${show(c.desired)}`;
}
