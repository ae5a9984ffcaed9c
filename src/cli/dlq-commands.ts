/**
 * `dlq list | replay | purge`: dead letters an operator can act on. Reading uses an ordered consumer (nothing
 * durable is left behind); a replay re-publishes the original bytes to the original subject with an id derived
 * from the dead letter's sequence, then deletes the dead letter, so replaying twice counts once (see
 * src/bus/dead-letter-record.ts for which headers are restored and why).
 */
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { DeliverPolicy, jetstreamManager } from '@nats-io/jetstream';
import type { MsgHdrs } from '@nats-io/transport-node';
import { headers } from '@nats-io/transport-node';
import type { DeadLetterRecord, HeaderPairs } from '../bus/dead-letter-record.js';
import {
  dlqFilterOf,
  parseSince,
  replayHeaders,
  replayMsgId,
  toDeadLetterRecord,
} from '../bus/dead-letter-record.js';
import { Streams } from '../bus/subjects.js';
import { ErrorCodes, VaporaError } from '../errors.js';
import { UsageError } from './command.js';
import { openNats } from './context.js';
import { table } from './render.js';

type Out = (line: string) => void;

export interface DlqFilter {
  origin?: string;
  since?: string;
  /** Only dead letters whose reason contains this text (case-insensitive). */
  reason?: string;
}

interface StoredDeadLetter {
  record: DeadLetterRecord;
  data: Uint8Array;
  pairs: HeaderPairs;
}

const pairsOf = (h: MsgHdrs | undefined): HeaderPairs => (h ? [...h].map(([k, v]) => [k, [...v]]) : []);

function sinceOf(filter: DlqFilter, now: Date): Date | undefined {
  if (filter.since === undefined) return undefined;
  const at = parseSince(filter.since, now);
  if (at === null)
    throw new UsageError(`--since needs a duration (30m, 2h, 7d) or an ISO date, got '${filter.since}'`);
  return at;
}

/** Every dead letter matching the filter, oldest first. */
async function readDeadLetters(
  js: JetStreamClient,
  jsm: JetStreamManager,
  filter: DlqFilter,
): Promise<StoredDeadLetter[]> {
  const since = sinceOf(filter, new Date());
  const info = await jsm.streams.info(Streams.deadLetters).catch((err: unknown) => {
    throw new VaporaError(
      ErrorCodes.TopologyMissing,
      `stream ${Streams.deadLetters} is not readable; run 'vapora-learning streams apply' or start the worker`,
      { cause: err },
    );
  });
  if (info.state.messages === 0) return [];
  const consumer = await js.consumers.get(Streams.deadLetters, {
    filter_subjects: dlqFilterOf(filter.origin),
    ...(since
      ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: since.toISOString() }
      : { deliver_policy: DeliverPolicy.All }),
  });
  const found: StoredDeadLetter[] = [];
  const needle = filter.reason?.toLowerCase();
  // Batches until the consumer has nothing pending; an empty batch (nothing matches) ends after `expires`.
  for (;;) {
    let seen = 0;
    let pending = 0;
    const batch = await consumer.fetch({ max_messages: 1000, expires: 1000 });
    for await (const m of batch) {
      seen += 1;
      pending = m.info.pending;
      const pairs = pairsOf(m.headers);
      const record = toDeadLetterRecord(
        m.seq,
        m.subject,
        pairs,
        m.data.length,
        new Date(m.info.timestampNanos / 1e6),
      );
      if (needle === undefined || record.reason.toLowerCase().includes(needle))
        found.push({ record, data: m.data, pairs });
      if (pending === 0) break;
    }
    if (seen === 0 || pending === 0) break;
  }
  return found;
}

