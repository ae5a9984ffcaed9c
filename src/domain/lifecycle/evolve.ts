/**
 * evolve(state, event) → state: the only way a task record changes. Throws IllegalTransitionError on an event the
 * transition table does not allow, which `decide` never emits (a bug, not input).
 */
import { IllegalTransitionError } from '../../errors.js';
import type { TaskEvent } from './commands.js';
import type { Holder, TaskHistoryEntry, TaskStateRecord } from './task-state.js';
import { TASK_HISTORY_LIMIT, TASK_HOLDERS_LIMIT } from './task-state.js';
import type { TaskStatus } from './transitions.js';
import { canMove } from './transitions.js';

export function evolve(state: TaskStateRecord | null, event: TaskEvent): TaskStateRecord {
  switch (event.type) {
    case 'assigned': {
      const status: TaskStatus = event.attempt === 1 ? 'assigned' : 'reassigned';
      const holder: Holder = { attempt: event.attempt, agentId: event.agentId, assignedAt: event.at };
      const base: TaskStateRecord = state ?? {
        taskId: event.taskId,
        status,
        attempt: 0,
        firstSeenAt: event.firstSeenAt,
        updatedAt: event.at,
        holders: [],
        history: [],
      };
      return move(state, status, event.at, event.agentId, event.attempt, event.note, {
        ...base,
        agentId: event.agentId,
        attempt: event.attempt,
        assignment: event.assignment,
        holders: [...(base.holders ?? legacyHolders(base)), holder].slice(-TASK_HOLDERS_LIMIT),
      });
    }
    case 'delivered': {
      const current = required(state, event);
      if (current.status !== 'assigned' && current.status !== 'reassigned')
        throw illegal(current.status, event);
      const holders = (current.holders ?? legacyHolders(current)).map((h) =>
        h.attempt === event.attempt && h.deliveredAt === undefined ? { ...h, deliveredAt: event.at } : h,
      );
      return { ...current, holders };
    }
    case 'completed': {
      const current = required(state, event);
      return move(
        current,
        'completed',
        event.at,
        event.agentId,
        event.attempt,
        event.success ? 'succeeded' : 'failed',
        current,
      );
    }
    case 'timed-out': {
      const current = required(state, event);
      const holders = (current.holders ?? legacyHolders(current)).map((h) =>
        h.attempt === event.attempt ? { ...h, timedOutAt: event.at, charged: event.charged } : h,
      );
      const note = TIMEOUT_NOTES[event.why];
      return move(current, 'timed-out', event.at, event.agentId, event.attempt, note, {
        ...current,
        holders,
      });
    }
    case 'gave-up': {
      const base: TaskStateRecord = state ?? {
        taskId: event.taskId,
        status: 'unassignable',
        attempt: 0,
        firstSeenAt: event.firstSeenAt,
        updatedAt: event.at,
        history: [],
      };
      return move(state, 'unassignable', event.at, undefined, undefined, event.reason, base);
    }
  }
}

/** Replays events from no record: the state they lead to. */
export function fold(
  events: readonly TaskEvent[],
  state: TaskStateRecord | null = null,
): TaskStateRecord | null {
  return events.reduce<TaskStateRecord | null>((current, event) => evolve(current, event), state);
}

const TIMEOUT_NOTES = {
  timeout: 'no result before the deadline',
  'agent-gone': 'agent gone',
  undelivered: 'never delivered to the agent',
} as const;

function move(
  from: TaskStateRecord | null,
  status: TaskStatus,
  at: string,
  agentId: string | undefined,
  attempt: number | undefined,
  note: string | undefined,
  next: TaskStateRecord,
): TaskStateRecord {
  if (!canMove(from === null ? 'none' : from.status, status)) {
    throw new IllegalTransitionError(
      `task ${next.taskId}: ${from === null ? 'none' : from.status} → ${status} is not a legal transition`,
    );
  }
  const entry: TaskHistoryEntry = { at, status };
  const who = agentId ?? next.agentId;
  if (who !== undefined) entry.agentId = who;
  if (attempt !== undefined) entry.attempt = attempt;
  if (note !== undefined) entry.note = note;
  return { ...next, status, updatedAt: at, history: [...next.history, entry].slice(-TASK_HISTORY_LIMIT) };
}

function required(state: TaskStateRecord | null, event: TaskEvent): TaskStateRecord {
  if (state === null) throw new IllegalTransitionError(`${event.type} of a task that has no record`);
  return state;
}

function illegal(status: TaskStatus, event: TaskEvent): IllegalTransitionError {
  return new IllegalTransitionError(`${event.type} while ${status}`);
}

/** A record written before holders were kept knows its latest holder only. */
function legacyHolders(record: TaskStateRecord): Holder[] {
  return record.agentId && record.assignment && record.attempt > 0
    ? [{ attempt: record.attempt, agentId: record.agentId, assignedAt: record.assignment.assignedAt }]
    : [];
}
