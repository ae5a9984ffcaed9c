/**
 * When is a 3-node cluster whole again? Every stream and bucket of the topology has a leader and all its
 * followers are current: what an operator (or an upgrade script) waits for before taking down the next node.
 */
import type { JetStreamManager } from '@nats-io/jetstream';
import { loadTopology } from '../../src/bus/topology.js';
import { bucketStreamName } from '../../src/bus/topology-spec.js';
import { waitFor } from '../support/wait-for.js';

export async function topologyStreamNames(): Promise<string[]> {
  const topology = await loadTopology();
  return [...topology.streams.map((s) => s.name), ...topology.buckets.map((b) => bucketStreamName(b.name))];
}

/** Names of streams whose group lacks a leader or has a follower that is not current (or is missing). */
export async function unhealthyStreams(
  jsm: JetStreamManager,
  names: readonly string[],
  replicas: number,
): Promise<string[]> {
  const unhealthy: string[] = [];
  for (const name of names) {
    try {
      const { cluster } = await jsm.streams.info(name);
      const followers = cluster?.replicas ?? [];
      const whole =
        cluster?.leader !== undefined &&
        followers.length === replicas - 1 &&
        followers.every((peer) => peer.current && !peer.offline);
      if (!whole) unhealthy.push(name);
    } catch {
      unhealthy.push(name); // no answer (leader election, reconnecting) is not healthy either
    }
  }
  return unhealthy;
}

export async function waitClusterHealthy(
  jsm: JetStreamManager,
  names: readonly string[],
  replicas: number,
  timeoutMs = 60_000,
): Promise<void> {
  let last: string[] = [];
  await waitFor(
    async () => {
      last = await unhealthyStreams(jsm, names, replicas);
      return last.length === 0;
    },
    { timeoutMs, intervalMs: 250, what: () => `every stream whole again (still: ${last.join(', ')})` },
  );
}
