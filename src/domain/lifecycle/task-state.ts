/**
 * The state of one task's assignment, stored under `<taskId>` in the `vapora_tasks` bucket. It is the worker's own
 * record of who held the task at which attempt: the source of truth that results are checked against. Only
 * `evolve` (evolve.ts) makes new states, and only from events that `decide` (decide.ts) allowed.
 */
import type { Assignment } from '../messages.js';
import type { TaskStatus } from './transitions.js';

export type { TaskStatus } from './transitions.js';

export interface TaskHistoryEntry {
  at: string;
  status: TaskStatus;
  agentId?: string;
  /** The attempt the entry is about (absent in records written before it was kept). */
  attempt?: number;
  note?: string;
}

/** Who held the task at one attempt, and since when: what a result for that attempt is checked against. */
export interface Holder {
  attempt: number;
  agentId: string;
  assignedAt: string;
  /** When the agent was seen to receive it (absent: not seen, or not tracked). */
  deliveredAt?: string;
  /** When the attempt was taken back (absent while it was not). */
  timedOutAt?: string;
  /** Whether that timeout counts as the agent's failure (set when it timed out). */
  charged?: boolean;
}

export interface TaskStateRecord {
  taskId: string;
  status: TaskStatus;
  /** The agent of the latest attempt (absent when the task was given up before any assignment). */
  agentId?: string;
  /** The latest attempt; 0 before the first assignment. */
  attempt: number;
  firstSeenAt: string;
  updatedAt: string;
  /** The assignment of the latest attempt (its task type and task are the same for every attempt). */
  assignment?: Assignment;
  /** Every attempt's holder, oldest first. Absent in records written before it was kept (see `holderOf`). */
  holders?: Holder[];
  history: TaskHistoryEntry[];
}

/** History is capped so a record stays small however often a task bounces. */
export const TASK_HISTORY_LIMIT = 50;
/** Holders are capped like history; MAX_ATTEMPTS gives a task up before any holder is forgotten. */
export const TASK_HOLDERS_LIMIT = 50;
/**
 * Attempts a task gets. Every holder of every attempt is remembered (TASK_HOLDERS_LIMIT), so no agent a task timed
 * out on is offered it again; a task taken back this often (one that hangs every agent, say) is given up instead of
 * going round the fleet charging each agent a timeout.
 */
export const MAX_ATTEMPTS = TASK_HOLDERS_LIMIT;

export function isLive(record: TaskStateRecord): boolean {
  return record.status === 'assigned' || record.status === 'reassigned';
}

/**
 * Agents this task already timed out on: a reassignment never goes back to them. Read from the holders (one per
 * attempt) and from the history (records written before holders were kept); history alone keeps only the last 25
 * attempts (two entries each).
 */
export function timedOutAgents(record: TaskStateRecord): Set<string> {
  const agents = new Set<string>();
  for (const holder of record.holders ?? []) if (holder.timedOutAt !== undefined) agents.add(holder.agentId);
  for (const entry of record.history) {
    if (entry.status === 'timed-out' && entry.agentId) agents.add(entry.agentId);
  }
  return agents;
}

/**
 * Who held the task at `attempt`, per the worker's own record. Records written before holders were kept know only
 * the latest attempt's holder (from `agentId` and `assignment`), which is the one a result is normally for.
 */
/** The latest attempt `agentId` held, or undefined. */
export function latestAttemptOf(record: TaskStateRecord, agentId: string): number | undefined {
  const held = (record.holders ?? []).filter((holder) => holder.agentId === agentId).at(-1);
  if (held) return held.attempt;
  return record.holders === undefined && record.agentId === agentId ? record.attempt : undefined;
}

export function holderOf(record: TaskStateRecord, attempt: number): Holder | undefined {
  const held = record.holders?.find((holder) => holder.attempt === attempt);
  if (held) return held;
  if (record.holders === undefined && record.attempt === attempt && record.agentId && record.assignment) {
    return { attempt, agentId: record.agentId, assignedAt: record.assignment.assignedAt };
  }
  return undefined;
}
