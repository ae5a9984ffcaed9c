/**
 * Runs a handler over a durable pull consumer with bounded concurrency, and maps each outcome onto JetStream:
 *   ack          → ackAck (wait for the server to confirm, so "acknowledged" means it)
 *   retry        → nak(delay)
 *   dead-letter  → publish to vapora.dlq.<origin>, then term(reason); if that publish fails, retry later
 * A handler that throws is judged by error code (never by message text): an outage (a retryable code) is retried
 * with backoff for as long as it lasts; any other error is retried a few times, then dead-lettered with the error,
 * so a poison message cannot hold a slot of max_ack_pending forever. Stopping drains: no new messages, in-flight
 * ones finish.
 */
import type { ConsumerMessages, JetStreamClient, JsMsg } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { isRetryable } from '../errors.js';
import { publishDeadLetter } from './dead-letter.js';
import { classifyNatsError } from './errors.js';
import type { Outcome } from './outcome.js';
import { backoffMs, deadLetter, retry } from './outcome.js';

/** Deliveries after which an unexpected (non-retryable) handler error dead-letters the message. */
export const MAX_UNEXPECTED_FAILURES = 10;

/** A handler's place among the `concurrency` the loop runs at once. */
export interface HandlerSlot {
  /**
   * The handler is about to wait without working (for a full agent to free a slot): the loop starts the next
   * message meanwhile, so waiting tasks never hold up tasks that could be handled now. Only the first call counts.
   */
  release(): void;
}

export type MessageHandler = (msg: JsMsg, log: Logger, slot: HandlerSlot) => Promise<Outcome>;

export interface ConsumerLoopOptions {
  js: JetStreamClient;
  stream: string;
  consumer: string;
  handler: MessageHandler;
  concurrency: number;
  log: Logger;
  onSettled?: (outcome: Outcome, msg: JsMsg, elapsedMs: number) => void;
  /** The server's max_payload, so that a dead letter always fits. @default 1 MiB */
  maxPayload?: number;
  /**
   * The pull subscription ended without stop() (its consumer or stream is gone, the connection closed): the
   * loop consumes nothing until start() succeeds again. The worker's supervisor restarts it or gives up.
   */
  onEnded?: (err: unknown) => void;
}

export class ConsumerLoop {
  private messages: ConsumerMessages | undefined;
  /** Every message being handled, waiting ones included (stop() drains them all). */
  private readonly inFlight = new Set<Promise<void>>();
  /** Handlers holding a slot: at most `concurrency`. */
  private busy = 0;
  private wakePump: (() => void) | undefined;
  private stopping = false;
  private done: Promise<void> | undefined;
  private active = false;

  constructor(private readonly options: ConsumerLoopOptions) {}

  /** Starts pulling; resolves once the subscription is open. */
  async start(): Promise<void> {
    const { js, stream, consumer, concurrency } = this.options;
    const c = await js.consumers.get(stream, consumer);
    this.messages = await c.consume({
      max_messages: concurrency,
      threshold_messages: Math.max(1, concurrency >> 1),
      // A deleted consumer ends the iterator instead of pulling from nothing forever, so it can be noticed.
      abort_on_missing_resource: true,
    });
    this.active = true;
    const messages = this.messages;
    this.done = this.pump(messages).then(
      () => this.ended(messages, new Error(`consumer ${consumer} stopped delivering`)),
      (err: unknown) => this.ended(messages, err),
    );
  }

  /** True from start() until the subscription ends; false after stop() or an unrequested end. */
  get running(): boolean {
    return this.active;
  }

  private ended(messages: ConsumerMessages, err: unknown): void {
    if (this.messages !== messages) return;
    this.active = false;
    if (!this.stopping) this.options.onEnded?.(err);
  }

  private async pump(messages: ConsumerMessages): Promise<void> {
    for await (const msg of messages) {
      if (this.stopping) {
        // Pulled after stop: hand it back at once so another replica takes it.
        msg.nak();
        continue;
      }
      this.busy += 1;
      let held = true;
      const slot: HandlerSlot = {
        release: () => {
          if (!held) return;
          held = false;
          this.busy -= 1;
          const wake = this.wakePump;
          this.wakePump = undefined;
          wake?.();
        },
      };
      const task = this.process(msg, slot).finally(() => {
        slot.release();
        this.inFlight.delete(task);
      });
      this.inFlight.add(task);
      while (this.busy >= this.options.concurrency) {
        await new Promise<void>((resolve) => (this.wakePump = resolve));
      }
    }
  }

  private async process(msg: JsMsg, slot: HandlerSlot): Promise<void> {
    const { handler, log: parent, onSettled } = this.options;
    const started = performance.now();
    const log = parent.child({
      subject: msg.subject,
      seq: msg.info.streamSequence,
      deliveries: msg.info.deliveryCount,
    });
    let outcome: Outcome;
    try {
      outcome = await handler(msg, log, slot);
    } catch (err) {
      outcome = outcomeOfError(classifyNatsError(err), msg.info.deliveryCount);
      log.warn({ err, outcome: outcome.kind }, 'handler failed');
    }
    try {
      await this.settle(msg, outcome, log);
    } catch (err) {
      // The connection may be down: the message will be redelivered after ack_wait.
      log.warn({ err, outcome: outcome.kind }, 'could not settle message; it will be redelivered');
    }
    onSettled?.(outcome, msg, performance.now() - started);
  }

  private async settle(msg: JsMsg, outcome: Outcome, log: Logger): Promise<void> {
    switch (outcome.kind) {
      case 'ack':
        await msg.ackAck();
        return;
      case 'retry':
        log.debug({ delayMs: outcome.delayMs, reason: outcome.reason }, 'retry later');
        msg.nak(outcome.delayMs);
        return;
      case 'dead-letter':
        try {
          await publishDeadLetter(
            this.options.js,
            msg,
            outcome.reason,
            outcome.error,
            this.options.maxPayload ?? 1024 * 1024,
          );
        } catch (err) {
          log.warn({ err }, 'dead-letter publish failed; will retry');
          msg.nak(backoffMs(msg.info.deliveryCount));
          return;
        }
        log.warn({ reason: outcome.reason }, 'dead-lettered');
        // No reason argument: nats-server 2.9 ignores a term carrying a reason and keeps redelivering.
        msg.term();
        return;
    }
  }

  /** Stops pulling and waits for in-flight messages (up to `graceMs`). Returns how many did not finish. */
  async stop(graceMs: number): Promise<number> {
    this.stopping = true;
    this.active = false;
    const deadline = new Promise<'timeout'>((resolve) => setTimeout(resolve, graceMs, 'timeout').unref());
    // close() resolves once the iterator is drained, which waits for a free slot: bound it by the grace period too.
    await Promise.race([this.messages?.close().catch(() => undefined), deadline]);
    const all = Promise.all([...this.inFlight]).then(() => 'done' as const);
    const result = await Promise.race([all, deadline]);
    await Promise.race([this.done, deadline]);
    return result === 'timeout' ? this.inFlight.size : 0;
  }
}

/** An outage waits; anything else is a bug or a poison message: a few more tries, then the dead-letter stream. */
export function outcomeOfError(err: unknown, deliveryCount: number): Outcome {
  const message = err instanceof Error ? err.message : String(err);
  if (!isRetryable(err) && deliveryCount >= MAX_UNEXPECTED_FAILURES) {
    return deadLetter(`processing failed ${deliveryCount} times`, message);
  }
  return retry(backoffMs(deliveryCount), message);
}
