/**
 * The read-only web dashboard: one HTTP server with `/` (the page), `/events` (server-sent events: a full view
 * on connect, then after every change, at most every PUSH_INTERVAL_MS, and at least every HEARTBEAT_MS so ages
 * move), `/api/view` (the same view once, as JSON) and `/healthz`. Lifecycle: `startDashboard()` → `stop()`.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Policy } from '../domain/index.js';
import { DEFAULT_POLICY, createPolicy } from '../domain/index.js';
import type { Feed } from './feed.js';
import { startFeed } from './feed.js';
import { dashboardPage } from './page.js';
import { applyEvent, dashboardView, emptyState } from './view.js';

/** Changes are batched: a burst of results becomes one push. */
const PUSH_INTERVAL_MS = 250;
/** A push even without changes, so heartbeat ages and alive/gone stay current. */
const HEARTBEAT_MS = 2000;

export interface DashboardOptions {
  nc: NatsConnection;
  log: Logger;
  /** @default 0 (a free port) */
  port?: number;
  /** @default '127.0.0.1' (set 0.0.0.0 in a container) */
  host?: string;
  /** An agent whose registry entry is older than this shows as gone. @default 30000 (the worker's) */
  heartbeatTimeoutMs?: number;
  /** Whose view the rankings show. @default the default policy */
  policy?: Policy;
  clock?: () => Date;
}

export interface DashboardHandle {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export async function startDashboard(options: DashboardOptions): Promise<DashboardHandle> {
  const clock = options.clock ?? (() => new Date());
  const heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? 30_000;
  const state = emptyState();
  const clients = new Set<ServerResponse>();
  let dirty = true;
  let lastPush = 0;
  const page = dashboardPage();

  const policy = options.policy ?? createPolicy(DEFAULT_POLICY);
  const viewJson = () => JSON.stringify(dashboardView(state, clock(), heartbeatTimeoutMs, policy));
  const push = () => {
    if (clients.size === 0) return;
    const frame = `data: ${viewJson()}\n\n`;
    for (const res of clients) res.write(frame);
    dirty = false;
    lastPush = Date.now();
  };
  const timer = setInterval(() => {
    if (dirty || Date.now() - lastPush >= HEARTBEAT_MS) push();
  }, PUSH_INTERVAL_MS);
  timer.unref();

  let feed: Feed | undefined;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' }).end('read-only\n');
      return;
    }
    switch (path) {
      case '/':
      case '/index.html':
        res
          .writeHead(200, {
            'content-type': 'text/html; charset=utf-8',
            'cache-control': 'no-store',
            // Everything is inline; nothing may be fetched from elsewhere.
            'content-security-policy':
              "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:",
          })
          .end(page);
        return;
      case '/events':
        res.writeHead(200, {
          'content-type': 'text/event-stream',
          'cache-control': 'no-store',
          connection: 'keep-alive',
          'x-accel-buffering': 'no', // behind an nginx ingress: do not buffer the stream
        });
        res.write(`retry: 2000\ndata: ${viewJson()}\n\n`);
        clients.add(res);
        req.on('close', () => clients.delete(res));
        return;
      case '/api/view':
        res
          .writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
          .end(viewJson());
        return;
      case '/healthz':
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
        return;
      default:
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });

  try {
    feed = await startFeed(
      options.nc,
      (event) => {
        applyEvent(state, event);
        dirty = true;
      },
      options.log,
    );
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
    });
  } catch (err) {
    clearInterval(timer);
    await feed?.stop();
    server.close();
    throw err;
  }
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const shownHost = options.host === undefined || options.host === '0.0.0.0' ? '127.0.0.1' : options.host;
  return {
    url: `http://${shownHost}:${port}/`,
    port,
    async stop() {
      clearInterval(timer);
      for (const res of clients) res.end();
      clients.clear();
      await feed?.stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