function age(iso: string, now: number): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172_800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86_400)}d`;
}

export async function dlqList(filter: DlqFilter, json: boolean, out: Out): Promise<void> {
  const ctx = await openNats('vapora-learning-cli');
  try {
    const letters = await readDeadLetters(ctx.js, await jetstreamManager(ctx.nc), filter);
    if (json) {
      for (const { record } of letters) out(JSON.stringify(record));
      return;
    }
    if (letters.length === 0) {
      out('no dead letters match');
      return;
    }
    const now = Date.now();
    out(
      table(
        ['seq', 'age', 'origin', 'from', 'reason', 'error'],
        letters.map(({ record: r }) => [
          r.seq,
          age(r.receivedAt, now),
          r.origin,
          r.originStream !== undefined ? `${r.originStream}:${r.originSeq ?? '?'}` : '',
          r.reason,
          r.error ?? '',
        ]),
      ),
    );
    out(`${letters.length} dead letter(s); replay one with 'vapora-learning dlq replay <seq>'`);
  } finally {
    await ctx.close();
  }
}

export interface ReplayOptions {
  seq?: number;
  allMatching?: DlqFilter;
  /** Keep the dead letter after re-publishing it (default: delete it, so the list shows what is left). */
  keep?: boolean;
}

/**
 * Re-publishes dead letters; returns how many were re-published. A truncated dead letter is replayed from the
 * original message, still in its stream under Vapora-Dlq-Sequence, or refused when that is gone.
 */
export async function dlqReplay(options: ReplayOptions, out: Out): Promise<number> {
  const ctx = await openNats('vapora-learning-cli');
  try {
    const jsm = await jetstreamManager(ctx.nc);
    let letters: StoredDeadLetter[];
    if (options.seq !== undefined) {
      const stored = await jsm.streams.getMessage(Streams.deadLetters, { seq: options.seq });
      if (stored === null || !stored.subject.startsWith('vapora.dlq.')) {
        throw new VaporaError(
          ErrorCodes.InvalidInput,
          `no dead letter with sequence ${options.seq} in ${Streams.deadLetters} (replayed or purged already?)`,
        );
      }
      const pairs = pairsOf(stored.header);
      letters = [
        {
          record: toDeadLetterRecord(stored.seq, stored.subject, pairs, stored.data.length, stored.time),
          data: stored.data,
          pairs,
        },
      ];
    } else {
      letters = await readDeadLetters(ctx.js, jsm, options.allMatching ?? {});
    }
    let replayed = 0;
    for (const letter of letters) {
      const { record } = letter;
      const data = await originalBytes(jsm, letter);
      if (data === null) {
        out(
          `seq ${record.seq}: skipped: the dead letter holds only the first ${record.size} of ${record.truncatedFrom} bytes and ${record.originStream}:${record.originSeq} is gone`,
        );
        continue;
      }
      const h = headers();
      for (const [key, value] of replayHeaders(letter.pairs, record.seq)) h.append(key, value);
      const ack = await ctx.js.publish(record.origin, data, { headers: h, msgID: replayMsgId(record.seq) });
      if (!options.keep) await jsm.streams.deleteMessage(Streams.deadLetters, record.seq, false);
      replayed += 1;
      out(
        `seq ${record.seq}: re-published to ${record.origin} (${ack.stream}:${ack.seq}${ack.duplicate ? ', duplicate of an earlier replay' : ''})${options.keep ? '' : ', dead letter deleted'}`,
      );
    }
    if (letters.length === 0) out('no dead letters match');
    return replayed;
  } finally {
    await ctx.close();
  }
}

async function originalBytes(jsm: JetStreamManager, letter: StoredDeadLetter): Promise<Uint8Array | null> {
  const { record } = letter;
  if (record.truncatedFrom === undefined) return letter.data;
  if (record.originStream === undefined || record.originSeq === undefined) return null;
  const original = await jsm.streams
    .getMessage(record.originStream, { seq: record.originSeq })
    .catch(() => null);
  return original && original.subject === record.origin ? original.data : null;
}

/** Purges matching dead letters; without `yes` it only says how many it would purge, and returns 1. */
export async function dlqPurge(origin: string | undefined, yes: boolean, out: Out): Promise<number> {
  const ctx = await openNats('vapora-learning-cli');
  try {
    const jsm = await jetstreamManager(ctx.nc);
    const filter = dlqFilterOf(origin);
    const info = await jsm.streams.info(Streams.deadLetters, { subjects_filter: filter });
    const count = Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
    if (!yes) {
      out(
        `would purge ${count} dead letter(s) on ${filter}; nothing done. Re-run with --yes to purge them (this cannot be undone).`,
      );
      return 1;
    }
    const response = await jsm.streams.purge(Streams.deadLetters, { filter });
    out(`purged ${response.purged} dead letter(s) on ${filter}`);
    return 0;
  } finally {
    await ctx.close();
  }
}
