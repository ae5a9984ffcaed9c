/**
 * Dead letters keep the original bytes as the payload (so a message that fitted the server still fits) and
 * the original headers, plus Vapora-Dlq-* headers: reason, error, origin subject, stream sequence, time.
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
});

/** Header values are single-line and bounded. */
function headerValue(text: string): string {
  const flat = text.replace(/[\r\n]+/g, ' ').trim();
  return flat.length > 1024 ? `${flat.slice(0, 1021)}...` : flat;
}

export async function publishDeadLetter(
  js: JetStreamClient,
  msg: JsMsg,
  reason: string,
  error?: string,
): Promise<void> {
  const h = headers();
  if (msg.headers) {
    for (const [key, values] of msg.headers) {
      // The original dedupe id would make the DLQ stream drop a second dead letter of the same message id.
      if (key.toLowerCase() === 'nats-msg-id') {
        for (const value of values) h.append('Vapora-Original-Msg-Id', value);
        continue;
      }
      for (const value of values) h.append(key, value);
    }
  }
  h.set(DlqHeaders.reason, headerValue(reason));
  if (error) h.set(DlqHeaders.error, headerValue(error));
  h.set(DlqHeaders.origin, msg.subject);
  h.set(DlqHeaders.stream, msg.info.stream);
  h.set(DlqHeaders.sequence, String(msg.info.streamSequence));
  h.set(DlqHeaders.deliveries, String(msg.info.deliveryCount));
  h.set(DlqHeaders.receivedAt, new Date().toISOString());
  // Dedupe on the origin's stream sequence: a redelivered poison message is dead-lettered once.
  await js.publish(Subjects.deadLetter(msg.subject), msg.data, {
    headers: h,
    msgID: `dlq-${msg.info.stream}-${msg.info.streamSequence}`,
  });
}
