/**
 * Reading dead letters back: what `publishDeadLetter` wrote, as a record an operator (CLI, dashboard) can act on,
 * and the headers a replay re-publishes. Pure functions over header pairs, so they are unit-tested without NATS.
 */
import { DlqHeaders } from './dead-letter.js';
import { Subjects } from './subjects.js';

/** One dead letter as stored in VAPORA_DLQ. */
export interface DeadLetterRecord {
  /** Sequence in VAPORA_DLQ: what `dlq replay <seq>` takes. */
  seq: number;
  /** The DLQ subject, `vapora.dlq.<origin without vapora.>`. */
  subject: string;
  /** The subject the message was first published on (where a replay goes). */
  origin: string;
  reason: string;
  error?: string;
  /** Stream and sequence of the original message, which still holds its full bytes until that stream's max_age. */
  originStream?: string;
  originSeq?: number;
  deliveries?: number;
  receivedAt: string;
  /** Set when the stored payload is only the head of the original (the original size in bytes). */
  truncatedFrom?: number;
  /** The original message's Nats-Msg-Id, if it had one. */
  originalMsgId?: string;
  size: number;
}

export type HeaderPairs = readonly (readonly [string, readonly string[]])[];

/** Marks a replayed message, for logs and for whoever reads the origin stream later: `VAPORA_DLQ:<seq>`. */
export const REPLAYED_FROM_HEADER = 'Vapora-Replayed-From';

/** The legacy copy of the original message id (see dead-letter.ts); never restored. */
const LEGACY_MSG_ID = 'Vapora-Original-Msg-Id';

const lower = (s: string) => s.toLowerCase();

function first(pairs: HeaderPairs, name: string): string | undefined {
  const found = pairs.find(([key]) => lower(key) === lower(name));
  return found?.[1][0];
}

const int = (text: string | undefined): number | undefined => {
  if (text === undefined) return undefined;
  const n = Number(text);
  return Number.isInteger(n) ? n : undefined;
};

/** The origin subject of a DLQ subject, when the Vapora-Dlq-Origin header is missing (a hand-made dead letter). */
export function originOfDlqSubject(dlqSubject: string): string {
  const prefix = 'vapora.dlq.';
  return dlqSubject.startsWith(prefix) ? `vapora.${dlqSubject.slice(prefix.length)}` : dlqSubject;
}

export function toDeadLetterRecord(
  seq: number,
  subject: string,
  pairs: HeaderPairs,
  size: number,
  storedAt: Date,
): DeadLetterRecord {
  const error = first(pairs, DlqHeaders.error);
  const originStream = first(pairs, DlqHeaders.stream);
  const originSeq = int(first(pairs, DlqHeaders.sequence));
  const deliveries = int(first(pairs, DlqHeaders.deliveries));
  const truncatedFrom = int(first(pairs, DlqHeaders.truncated));
  const originalMsgId =
    first(pairs, `${DlqHeaders.originalPrefix}Nats-Msg-Id`) ?? first(pairs, LEGACY_MSG_ID);
  return {
    seq,
    subject,
    origin: first(pairs, DlqHeaders.origin) ?? originOfDlqSubject(subject),
    reason: first(pairs, DlqHeaders.reason) ?? '(no reason recorded)',
    ...(error !== undefined ? { error } : {}),
    ...(originStream !== undefined ? { originStream } : {}),
    ...(originSeq !== undefined ? { originSeq } : {}),
    ...(deliveries !== undefined ? { deliveries } : {}),
    receivedAt: first(pairs, DlqHeaders.receivedAt) ?? storedAt.toISOString(),
    ...(truncatedFrom !== undefined ? { truncatedFrom } : {}),
    ...(originalMsgId !== undefined ? { originalMsgId } : {}),
    size,
  };
}

/**
 * The headers a replay publishes with. Kept: the original's own application headers (e.g. the worker's
 * reassignment attempt), which the dead letter stored unchanged. Dropped: every Vapora-Dlq-* header, and every
 * original `Nats-*` header. Restoring those would be wrong: `Nats-Expected-*` would now fail, `Nats-Rollup` or
 * `Nats-TTL` would act again, and the original `Nats-Msg-Id` would be discarded as a duplicate of the original
 * while it is still inside the stream's duplicate window. The replay's own message id comes from
 * {@link replayMsgId}; the original id travels as Vapora-Replay-Original-Msg-Id for the logs.
 */
export function replayHeaders(pairs: HeaderPairs, dlqSeq: number): [string, string][] {
  const out: [string, string][] = [];
  let originalMsgId: string | undefined;
  for (const [key, values] of pairs) {
    const k = lower(key);
    if (k === lower(`${DlqHeaders.originalPrefix}Nats-Msg-Id`) || k === lower(LEGACY_MSG_ID)) {
      originalMsgId ??= values[0];
      continue;
    }
    if (k.startsWith('vapora-dlq-') || k.startsWith('nats-') || k === lower(REPLAYED_FROM_HEADER)) continue;
    for (const value of values) out.push([key, value]);
  }
  out.push([REPLAYED_FROM_HEADER, `VAPORA_DLQ:${dlqSeq}`]);
  if (originalMsgId !== undefined) out.push(['Vapora-Replay-Original-Msg-Id', originalMsgId]);
  return out;
}

/**
 * The Nats-Msg-Id of a replay: one per dead letter, so replaying it twice within the origin stream's duplicate
 * window stores it once. Beyond the window the consumers' own idempotency holds (tasks by taskId, results by
 * (task, attempt, agent) evidence key), and `dlq replay` deletes the dead letter once it is re-published.
 */
export const replayMsgId = (dlqSeq: number): string => `vapora-dlq-replay-${dlqSeq}`;

/**
 * The DLQ filter subject for an `--origin` given as an origin subject or pattern, with or without the `vapora.`
 * prefix: `vapora.results.*`, `results.>`, `tasks.arrived`.
 */
export function dlqFilterOf(origin: string | undefined): string {
  if (origin === undefined || origin.trim() === '') return 'vapora.dlq.>';
  const subject = origin.startsWith('vapora.') ? origin : `vapora.${origin}`;
  return Subjects.deadLetter(subject);
}

const UNITS_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `--since`: a duration back from now (`90s`, `15m`, `2h`, `7d`) or an ISO date; null when neither. */
export function parseSince(text: string, now: Date): Date | null {
  const match = /^(\d+)([smhd])$/.exec(text.trim());
  if (match) return new Date(now.getTime() - Number(match[1]) * UNITS_MS[match[2]!]!);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text)) return null;
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : new Date(at);
}
