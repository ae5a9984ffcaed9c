/**
 * The one ordering the port promises for "most recent first" lists, and the timestamp normalisation it relies on.
 * Shared by the in-memory adapter and by tests; the SurrealDB adapter expresses the same order in SurrealQL
 * (`ORDER BY finished_at DESC, id DESC`).
 */
import type { ExecutionResult } from '../domain/messages.js';

/**
 * `new Date(x).toISOString()`: UTC, millisecond precision. Throws a RangeError for an unparsable timestamp
 * (messages are schema-validated upstream, so this is a programming error, not an outage).
 */
export function normaliseTimestamp(value: string, field = 'timestamp'): string {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new RangeError(`invalid ${field}: ${JSON.stringify(value)}`);
  return new Date(ms).toISOString();
}

/** Sort comparator: finishedAt descending (as instants), then executionId descending (code-unit order). */
export function compareMostRecentFirst(a: ExecutionResult, b: ExecutionResult): number {
  const byTime = Date.parse(b.finishedAt) - Date.parse(a.finishedAt);
  if (byTime !== 0) return byTime;
  return a.executionId < b.executionId ? 1 : a.executionId > b.executionId ? -1 : 0;
}
