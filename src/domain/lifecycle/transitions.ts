/**
 * The legal moves of a task's assignment, written once as data. `decide` refuses a command whose event would
 * break this table and `evolve` throws on an event that does (a bug, never input).
 *
 *   none ──assign──► assigned ──complete──► completed
 *    │                  │
 *    │               time out
 *    │                  ▼
 *    └─give up──► unassignable ◄─give up── timed-out ──reassign──► reassigned ──► completed | timed-out
 */
export type TaskStatus = 'assigned' | 'timed-out' | 'reassigned' | 'completed' | 'unassignable';
/** `none`: no record exists yet. */
export type LifecycleStatus = TaskStatus | 'none';

export const TRANSITIONS: Readonly<Record<LifecycleStatus, readonly TaskStatus[]>> = Object.freeze({
  none: ['assigned', 'unassignable'],
  assigned: ['completed', 'timed-out'],
  reassigned: ['completed', 'timed-out'],
  'timed-out': ['reassigned', 'unassignable'],
  completed: [],
  unassignable: [],
});

/** Statuses in which exactly one agent holds the task. */
export const LIVE_STATUSES: readonly TaskStatus[] = ['assigned', 'reassigned'];
/** Statuses nothing moves out of. */
export const FINAL_STATUSES: readonly TaskStatus[] = ['completed', 'unassignable'];

export function canMove(from: LifecycleStatus, to: TaskStatus): boolean {
  return TRANSITIONS[from].includes(to);
}
