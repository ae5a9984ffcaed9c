/**
 * Probes and metrics on one port: /healthz (the process is alive and not wedged: starting or running),
 * /readyz (running, NATS connected, KG reachable, streams and buckets present), /metrics (Prometheus).
 */
import type { Server } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Readiness } from './readiness.js';

export interface ProbeServer {
  port: number;
  close(): Promise<void>;
}

export interface ProbeServerOptions {
  /** 0 picks a free port. */
  port: number;
  /** Read per request: a caller that serves probes before the worker exists swaps it in later. */
  registry: () => Registry;
  readiness: () => Promise<Readiness>;
  isAlive: () => boolean;
}

export async function startProbeServer(options: ProbeServerOptions): Promise<ProbeServer> {
  const { registry, readiness, isAlive } = options;
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const reply = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    if (path === '/healthz') {
      const alive = isAlive();
      reply(alive ? 200 : 503, alive ? 'ok\n' : 'not alive: shutting down or failed\n');
      return;
    }
    if (path === '/readyz') {
      void readiness().then(
        (r) => reply(r.ready ? 200 : 503, `${JSON.stringify(r)}\n`, 'application/json'),
        (err: unknown) => reply(500, String(err)),
      );
      return;
    }
    if (path === '/metrics') {
      const current = registry();
      void current.metrics().then(
        (text) => reply(200, text, current.contentType),
        (err: unknown) => reply(500, String(err)),
      );
      return;
    }
    reply(404, 'not found: try /healthz, /readyz or /metrics\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
