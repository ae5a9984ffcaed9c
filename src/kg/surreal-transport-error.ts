/**
 * Which SDK failures mean "the store is unreachable" (retry later) as opposed to "the request is wrong".
 * Classes from surrealdb v2; `fetch failed` is how the HTTP engine reports a refused connection.
 */
import {
  CallTerminatedError,
  ConnectionUnavailableError,
  HttpConnectionError,
  ReconnectExhaustionError,
  ReconnectIterationError,
  UnexpectedConnectionError,
} from 'surrealdb';
import { TimeoutError } from './bounded.js';

export function isTransportError(err: unknown): boolean {
  return (
    err instanceof ConnectionUnavailableError ||
    err instanceof CallTerminatedError ||
    err instanceof ReconnectExhaustionError ||
    err instanceof ReconnectIterationError ||
    err instanceof UnexpectedConnectionError ||
    err instanceof HttpConnectionError ||
    err instanceof TimeoutError ||
    (err instanceof TypeError && err.message === 'fetch failed')
  );
}
