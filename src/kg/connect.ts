/**
 * Opens a {@link KnowledgeGraph} from a URL.
 *
 * | URL | engine | notes |
 * |---|---|---|
 * | `mem://` | embedded (@surrealdb/node) | per connection, gone on close; tests and benches |
 * | `surrealkv://<dir>` | embedded | local default; parent dir created; single process per store |
 * | `rocksdb://<dir>` | embedded | the same on RocksDB; measured: a reopen in the same process never settles |
 * | `ws://`, `wss://`, `http://`, `https://` | remote | signs in as root user when username/password are given |
 *
 * Every failure to connect (unsupported scheme, unreachable server, bad credentials, store locked by another
 * process, timeout) rejects with a KgUnavailableError naming the URL and the likely fix.
 *
 * Embedded-engine caveats handled here (measured with @surrealdb/node 3.0.3):
 * - Opening a surrealkv directory held by another process (or not yet released by this one) does not fail: the
 *   native connect waits forever. Hence `connectTimeoutMs`.
 * - `close()` resolves before the native store has released its file lock (release takes tens of ms, async). A
 *   reopen of the same directory in that window deadlocks, so connect waits out a settle period after a close done
 *   by this process.
 * - `DEFINE INDEX` leaks the store for the life of the process (see ./surreal-schema.ts), so fresh surrealkv stores
 *   get their schema from a child process (./surreal-index-bootstrap.ts), and mem:// stores drop their index on close.
 */
import { mkdir, readdir } from 'node:fs/promises';
import { dirname, resolve as resolvePath } from 'node:path';
import { createNodeEngines } from '@surrealdb/node';
import { createRemoteEngines, Surreal, type ConnectOptions } from 'surrealdb';
import { sleep, withTimeout } from './bounded.js';
import { KgUnavailableError, isKgUnavailable } from '../errors.js';
import type { KnowledgeGraph } from './knowledge-graph.js';
import { bootstrapEmbeddedStore } from './surreal-index-bootstrap.js';
import { SurrealKnowledgeGraph } from './surreal-knowledge-graph.js';
import {
  FULL_SCHEMA_SURQL,
  applyTableAndFields,
  defineRecencyIndex,
  hasRecencyIndex,
} from './surreal-schema.js';

export interface KnowledgeGraphConfig {
  url: string;
  /** Default `vapora`. */
  namespace?: string;
  /** Default `kg`. */
  database?: string;
  /** Root user for remote servers; ignored by embedded engines. */
  username?: string;
  password?: string;
  /** Bound for opening the store (and creating a fresh one). Default 10 000 ms. */
  connectTimeoutMs?: number;
}

const SUPPORTED = 'mem://, surrealkv://<dir>, rocksdb://<dir>, ws://, wss://, http://, https://';
/** Measured: 50 ms sufficed for the lock release here; 250 ms leaves a margin on slower disks. */
const LOCK_RELEASE_SETTLE_MS = 250;
/** Absolute store path → time after which this process's last close of it has released the file lock. */
const lockReleasedAt = new Map<string, number>();

export async function connectKnowledgeGraph(config: KnowledgeGraphConfig): Promise<KnowledgeGraph> {
  const namespace = config.namespace ?? 'vapora';
  const database = config.database ?? 'kg';
  const timeoutMs = config.connectTimeoutMs ?? 10_000;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(config.url)?.[1]?.toLowerCase();

  switch (scheme) {
    case 'mem':
      return connectMemory(config.url, namespace, database, timeoutMs);
    case 'surrealkv':
    case 'rocksdb':
      return connectSurrealKv(config.url, namespace, database, timeoutMs, scheme);
    case 'ws':
    case 'wss':
    case 'http':
    case 'https':
      return connectRemote(config, scheme, namespace, database, timeoutMs);
    default:
      throw new KgUnavailableError(
        `unsupported knowledge-graph URL ${JSON.stringify(config.url)}: use one of ${SUPPORTED} ` +
          '(e.g. surrealkv://./.vapora/kg locally, ws://surrealdb:8000/rpc in Kubernetes)',
      );
  }
}

async function connectMemory(url: string, namespace: string, database: string, timeoutMs: number) {
  const db = await open(
    url,
    new Surreal({ engines: createNodeEngines() }),
    { namespace, database },
    timeoutMs,
    '',
  );
  await applySchema(db, url, timeoutMs, async () => {
    await applyTableAndFields(db);
    await defineRecencyIndex(db);
  });
  return new SurrealKnowledgeGraph(db, { description: url, removeIndexOnClose: true });
}

