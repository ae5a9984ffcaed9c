/**
 * The topology applied to a real 3-node cluster at 3 replicas (what the worker does at start with
 * STREAM_REPLICAS=3), including while the cluster has lost its quorum: creation waits for the cluster instead of
 * failing on the first timeout, and every stream and bucket ends up with three current replicas.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { connect } from '@nats-io/transport-node';
import { applyTopology, loadTopology } from '../../src/bus/topology.js';
import { topologyStreamNames, unhealthyStreams } from '../chaos/cluster-health.js';
import type { NatsClusterHandle } from '../support/nats-cluster.js';
import { startNatsCluster } from '../support/nats-cluster.js';
import { waitFor } from '../support/wait-for.js';

let cluster: NatsClusterHandle;
let nc: NatsConnection;

beforeAll(async () => {
  cluster = await startNatsCluster();
  await cluster.waitReady();
  // Connected to the node that stays up, so that the test's own connection is not what fails.
  nc = await connect({ servers: cluster.nodes[0]!.server.url, maxReconnectAttempts: -1 });
}, 60_000);
afterAll(async () => {
  await nc?.close();
  await cluster?.stop();
});

describe('applyTopology on a 3-node cluster', () => {
  it('waits out a lost quorum, then creates everything with 3 replicas', async () => {
    const [, second, third] = cluster.nodes;
    await Promise.all([second!.server.kill9(), third!.server.kill9()]);
    // One node of three: no meta leader, every JetStream request times out or is refused as unavailable.
    const applying = applyTopology(nc, await loadTopology(), { replicas: 3, requestTimeoutMs: 2_000 });
    const outcome = applying.then(
      () => 'applied',
      (err: unknown) => `failed: ${(err as Error).message}`,
    );
    // Still waiting after several request timeouts (the old code failed on the first).
    const early = await Promise.race([
      outcome,
      new Promise((resolve) => setTimeout(() => resolve('waiting'), 5_000).unref()),
    ]);
    expect(early).toBe('waiting');
    await Promise.all([second!.server.restart(), third!.server.restart()]);
    expect(await outcome).toBe('applied');

    const jsm = await jetstreamManager(nc);
    const names = await topologyStreamNames();
    let unhealthy: string[] = [];
    await waitFor(async () => (unhealthy = await unhealthyStreams(jsm, names, 3)).length === 0, {
      timeoutMs: 30_000,
      intervalMs: 250,
      what: () => `three current replicas everywhere (still: ${unhealthy.join(', ')})`,
    });
    for (const name of names) expect((await jsm.streams.info(name)).config.num_replicas).toBe(3);
  }, 120_000);
});
