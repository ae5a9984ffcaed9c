/**
 * The shared state a worker replica reads and writes: four KV buckets, three of them mirrored in memory.
 */
import type { JetStreamClient } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { KvCache } from '../bus/kv-cache.js';
import { Buckets } from '../bus/subjects.js';
import type { AgentRegistration, CapacityRecord, ProfileRecord } from '../domain/index.js';
import { AgentRegistrationSchema, decodeValue } from '../domain/index.js';

export interface Stores {
  agentsKv: KV;
  profilesKv: KV;
  capacityKv: KV;
  tasksKv: KV;
  agents: KvCache<AgentRegistration>;
  profiles: KvCache<ProfileRecord>;
  capacity: KvCache<CapacityRecord>;
}

/** Mirrors resynchronise on every reconnect of `nc` (when given) and reconcile with their bucket every `reconcileMs`. */
export async function openStores(
  js: JetStreamClient,
  log: Logger,
  mirror: { nc?: NatsConnection; reconcileMs?: number } = {},
): Promise<Stores> {
  const kvm = new Kvm(js);
  const [agentsKv, profilesKv, capacityKv, tasksKv] = await Promise.all([
    kvm.open(Buckets.agents),
    kvm.open(Buckets.profiles),
    kvm.open(Buckets.capacity),
    kvm.open(Buckets.tasks),
  ]);
  const agents = new KvCache<AgentRegistration>(
    agentsKv,
    (entry) => {
      const decoded = decodeValue(AgentRegistrationSchema, entry.json());
      if (!decoded.ok) {
        log.warn({ key: entry.key, reason: decoded.reason }, 'ignoring invalid agent registration');
        return undefined;
      }
      // The key is the identity (only the worker writes this bucket); a payload naming another agent is ignored.
      if (decoded.value.agentId !== entry.key) {
        log.warn(
          { key: entry.key, agentId: decoded.value.agentId },
          'ignoring a registration under another key',
        );
        return undefined;
      }
      return decoded.value;
    },
    log,
    { ...mirror, name: Buckets.agents },
  );
  const profiles = new KvCache<ProfileRecord>(profilesKv, (entry) => entry.json<ProfileRecord>(), log, {
    ...mirror,
    name: Buckets.profiles,
  });
  const capacity = new KvCache<CapacityRecord>(capacityKv, (entry) => entry.json<CapacityRecord>(), log, {
    ...mirror,
    name: Buckets.capacity,
  });
  await Promise.all([agents.start(), profiles.start(), capacity.start()]);
  return { agentsKv, profilesKv, capacityKv, tasksKv, agents, profiles, capacity };
}

/** Every mirror has read its bucket since the last disconnect, with its watch running. */
export function mirrorsBehind(stores: Stores): string[] {
  const behind: string[] = [];
  if (!stores.agents.current) behind.push(Buckets.agents);
  if (!stores.profiles.current) behind.push(Buckets.profiles);
  if (!stores.capacity.current) behind.push(Buckets.capacity);
  return behind;
}

export async function closeStores(stores: Stores): Promise<void> {
  await Promise.all([stores.agents.stop(), stores.profiles.stop(), stores.capacity.stop()]);
}
