/**
 * Retry policy for SurrealDB transaction conflicts.
 *
 * Measured: with the embedded engine (SurrealDB 3.0.2), 10 concurrent `INSERT IGNORE` of one record id can fail with
 * "Transaction conflict: Write conflict, retry the transaction" (optimistic transactions; the index on the table
 * widens the write set). The loser's transaction committed nothing, and every statement this adapter sends is a
 * single idempotent statement, so replaying it is safe: the replay of a lost `INSERT IGNORE` sees the winner's row
 * and reports 'existed'.
 *
 * The SDK's default predicate matches only the structured `TransactionConflict` kind of SurrealDB 3.1+; 3.0.x
 * reports a plain QueryError, recognised here by its message (as the SDK docs suggest for older servers).
 */
import { QueryError, isRetryableConflict, type RetryOptions } from 'surrealdb';

export function isTransactionConflict(err: unknown): boolean {
  return (
    isRetryableConflict(err) ||
    (err instanceof QueryError && /transaction conflict|can be retried/i.test(err.message))
  );
}

export const CONFLICT_RETRY: Partial<RetryOptions> = {
  enabled: true,
  attempts: 20,
  retryDelay: 1,
  retryDelayMax: 50,
  retryDelayMultiplier: 2,
  retryDelayJitter: 0.5,
  retryable: isTransactionConflict,
};
