/**
 * What a handler decides about one message. Handlers never touch ack/nak/term themselves: `settle` in
 * consumer-loop.ts is the one place that maps an outcome onto JetStream.
 */
export type Outcome =
  | { kind: 'ack' }
  | { kind: 'retry'; delayMs: number; reason: string }
  | { kind: 'dead-letter'; reason: string; error?: string };

export const ack = (): Outcome => ({ kind: 'ack' });
export const retry = (delayMs: number, reason: string): Outcome => ({ kind: 'retry', delayMs, reason });
export const deadLetter = (reason: string, error?: string): Outcome =>
  error === undefined ? { kind: 'dead-letter', reason } : { kind: 'dead-letter', reason, error };

/** Exponential backoff by delivery count: 500 ms, 1 s, 2 s, … capped at `maxMs`. */
export function backoffMs(deliveryCount: number, maxMs = 30_000, baseMs = 500): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, Math.min(20, deliveryCount - 1)));
}
