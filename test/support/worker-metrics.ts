/**
 * Reading a worker from the outside, as Prometheus does: its /metrics endpoint over HTTP. Tests pick the probe
 * port themselves (HTTP_PORT) so they need nothing from the Worker object but its configuration.
 */
import { get } from 'node:http';
import { createServer } from 'node:net';

/** A port that was free a moment ago (listen on 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function metricsText(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path: '/metrics', agent: false, timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () =>
        res.statusCode === 200 ? resolve(body) : reject(new Error(`/metrics: HTTP ${res.statusCode}`)),
      );
    });
    req.on('timeout', () => req.destroy(new Error('/metrics: timeout')));
    req.on('error', reject);
  });
}

/**
 * The sum of the samples of counter `name` whose labels include every one of `labels` (0 when there is none),
 * e.g. metric(port, 'vapora_results_total', { outcome: 'duplicate' }).
 */
export async function metric(
  port: number,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  let sum = 0;
  for (const line of (await metricsText(port)).split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = (match[2] ?? '').split(',');
    if (wanted.every((label) => have.includes(label))) sum += Number(match[3]);
  }
  return sum;
}
