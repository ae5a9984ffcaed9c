/** One error hierarchy: retry versus dead-letter is decided by code, never by message text. */
import { errors as natsErrors } from '@nats-io/transport-node';
import { MAX_UNEXPECTED_FAILURES, outcomeOfError } from '../../src/bus/consumer-loop.js';
import { classifyNatsError } from '../../src/bus/errors.js';
import {
  CasExhaustedError,
  ErrorCodes,
  InvalidInputError,
  KgUnavailableError,
  NatsUnavailableError,
  TimeoutError,
  VaporaError,
  errorCode,
  isRetryable,
} from '../../src/errors.js';

describe('VaporaError', () => {
  it('carries a code from the one table, its class name and its cause', () => {
    const cause = new Error('socket hang up');
    const err = new KgUnavailableError('store down', { cause });
    expect(err).toBeInstanceOf(VaporaError);
    expect(err.code).toBe(ErrorCodes.KgUnavailable);
    expect(err.name).toBe('KgUnavailableError');
    expect(err.cause).toBe(cause);
  });

  it('is retryable only for outages, timeouts and contention', () => {
    expect(isRetryable(new NatsUnavailableError('x'))).toBe(true);
    expect(isRetryable(new KgUnavailableError('x'))).toBe(true);
    expect(isRetryable(new TimeoutError('x'))).toBe(true);
    expect(isRetryable(new CasExhaustedError('k', 3))).toBe(true);
    expect(isRetryable(new InvalidInputError('x'))).toBe(false);
    expect(isRetryable(new VaporaError(ErrorCodes.Internal, 'x'))).toBe(false);
    expect(isRetryable(new Error('KG_UNAVAILABLE'))).toBe(false);
  });

  it('reads codes across module copies, but only codes of its own table', () => {
    expect(errorCode({ code: 'KG_UNAVAILABLE', message: 'from another copy' })).toBe(
      ErrorCodes.KgUnavailable,
    );
    expect(errorCode({ code: 'ECONNREFUSED' })).toBeUndefined();
  });
});

describe('outcomeOfError (the consumer loop)', () => {
  it('retries an outage for as long as it lasts', () => {
    expect(outcomeOfError(new KgUnavailableError('down'), 500)).toMatchObject({ kind: 'retry' });
  });

  it('dead-letters an unexpected error after a bounded number of deliveries, whatever its message says', () => {
    // The regular expression this replaces retried any bug whose message mentioned a connection, forever.
    const bug = new Error('cannot read connection of undefined');
    expect(outcomeOfError(bug, MAX_UNEXPECTED_FAILURES - 1)).toMatchObject({ kind: 'retry' });
    expect(outcomeOfError(bug, MAX_UNEXPECTED_FAILURES)).toMatchObject({
      kind: 'dead-letter',
      error: 'cannot read connection of undefined',
    });
  });
});

describe('classifyNatsError (the bus edge)', () => {
  it('turns NATS client outages into a retryable NatsUnavailableError, by class', () => {
    const timeout = new natsErrors.TimeoutError();
    const classified = classifyNatsError(timeout);
    expect(classified).toBeInstanceOf(NatsUnavailableError);
    expect((classified as NatsUnavailableError).cause).toBe(timeout);
    expect(classifyNatsError(new natsErrors.ClosedConnectionError())).toBeInstanceOf(NatsUnavailableError);
  });

  it('leaves other errors as they are', () => {
    const plain = new Error('timeout while closing the connection');
    expect(classifyNatsError(plain)).toBe(plain);
    const own = new InvalidInputError('bad');
    expect(classifyNatsError(own)).toBe(own);
  });
});
