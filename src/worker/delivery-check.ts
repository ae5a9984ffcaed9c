/**
 * Was an assignment delivered to its agent? Asked of the server, never of the agent: the agent's durable consumer
 * delivers its subject in stream order, so the assignment was delivered once the consumer's `delivered.stream_seq`
 * reached the assignment's stream sequence.
 *
 * The sequence comes from re-publishing the assignment under its own message id (`<taskId>.<attempt>`): inside the
 * stream's duplicate window the server answers with the original's sequence and stores nothing, and when the
 * original was lost (a crash between the task record and the publish, an outage) that same publish is the re-send.
 * Outside the window a re-publish would be a second copy, so only sequences learnt earlier are used there.
 */
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { isConsumerNotFound } from '../bus/errors.js';
import { Consumers, Streams } from '../bus/subjects.js';
import type { Assignment } from '../domain/index.js';
import { publishAssignment } from './assignment-message.js';

/** JetStream's duplicate window on VAPORA_ASSIGNMENTS is 2 minutes; stay well inside it. */
export const PROBE_WITHIN_MS = 100_000;

export type Delivery = 'delivered' | 'undelivered' | 'unknown';

export class DeliveryCheck {
  /** `<taskId>.<attempt>` → stream sequence of the assignment, as learnt from a probe. */
  private readonly sequences = new Map<string, number>();

  constructor(private readonly deps: { js: JetStreamClient; jsm: JetStreamManager; log: Logger }) {}

  /**
   * Delivery of `assignment` as of now. `unknown`: too old to probe and no sequence known (a restarted replica),
   * which the caller treats as not delivered (no penalty without evidence of delivery).
   */
  async check(assignment: Assignment, now: Date): Promise<Delivery> {
    const id = `${assignment.taskId}.${assignment.attempt}`;
    let seq = this.sequences.get(id);
    if (seq === undefined) {
      if (now.getTime() - Date.parse(assignment.assignedAt) >= PROBE_WITHIN_MS) return 'unknown';
      const ack = await publishAssignment(this.deps.js, assignment);
      seq = ack.seq;
      this.sequences.set(id, seq);
      if (!ack.duplicate) {
        this.deps.log.warn(
          { taskId: assignment.taskId, agentId: assignment.agentId, attempt: assignment.attempt },
          'assignment was not in the stream; re-sent',
        );
        return 'undelivered';
      }
    }
    try {
      const info = await this.deps.jsm.consumers.info(
        Streams.assignments,
        Consumers.agent(assignment.agentId),
      );
      return info.delivered.stream_seq >= seq ? 'delivered' : 'undelivered';
    } catch (err) {
      // No consumer: nothing was delivered through it that the server still knows of.
      if (isConsumerNotFound(err)) return 'unknown';
      throw err;
    }
  }

  /** Keeps only the sequences of these tasks (those still holding a reservation). */
  retain(taskIds: ReadonlySet<string>): void {
    for (const id of this.sequences.keys()) {
      if (!taskIds.has(id.slice(0, id.lastIndexOf('.')))) this.sequences.delete(id);
    }
  }

  /** Forget an assignment once it is settled. */
  forget(assignment: Pick<Assignment, 'taskId' | 'attempt'>): void {
    this.sequences.delete(`${assignment.taskId}.${assignment.attempt}`);
  }
}
