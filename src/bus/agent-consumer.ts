/**
 * Each agent's durable pull consumer of its own assignments. The worker creates it (agents hold no permission to
 * create consumers, which would let one choose a deliver subject into another's data): at start for every agent
 * of the roster, and on an agent's first heartbeat.
 */
import type { JetStreamManager } from '@nats-io/jetstream';
import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { isConsumerNotFound } from './errors.js';
import { Consumers, Streams, Subjects } from './subjects.js';

/** Handlers may run long: the SDK tells the server it is still working every ACK_WAIT/2. */
export const AGENT_ACK_WAIT_MS = 60_000;

/** Creates the consumer, or brings its max_ack_pending to `maxConcurrent`. Idempotent. */
export async function ensureAgentConsumer(
  jsm: JetStreamManager,
  agentId: string,
  maxConcurrent: number,
): Promise<'created' | 'updated' | 'unchanged'> {
  const name = Consumers.agent(agentId);
  try {
    const info = await jsm.consumers.info(Streams.assignments, name);
    if (info.config.max_ack_pending === maxConcurrent) return 'unchanged';
    await jsm.consumers.update(Streams.assignments, name, { max_ack_pending: maxConcurrent });
    return 'updated';
  } catch (err) {
    if (!isConsumerNotFound(err)) throw err;
  }
  await jsm.consumers.add(Streams.assignments, {
    durable_name: name,
    filter_subject: Subjects.assignment(agentId),
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(AGENT_ACK_WAIT_MS),
    // The server never hands an agent more unacknowledged assignments than its ceiling.
    max_ack_pending: maxConcurrent,
  });
  return 'created';
}
