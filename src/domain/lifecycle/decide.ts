/**
 * decide(state, command) → events, or a typed rejection. Pure: the worker reads the state, decides, writes the
 * evolved state with compare-and-swap, and acts on the outcome. A lost compare-and-swap means the state it
 * decided on was stale: read again and decide again.
 */
import type { Decision, Rejection, RejectionCode, TaskCommand, TaskEvent } from './commands.js';
import type { TaskStateRecord } from './task-state.js';
import { MAX_ATTEMPTS, holderOf, isLive, timedOutAgents } from './task-state.js';
import type { LifecycleStatus } from './transitions.js';

const accept = (...events: TaskEvent[]): Decision => ({ ok: true, events });
const reject = (code: RejectionCode, reason: string): Decision => ({
  ok: false,
  rejection: { code, reason },
});

function statusOf(state: TaskStateRecord | null): LifecycleStatus {
  return state === null ? 'none' : state.status;
}

function describe(state: TaskStateRecord | null): string {
  return state === null ? 'no record' : `${state.status} at attempt ${state.attempt}`;
}

export function decide(state: TaskStateRecord | null, command: TaskCommand): Decision {
  switch (command.type) {
    case 'arrive':
      return decideArrive(state, command.attempt);
    case 'assign':
    case 'reassign': {
      const { assignment } = command;
      const wanted = decideArrive(state, assignment.attempt);
      if (!wanted.ok) return wanted;
      if (command.type === 'assign' && assignment.attempt !== 1) {
        return reject('already-decided', `assign is for attempt 1, not ${assignment.attempt}`);
      }
      if (state !== null && timedOutAgents(state).has(assignment.agentId)) {
        return reject('excluded-agent', `${assignment.agentId} timed out on this task before`);
      }
      const event: TaskEvent = {
        type: 'assigned',
        taskId: assignment.taskId,
        attempt: assignment.attempt,
        agentId: assignment.agentId,
        assignment,
        firstSeenAt:
          state?.firstSeenAt ?? (command.type === 'assign' ? command.firstSeenAt : command.at).toISOString(),
        at: command.at.toISOString(),
      };
      if (command.note !== undefined) event.note = command.note;
      return accept(event);
    }
    case 'deliver': {
      if (state === null || !isLive(state) || state.attempt !== command.attempt) {
        return reject('already-decided', `attempt ${command.attempt} is not live (${describe(state)})`);
      }
      return accept({ type: 'delivered', attempt: command.attempt, at: command.at.toISOString() });
    }
    case 'accept-result':
      return decideHeld(state, command.agentId, command.attempt) ?? decideEvidence(state!, command);
    case 'complete': {
      const refused = decideHeld(state, command.agentId, command.attempt);
      if (refused) return refused;
      // A late result for an attempt that was taken back, or a repeat after completion: evidence, no move.
      if (!isLive(state!) || state!.attempt !== command.attempt) return accept();
      return accept({
        type: 'completed',
        agentId: command.agentId,
        attempt: command.attempt,
        success: command.success,
        at: command.at.toISOString(),
      });
    }
    case 'time-out': {
      const refused = decideHeld(state, command.agentId, command.attempt);
      if (refused) return refused;
      // Taken back already (by this replica before a crash, or another): the caller carries on idempotently.
      if (state!.status === 'timed-out' && state!.attempt === command.attempt) return accept();
      if (!isLive(state!) || state!.attempt !== command.attempt) {
        return reject('already-decided', `attempt ${command.attempt} is not live (${describe(state)})`);
      }
      return accept({
        type: 'timed-out',
        agentId: command.agentId,
        attempt: command.attempt,
        why: command.why,
        // No penalty without delivery: an agent is charged only for work it received.
        charged: command.countsAsFailure && command.why !== 'undelivered',
        at: command.at.toISOString(),
      });
    }
    case 'give-up': {
      const status = statusOf(state);
      if (status !== 'none' && status !== 'timed-out') {
        return reject('already-decided', `cannot give up a task that is ${describe(state)}`);
      }
      return accept({
        type: 'gave-up',
        taskId: state?.taskId ?? command.taskId,
        reason: command.reason,
        firstSeenAt: state?.firstSeenAt ?? command.firstSeenAt.toISOString(),
        at: command.at.toISOString(),
      });
    }
  }
}

/** Attempt 1 is wanted while there is no record; attempt n > 1 only right after attempt n − 1 timed out. */
function decideArrive(state: TaskStateRecord | null, attempt: number): Decision {
  if (attempt === 1 && state === null) return accept();
  if (attempt > 1 && state === null)
    return reject('unknown-task', `no record of the task for attempt ${attempt}`);
  if (attempt > 1 && state !== null && state.status === 'timed-out' && state.attempt === attempt - 1) {
    if (attempt > MAX_ATTEMPTS) {
      return reject(
        'attempts-exhausted',
        `taken back ${state.attempt} times; a task gets ${MAX_ATTEMPTS} attempts`,
      );
    }
    return accept();
  }
  return reject('already-decided', `attempt ${attempt} is not wanted (${describe(state)})`);
}

/**
 * One counted outcome per (task, attempt, agent). The worker's own timeout record counts only for an attempt that
 * was taken back and charged. A charged timeout is the attempt's outcome for every result the server received
 * after it: the agent's claim came too late to change any decision, and letting it count would let an agent undo
 * its penalty. A result received before the take-back counts (whichever of the two is recorded first wins; the
 * shared key makes the other a duplicate).
 */
function decideEvidence(
  state: TaskStateRecord,
  command: Extract<TaskCommand, { type: 'accept-result' }>,
): Decision {
  const holder = holderOf(state, command.attempt)!;
  if (command.timeout) {
    return holder.timedOutAt !== undefined && holder.charged === true
      ? accept()
      : reject('already-decided', `attempt ${command.attempt} has no charged timeout`);
  }
  if (
    holder.charged === true &&
    holder.timedOutAt !== undefined &&
    command.receivedAt.getTime() > Date.parse(holder.timedOutAt)
  ) {
    return reject(
      'superseded',
      `attempt ${command.attempt} timed out at ${holder.timedOutAt}, before this result arrived`,
    );
  }
  return accept();
}

/** Undefined when `agentId` held the task at `attempt` per the record; otherwise the rejection. */
function decideHeld(state: TaskStateRecord | null, agentId: string, attempt: number): Decision | undefined {
  if (state === null) return reject('unknown-task', 'the worker has no record of this task');
  const holder = holderOf(state, attempt);
  if (holder?.agentId === agentId) return undefined;
  const rejection: Rejection = {
    code: 'not-held',
    reason: holder
      ? `attempt ${attempt} is held by another agent, not ${agentId}`
      : `the task has no attempt ${attempt} (it is ${describe(state)})`,
  };
  return { ok: false, rejection };
}
