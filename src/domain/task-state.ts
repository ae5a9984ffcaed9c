/**
 * The lifecycle of one task's assignment, stored under `<taskId>` in the `vapora_tasks` bucket. It is the
 * write-ahead record that makes assignment exactly-once across replicas and crashes:
 *   (none) → assigning(agent) → assigned(agent, assignment) → completed
 *   (none) → unassignable
 * `assigning` is written before capacity is reserved, so a replica that crashes in between leaves a record that
 * the next delivery finishes or corrects instead of leaking a reservation.
 */
import type { Assignment } from './messages.js';

export type TaskStatus = 'assigning' | 'assigned' | 'completed' | 'unassignable';

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

export function newTaskState(taskId: string, firstSeenAt: Date, at: Date, agentId: string): TaskStateRecord {
  const entry: TaskHistoryEntry = { at: at.toISOString(), status: 'assigning', agentId };
  return {
    taskId,
    status: 'assigning',
    agentId,
    attempt: 1,
    firstSeenAt: firstSeenAt.toISOString(),
    updatedAt: entry.at,
    history: [entry],
  };
}
