/**
 * Feeds the dashboard's state from NATS, read-only: KV watches of vapora_agents, vapora_profiles and
 * vapora_capacity (current values first, then every change), core subscriptions to assignments and results
 * (live from now on), and an ordered consumer over VAPORA_DLQ (every dead letter still kept, then new ones).
 * Nothing here writes, creates a durable consumer or reads the knowledge graph.
 */
import type { JsMsg } from '@nats-io/jetstream';
import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import type { KvWatchEntry } from '@nats-io/kv';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { toDeadLetterRecord } from '../bus/dead-letter-record.js';
import { Buckets, Streams, Subjects, agentIdOfTimeoutSubject } from '../bus/subjects.js';
import type { AgentRegistration, CapacityRecord, ProfileRecord } from '../domain/index.js';
import type { FeedEvent } from './view.js';

export interface Feed {
  stop(): Promise<void>;
}

type Emit = (event: FeedEvent) => void;

function parse<T>(data: Uint8Array): T | null {
  try {
    return JSON.parse(new TextDecoder().decode(data)) as T;
  } catch {
    return null;
  }
}

export async function startFeed(nc: NatsConnection, emit: Emit, log: Logger): Promise<Feed> {
  const js = jetstream(nc);
  const kvm = new Kvm(js);
  const stops: (() => void | Promise<void>)[] = [];

  const watchBucket = async (bucket: string, onEntry: (e: KvWatchEntry) => void) => {
    const kv = await kvm.open(bucket);
    const iter = await kv.watch({ key: '>' });
    stops.push(() => iter.stop());
    void (async () => {
      for await (const entry of iter) {
        try {
          onEntry(entry);
        } catch (err) {
          log.warn({ err, bucket, key: entry.key }, 'dashboard: unreadable KV entry skipped');
        }
      }
    })();
  };
  const valueOf = <T>(e: KvWatchEntry): T | null => (e.operation === 'PUT' ? parse<T>(e.value) : null);

  await watchBucket(Buckets.agents, (e) =>
    emit({ kind: 'agent', agentId: e.key, value: valueOf<AgentRegistration>(e) }),
  );
  await watchBucket(Buckets.capacity, (e) =>
    emit({ kind: 'capacity', agentId: e.key, value: valueOf<CapacityRecord>(e) }),
  );
  await watchBucket(Buckets.profiles, (e) =>
    emit({ kind: 'profile', key: e.key, value: valueOf<ProfileRecord>(e) }),
  );

  const subscribe = (subject: string, onMessage: (subject: string, data: Uint8Array) => void) => {
    const sub: Subscription = nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err) return;
        onMessage(msg.subject, msg.data);
      },
    });
    stops.push(() => sub.unsubscribe());
  };
  subscribe(Subjects.allAssignments, (_subject, data) => {
    const assignment = parse<Extract<FeedEvent, { kind: 'assignment' }>['assignment']>(data);
    if (assignment && typeof assignment.taskId === 'string' && typeof assignment.score === 'object')
      emit({ kind: 'assignment', assignment });
  });
  subscribe('vapora.results.>', (subject, data) => {
    const result = parse<Extract<FeedEvent, { kind: 'result' }>['result']>(data);
    if (result && typeof result.taskId === 'string' && typeof result.success === 'boolean')
      emit({ kind: 'result', result, timeout: agentIdOfTimeoutSubject(subject) !== null });
  });

  // Dead letters: everything the stream still holds counts, not only what arrives while the page is open.
  const consumer = await js.consumers.get(Streams.deadLetters, { deliver_policy: DeliverPolicy.All });
  const messages = await consumer.consume();
  stops.push(() => messages.stop());
  void (async () => {
    for await (const m of messages as AsyncIterable<JsMsg>) {
      const pairs = m.headers ? [...m.headers].map(([k, v]) => [k, [...v]] as const) : [];
      emit({
        kind: 'dead-letter',
        record: toDeadLetterRecord(
          m.seq,
          m.subject,
          pairs,
          m.data.length,
          new Date(m.info.timestampNanos / 1e6),
        ),
      });
    }
  })();

  return {
    async stop() {
      for (const stop of stops) await stop();
    },
  };
}
