/** What can be asked of a task's lifecycle (commands), what happened (events), and why a command was refused. */
import type { Assignment } from '../messages.js';

/** Why an assignment was taken back. `undelivered`: the agent never received it, so it is not charged. */
export type TimeoutReason = 'timeout' | 'agent-gone' | 'undelivered';

export type TaskCommand =
  /** A request for attempt `attempt` arrived (1: the task itself; n > 1: a reassignment request). */
  | { type: 'arrive'; attempt: number; at: Date }
  /** Give attempt 1 to `assignment.agentId`. */
  | { type: 'assign'; assignment: Assignment; firstSeenAt: Date; at: Date; note?: string }
  /** Give attempt n > 1 to `assignment.agentId` after the previous attempt timed out. */
  | { type: 'reassign'; assignment: Assignment; at: Date; note?: string }
  /** The agent of `attempt` has received its assignment. */
  | { type: 'deliver'; attempt: number; at: Date }
  /**
   * Is a result for `attempt` evidence? (Nothing changes; a rejection says why not.) `receivedAt` is when the server
   * stored the result; `timeout` marks the worker's own timeout record of the attempt (never an agent's message).
   */
  | { type: 'accept-result'; agentId: string; attempt: number; receivedAt: Date; timeout: boolean; at: Date }
  /** A result from the holder ends the attempt. */
  | { type: 'complete'; agentId: string; attempt: number; success: boolean; at: Date }
  /** Take the attempt back from its holder; `countsAsFailure`: the operator charges timeouts (config). */
  | {
      type: 'time-out';
      agentId: string;
      attempt: number;
      why: TimeoutReason;
      countsAsFailure: boolean;
      at: Date;
    }
  /** No eligible agent within the maximum wait. */
  | { type: 'give-up'; taskId: string; reason: string; firstSeenAt: Date; at: Date };

export type TaskEvent =
  | {
      type: 'assigned';
      taskId: string;
      attempt: number;
      agentId: string;
      assignment: Assignment;
      firstSeenAt: string;
      at: string;
      note?: string;
    }
  | { type: 'delivered'; attempt: number; at: string }
  | { type: 'completed'; agentId: string; attempt: number; success: boolean; at: string }
  | { type: 'timed-out'; agentId: string; attempt: number; why: TimeoutReason; charged: boolean; at: string }
  | { type: 'gave-up'; taskId: string; reason: string; firstSeenAt: string; at: string };

export type RejectionCode =
  /** The task was decided already (a duplicate, a race lost to another replica, an old request). */
  | 'already-decided'
  /** The worker has no record of the task. */
  | 'unknown-task'
  /** The agent did not hold the task at that attempt. */
  | 'not-held'
  /** The agent may not get this task again (it timed out on it). */
  | 'excluded-agent'
  /** The attempt's outcome is its charged timeout: a result the server received after it does not count. */
  | 'superseded'
  /** The task has had MAX_ATTEMPTS attempts: it is to be given up, not assigned again. */
  | 'attempts-exhausted';

export interface Rejection {
  code: RejectionCode;
  reason: string;
}

export type Decision = { ok: true; events: TaskEvent[] } | { ok: false; rejection: Rejection };
