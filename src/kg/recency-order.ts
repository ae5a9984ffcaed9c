/**
 * The orderings the port promises: "most recent first" for execution lists (with the timestamp normalisation it
 * relies on) and agentId-then-taskType for profile keys. Shared by the adapters and by tests; the SurrealDB adapter
 * expresses the recency order in SurrealQL (`ORDER BY finished_at DESC, id DESC`) and sorts profile keys here.
 */
import type { ExecutionResult } from '../domain/messages.js';
import type { ProfileKey } from './knowledge-graph.js';
import { InvalidInputError } from '../errors.js';

/**
 * `new Date(x).toISOString()`: UTC, millisecond precision. Throws a RangeError for an unparsable timestamp
 * (messages are schema-validated upstream, so this is a programming error, not an outage).
 */
export function normaliseTimestamp(value: string, field = 'timestamp'): string {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new InvalidInputError(`invalid ${field}: ${JSON.stringify(value)}`);
  return new Date(ms).toISOString();
}

/** Sort comparator: finishedAt descending (as instants), then executionId descending (code-unit order). */
export function compareMostRecentFirst(a: ExecutionResult, b: ExecutionResult): number {
  const byTime = Date.parse(b.finishedAt) - Date.parse(a.finishedAt);
  if (byTime !== 0) return byTime;
  return a.executionId < b.executionId ? 1 : a.executionId > b.executionId ? -1 : 0;
}

/** agentId, then taskType, code-unit order. For adapters that cannot sort in their query language. */
export function compareProfileKeys(a: ProfileKey, b: ProfileKey): number {
  if (a.agentId !== b.agentId) return a.agentId < b.agentId ? -1 : 1;
  if (a.taskType !== b.taskType) return a.taskType < b.taskType ? -1 : 1;
  return 0;
}
