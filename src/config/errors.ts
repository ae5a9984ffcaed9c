/**
 * Typed errors with stable codes. The CLI prints `message` (one line, says what was tried and how to fix it);
 * the worker uses the predicates to decide "retry later" versus "do not retry".
 */
export const ErrorCodes = {
  ConfigInvalid: 'CONFIG_INVALID',
  NatsUnavailable: 'NATS_UNAVAILABLE',
  KgUnavailable: 'KG_UNAVAILABLE',
  TopologyMissing: 'TOPOLOGY_MISSING',
  TopologyInvalid: 'TOPOLOGY_INVALID',
  TopologyRefused: 'TOPOLOGY_REFUSED',
} as const;
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export class VaporaError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

export class ConfigError extends VaporaError {
  constructor(message: string) {
    super(ErrorCodes.ConfigInvalid, message);
  }
}

export class NatsUnavailableError extends VaporaError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCodes.NatsUnavailable, message, options);
  }
}

export function isVaporaError(err: unknown): err is VaporaError {
  return err instanceof VaporaError;
}
export function isConfigError(err: unknown): err is ConfigError {
  return err instanceof ConfigError;
}
export function isNatsUnavailable(err: unknown): err is NatsUnavailableError {
  return err instanceof NatsUnavailableError;
}
