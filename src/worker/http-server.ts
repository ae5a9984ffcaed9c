/**
 * Probes and metrics on one port: /healthz (the process is alive and not wedged), /readyz (NATS connected, KG
 * reachable, streams and buckets present), /metrics (Prometheus).
 */
import type { Server } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface ReadinessCheck {
  name: string;
  check: () => Promise<void>;
}

export interface ProbeServer {
  port: number;
  close(): Promise<void>;
}

export async function startProbeServer(
  port: number,
  registry: Registry,
  readiness: readonly ReadinessCheck[],
  isAlive: () => boolean,
): Promise<ProbeServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const reply = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    if (path === '/healthz') {
      reply(isAlive() ? 200 : 503, isAlive() ? 'ok\n' : 'shutting down\n');
      return;
    }
    if (path === '/readyz') {
      void Promise.all(
        readiness.map(async ({ name, check }) => {
          try {
            await withTimeout(check(), 2000);
            return { name, ok: true as const };
          } catch (err) {
            return { name, ok: false as const, error: err instanceof Error ? err.message : String(err) };
          }
        }),
      ).then((checks) => {
        const ready = isAlive() && checks.every((c) => c.ok);
        reply(ready ? 200 : 503, `${JSON.stringify({ ready, checks })}\n`, 'application/json');
      });
      return;
    }
    if (path === '/metrics') {
      void registry.metrics().then(
        (text) => reply(200, text, registry.contentType),
        (err: unknown) => reply(500, String(err)),
      );
      return;
    }
    reply(404, 'not found: try /healthz, /readyz or /metrics\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => resolve());
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

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
