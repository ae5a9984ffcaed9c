/**
 * Dead letters keep the original bytes as the payload (so a message that fitted the server still fits) and
 * the original headers, plus Vapora-Dlq-* headers: reason, error, origin subject, stream sequence, time.
 * Original headers the server acts on (every `Nats-*` one: message id, expected stream or sequence, rollup, TTL)
 * are kept as `Vapora-Dlq-Original-<name>`, never as themselves: a poison message carrying
 * `Nats-Expected-Stream: VAPORA_RESULTS` would otherwise be refused by the DLQ stream and redelivered forever.
 */
import type { JetStreamClient, JsMsg } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import { Subjects } from './subjects.js';

export const DlqHeaders = Object.freeze({
  reason: 'Vapora-Dlq-Reason',
  error: 'Vapora-Dlq-Error',
  origin: 'Vapora-Dlq-Origin',
  stream: 'Vapora-Dlq-Stream',
  sequence: 'Vapora-Dlq-Sequence',
  receivedAt: 'Vapora-Dlq-Received-At',
  deliveries: 'Vapora-Dlq-Deliveries',
  /** Present when the payload was cut to fit: the original size in bytes. */
  truncated: 'Vapora-Dlq-Truncated-From',
  /** Prefix of the original `Nats-*` headers, e.g. Vapora-Dlq-Original-Nats-Msg-Id. */
  originalPrefix: 'Vapora-Dlq-Original-',
});

/** Room kept for the DLQ headers on top of the original ones (reason and error are capped at 1 KiB each). */
const HEADER_ALLOWANCE = 4096;

/** Header values are single-line and bounded. */
function headerValue(text: string): string {
  const flat = text.replace(/[\r\n]+/g, ' ').trim();
  return flat.length > 1024 ? `${flat.slice(0, 1021)}...` : flat;
}

/**
 * Publishes the dead letter. A payload that fitted the server's limit may no longer fit with the added headers;
 * then its head is kept and `Vapora-Dlq-Truncated-From` gives the original size (the stream still holds the
 * original message under its sequence, in `Vapora-Dlq-Sequence`, until the stream's max_age).
 */
export async function publishDeadLetter(
  js: JetStreamClient,
  msg: JsMsg,
  reason: string,
  error: string | undefined,
  maxPayload: number,
): Promise<void> {
  const h = headers();
  if (msg.headers) {
    for (const [key, values] of msg.headers) {
      const serverActsOnIt = key.toLowerCase().startsWith('nats-');
      for (const value of values)
        h.append(serverActsOnIt ? `${DlqHeaders.originalPrefix}${key}` : key, value);
      // Kept under its earlier name too (documented contract before the prefix existed).
      if (key.toLowerCase() === 'nats-msg-id')
        for (const value of values) h.append('Vapora-Original-Msg-Id', value);
    }
  }
  h.set(DlqHeaders.reason, headerValue(reason));
  if (error) h.set(DlqHeaders.error, headerValue(error));
  h.set(DlqHeaders.origin, msg.subject);
  h.set(DlqHeaders.stream, msg.info.stream);
  h.set(DlqHeaders.sequence, String(msg.info.streamSequence));
  h.set(DlqHeaders.deliveries, String(msg.info.deliveryCount));
  h.set(DlqHeaders.receivedAt, new Date().toISOString());
  const originalHeaderBytes = msg.headers ? msg.headers.toString().length : 0;
  const room = Math.max(0, maxPayload - originalHeaderBytes - HEADER_ALLOWANCE);
  let data = msg.data;
  if (data.length > room) {
    h.set(DlqHeaders.truncated, String(data.length));
    data = data.subarray(0, room);
  }
  // Dedupe on the origin's stream sequence: a redelivered poison message is dead-lettered once.
  await js.publish(Subjects.deadLetter(msg.subject), data, {
    headers: h,
    msgID: `dlq-${msg.info.stream}-${msg.info.streamSequence}`,
  });
}