/** An embedded on-disk store: `surrealkv://<dir>` or `rocksdb://<dir>` (same handling, another engine). */
async function connectSurrealKv(
  url: string,
  namespace: string,
  database: string,
  timeoutMs: number,
  scheme: 'surrealkv' | 'rocksdb' = 'surrealkv',
) {
  const rawPath = url.slice(url.indexOf('://') + 3);
  if (rawPath === '') {
    throw new KgUnavailableError(`knowledge-graph URL ${url} has no directory: use ${scheme}://<dir>`);
  }
  const dir = resolvePath(rawPath);
  const absoluteUrl = `${scheme}://${dir}`;
  try {
    await mkdir(dirname(dir), { recursive: true });
  } catch (err) {
    throw new KgUnavailableError(`cannot create the parent directory of ${url}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const wait = (lockReleasedAt.get(dir) ?? 0) - Date.now();
  if (wait > 0) await sleep(wait);

  if (await isMissingOrEmpty(dir)) {
    await bootstrapEmbeddedStore({
      url: absoluteUrl,
      namespace,
      database,
      surql: FULL_SCHEMA_SURQL,
      timeoutMs,
    });
  }
  const hint =
    ' The embedded engine is single-process: is another process (or an unclosed connection in this one) using it?';
  const db = await open(
    absoluteUrl,
    new Surreal({ engines: createNodeEngines() }),
    { namespace, database },
    timeoutMs,
    hint,
  );
  await applySchema(db, url, timeoutMs, async () => {
    await applyTableAndFields(db);
    // Only a store created by something else lacks the index. Defining it here is correct but leaks the store
    // (the process will need an explicit exit, and cannot reopen this directory): correctness over tidiness.
    if (!(await hasRecencyIndex(db))) await defineRecencyIndex(db);
  });
  return new SurrealKnowledgeGraph(db, {
    description: url,
    onClosed: () => lockReleasedAt.set(dir, Date.now() + LOCK_RELEASE_SETTLE_MS),
  });
}

async function connectRemote(
  config: KnowledgeGraphConfig,
  scheme: string,
  namespace: string,
  database: string,
  timeoutMs: number,
) {
  // Node 20 has no global WebSocket; the SDK would crash the process with "WebSocketImpl is not a constructor".
  if (
    (scheme === 'ws' || scheme === 'wss') &&
    typeof (globalThis as { WebSocket?: unknown }).WebSocket !== 'function'
  ) {
    throw new KgUnavailableError(
      `cannot connect to ${config.url}: this Node.js (${process.version}) has no WebSocket. ` +
        'Use Node 22+, start node with --experimental-websocket, or use the http(s):// URL of the same server.',
    );
  }
  const options: ConnectOptions = { namespace, database };
  if (config.username !== undefined) {
    options.authentication = { username: config.username, password: config.password ?? '' };
  }
  const hint =
    ' Is the SurrealDB server running and reachable, and are the URL (…/rpc) and credentials right?';
  const db = await open(
    config.url,
    new Surreal({ engines: createRemoteEngines() }),
    options,
    timeoutMs,
    hint,
  );
  await applySchema(db, config.url, timeoutMs, async () => {
    await applyTableAndFields(db);
    await defineRecencyIndex(db); // IF NOT EXISTS: a no-op once any replica has defined it.
  });
  return new SurrealKnowledgeGraph(db, { description: config.url });
}

async function open(url: string, db: Surreal, options: ConnectOptions, timeoutMs: number, hint: string) {
  try {
    await withTimeout(db.connect(url, options), timeoutMs, `connect to ${url}`);
    return db;
  } catch (err) {
    void withTimeout(db.close(), 1_000, 'close').catch(() => undefined);
    throw new KgUnavailableError(
      `cannot connect to the knowledge graph at ${url}: ${(err as Error).message}.${hint}`,
      {
        cause: err,
      },
    );
  }
}

async function applySchema(db: Surreal, url: string, timeoutMs: number, apply: () => Promise<void>) {
  try {
    await withTimeout(apply(), timeoutMs, 'apply schema');
  } catch (err) {
    void withTimeout(db.close(), 1_000, 'close').catch(() => undefined);
    if (isKgUnavailable(err)) throw err;
    throw new KgUnavailableError(
      `cannot apply the knowledge-graph schema at ${url}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

async function isMissingOrEmpty(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length === 0;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw new KgUnavailableError(
      `cannot read the knowledge-graph directory ${dir}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}
