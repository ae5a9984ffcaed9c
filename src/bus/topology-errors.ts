/** Failures of `streams apply` that no retry fixes: an operator has to change streams/ or the server. */
import { ErrorCodes, VaporaError } from '../errors.js';

/** streams/*.json breaks a rule the loader enforces (e.g. a stream without `max_bytes`). */
export class TopologyInvalidError extends VaporaError {
  constructor(readonly problems: readonly string[]) {
    super(ErrorCodes.TopologyInvalid, `streams/ is invalid: ${problems.join('; ')}`);
  }
}

/**
 * The server holds a stream, bucket or consumer whose settings differ from streams/ and refused (or silently
 * skipped) the update: typically an immutable setting such as `storage` or `retention`, or replicas the cluster
 * cannot place. `settings` names what differs; the message also carries the server's own words.
 */
export class TopologyRefusedError extends VaporaError {
  constructor(
    readonly kind: 'stream' | 'consumer' | 'bucket',
    readonly target: string,
    readonly settings: readonly string[],
    message: string,
    options?: { cause?: unknown },
  ) {
    super(ErrorCodes.TopologyRefused, message, options);
  }
}

export function isTopologyRefused(err: unknown): err is TopologyRefusedError {
  return err instanceof TopologyRefusedError;
}
export function isTopologyInvalid(err: unknown): err is TopologyInvalidError {
  return err instanceof TopologyInvalidError;
}
