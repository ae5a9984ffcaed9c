/** Recognising the JetStream errors the worker reacts to, by class and API code (never by message text). */
import { JetStreamApiCodes, JetStreamApiError, JetStreamError } from '@nats-io/jetstream';
import {
  ClosedConnectionError,
  ConnectionError,
  DrainingConnectionError,
  NoRespondersError,
  RequestError,
  TimeoutError,
} from '@nats-io/transport-node';
import { NatsUnavailableError, isVaporaError } from '../errors.js';

/** A KV create/update lost a compare-and-swap race (the revision moved, or the key already exists). */
export function isCasConflict(err: unknown): boolean {
  return (
    err instanceof JetStreamApiError &&
    (err.code === JetStreamApiCodes.StreamWrongLastSequence ||
      err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
  );
}

export function isStreamNotFound(err: unknown): boolean {
  return err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound;
}

export function isConsumerNotFound(err: unknown): boolean {
  return err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound;
}

/** JetStream API codes that mean "the cluster cannot serve this right now" (leader election, peers offline). */
const JETSTREAM_OUTAGE_API_CODES: ReadonlySet<number> = new Set([
  10008, // JetStream system temporarily unavailable
  10023, // insufficient resources (a peer is down)
  10005, // no suitable peers for placement
  10118, // stream offline
]);

/**
 * True for a NATS client error that means "NATS cannot answer right now": the connection is closed, draining or
 * reconnecting, a request timed out or found no responder (JetStream leader moving), or the server said 503.
 */
export function isNatsOutage(err: unknown): boolean {
  return (
    err instanceof TimeoutError ||
    err instanceof ClosedConnectionError ||
    err instanceof DrainingConnectionError ||
    err instanceof ConnectionError ||
    err instanceof NoRespondersError ||
    err instanceof RequestError ||
    (err instanceof JetStreamApiError && JETSTREAM_OUTAGE_API_CODES.has(err.code)) ||
    // A status error (not exported by the client) carries the HTTP-like status as a numeric code.
    (err instanceof JetStreamError && (err as { code?: unknown }).code === 503) ||
    (err instanceof JetStreamError && err.cause !== undefined && isNatsOutage(err.cause))
  );
}

/**
 * The edge where NATS client errors enter the hierarchy: an outage becomes a retryable `NatsUnavailableError`;
 * anything else passes through unchanged (a VaporaError keeps its code; an unknown error stays unknown, a bug).
 */
export function classifyNatsError(err: unknown): unknown {
  if (isVaporaError(err) || !isNatsOutage(err)) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new NatsUnavailableError(`NATS unavailable: ${message}`, { cause: err });
}
