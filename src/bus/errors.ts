/** Recognising the JetStream errors the worker reacts to. */
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';

/** A KV create/update lost a compare-and-swap race (the revision moved, or the key already exists). */
export function isCasConflict(err: unknown): boolean {
  if (err instanceof JetStreamApiError) {
    return (
      err.code === JetStreamApiCodes.StreamWrongLastSequence ||
      err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown
    );
  }
  return err instanceof Error && /wrong last sequence/i.test(err.message);
}

export function isStreamNotFound(err: unknown): boolean {
  return err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound;
}

export function isConsumerNotFound(err: unknown): boolean {
  return err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound;
}
