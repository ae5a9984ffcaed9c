/**
 * A private 3-node nats-server JetStream cluster on loopback, for the chaos suite's cluster scenarios (nats.js
 * `nst` NatsServer.cluster style): every node has random client and route ports, its own store dir and a fixed
 * server name, and routes to the other two. A node can be SIGKILLed and restarted on the same ports and store
 * (the rest of the cluster then catches it up), or restarted gracefully, as a rolling upgrade would.
 *
 * Fails fast, with the install hint, when nats-server is missing (see ./nats-server.ts).
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { NatsServerHandle, StartNatsServerOptions } from './nats-server.js';
import { freePort, startNatsServer } from './nats-server.js';

const CLUSTER_NAME = 'vapora-test';

export interface NatsClusterNode {
  /** Server name (`n1`…`n3`): what stream info reports as leader and replicas. */
  readonly name: string;
  readonly server: NatsServerHandle;
}

export interface NatsClusterHandle {
  readonly nodes: readonly NatsClusterNode[];
  /** Every node's client URL, comma-separated (the form NATS_URL takes). */
  readonly url: string;
  readonly urls: readonly string[];
  /** The node whose name the stream's cluster info gives as leader. */
  leaderOf(stream: string): Promise<NatsClusterNode>;
  /** Resolves once the JetStream meta leader answers and `replicas`-way placement is possible. */
  waitReady(timeoutMs?: number): Promise<void>;
  /** Stops every node and removes the store dirs. Idempotent. */
  stop(): Promise<void>;
}

export interface StartNatsClusterOptions extends Pick<StartNatsServerOptions, 'debug' | 'startTimeoutMs'> {
  /** Number of nodes. Default 3. */
  size?: number;
}

export async function startNatsCluster(opts: StartNatsClusterOptions = {}): Promise<NatsClusterHandle> {
  const size = opts.size ?? 3;
  const routePorts: number[] = [];
  while (routePorts.length < size) {
    const port = await freePort();
    if (!routePorts.includes(port)) routePorts.push(port);
  }
  const routes = routePorts.map((port) => `nats-route://127.0.0.1:${port}`).join(',');
  const started = await Promise.allSettled(
    routePorts.map((port, i) =>
      startNatsServer({
        ...opts,
        extraArgs: [
          '--server_name',
          `n${i + 1}`,
          '--cluster_name',
          CLUSTER_NAME,
          '--cluster',
          `nats://127.0.0.1:${port}`,
          '--routes',
          routes,
        ],
      }),
    ),
  );
  const servers = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.all(servers.map((s) => s.stop()));
    throw failed.reason;
  }
  const nodes = servers.map((server, i) => ({ name: `n${i + 1}`, server }));
  const urls = nodes.map((n) => n.server.url);

  const cluster: NatsClusterHandle = {
    nodes,
    urls,
    url: urls.join(','),
    async leaderOf(stream) {
      const nc = await connect({ servers: [...urls], name: 'cluster-probe' });
      try {
        const info = await (await jetstreamManager(nc)).streams.info(stream);
        const node = nodes.find((n) => n.name === info.cluster?.leader);
        if (!node) throw new Error(`stream ${stream} has no leader among ${nodes.map((n) => n.name)}`);
        return node;
      } finally {
        await nc.close();
      }
    },
    async waitReady(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      const nc = await connect({ servers: [...urls], name: 'cluster-probe' });
      try {
        for (;;) {
          try {
            const jsm = await jetstreamManager(nc, { timeout: 2_000 });
            // Answered by the meta leader only; a fresh cluster says "temporarily unavailable" until elected.
            await jsm.getAccountInfo();
            const probe = `READY_PROBE_${Date.now()}`;
            await jsm.streams.add({ name: probe, subjects: [`ready.${probe}`], num_replicas: size });
            await jsm.streams.delete(probe);
            return;
          } catch (err) {
            if (Date.now() > deadline) {
              throw new Error(`nats cluster not ready after ${timeoutMs} ms: ${(err as Error).message}`, {
                cause: err,
              });
            }
            await new Promise((resolve) => setTimeout(resolve, 250));
          }
        }
      } finally {
        await nc.close();
      }
    },
    async stop() {
      await Promise.all(nodes.map((n) => n.server.stop()));
    },
  };
  return cluster;
}
