/**
 * The lifecycle of one task's assignment, stored under `<taskId>` in the `vapora_tasks` bucket:
 *   (none) → assigned(agent, attempt 1) → completed
 *                 ↓ deadline passed or agent gone
 *             timed-out → reassigned(other agent, attempt 2) → completed | timed-out → …
 *   (none) | timed-out → unassignable (no eligible agent within the maximum wait)
 * `assigned` and `reassigned` are live: exactly one agent holds the task.
 * The record is created (KV create: only one writer can) after capacity is reserved and before the assignment is
 * published, so it decides which replica's assignment stands; the publish that follows is repeated by any
 * redelivery under the same message id, which JetStream deduplicates.
 */
import type { Assignment } from './messages.js';

export type TaskStatus = 'assigned' | 'timed-out' | 'reassigned' | 'completed' | 'unassignable';

export function isLive(record: TaskStateRecord): boolean {
  return record.status === 'assigned' || record.status === 'reassigned';
}

/** Agents this task already timed out on: a reassignment never goes back to them. */
export function timedOutAgents(record: TaskStateRecord): Set<string> {
  return new Set(
    record.history
      .filter((entry) => entry.status === 'timed-out' && entry.agentId)
      .map((entry) => entry.agentId!),
  );
}

export interface TaskHistoryEntry {
  at: string;
  status: TaskStatus;
  agentId?: string;
  note?: string;
}

export interface TaskStateRecord {
  taskId: string;
  status: TaskStatus;
  agentId?: string;
  attempt: number;
  firstSeenAt: string;
  updatedAt: string;
  assignment?: Assignment;
  history: TaskHistoryEntry[];
}

/** History is capped so a record stays small however often a task bounces. */
export const TASK_HISTORY_LIMIT = 50;

export function transition(
  record: TaskStateRecord,
  status: TaskStatus,
  at: Date,
  changes: Partial<Pick<TaskStateRecord, 'agentId' | 'attempt' | 'assignment'>> = {},
  note?: string,
): TaskStateRecord {
  const entry: TaskHistoryEntry = { at: at.toISOString(), status };
  const agentId = changes.agentId ?? record.agentId;
  if (agentId !== undefined) entry.agentId = agentId;
  if (note !== undefined) entry.note = note;
  return {
    ...record,
    ...changes,
    status,
    updatedAt: entry.at,
    history: [...record.history, entry].slice(-TASK_HISTORY_LIMIT),
  };
}

export function newTaskState(
  firstSeenAt: Date,
  at: Date,
  assignment: Assignment,
  note?: string,
): TaskStateRecord {
  const entry: TaskHistoryEntry = { at: at.toISOString(), status: 'assigned', agentId: assignment.agentId };
  if (note !== undefined) entry.note = note;
  return {
    taskId: assignment.taskId,
    status: 'assigned',
    agentId: assignment.agentId,
    attempt: assignment.attempt,
    firstSeenAt: firstSeenAt.toISOString(),
    updatedAt: entry.at,
    assignment,
    history: [entry],
  };
}

export function unassignableTaskState(
  taskId: string,
  firstSeenAt: Date,
  at: Date,
  reason: string,
): TaskStateRecord {
  return {
    taskId,
    status: 'unassignable',
    attempt: 0,
    firstSeenAt: firstSeenAt.toISOString(),
    updatedAt: at.toISOString(),
    history: [{ at: at.toISOString(), status: 'unassignable', note: reason }],
  };
}
