/**
 * The one error hierarchy of vapora-learning. Every error thrown from `src/` is a {@link VaporaError} with a stable
 * `code` from {@link ErrorCodes}, or is wrapped into one at the edge that met it (see `classifyError`). Callers decide
 * by code, never by message text:
 * - retryable codes (an outage: NATS or the knowledge graph cannot be reached right now) delay the work;
 * - every other code means the request or the code is wrong, and retrying the same input will not help.
 * The CLI prints `message` (one line: what was tried and how to fix it).
 */
export const ErrorCodes = {
  /** The environment or a flag holds a value outside its schema. */
  ConfigInvalid: 'CONFIG_INVALID',
  /** A command line that does not parse. */
  Usage: 'USAGE',
  /** NATS cannot be reached, or a request to it timed out (retryable). */
  NatsUnavailable: 'NATS_UNAVAILABLE',
  /** The knowledge graph cannot be reached, is closed or timed out (retryable). */
  KgUnavailable: 'KG_UNAVAILABLE',
  /** The knowledge graph refused a well-formed request. */
  KgRequestFailed: 'KG_REQUEST_FAILED',
  /** A stream, consumer or bucket the worker needs does not exist. */
  TopologyMissing: 'TOPOLOGY_MISSING',
  /** streams/ holds a declaration that cannot be applied (e.g. a stream without max_bytes). */
  TopologyInvalid: 'TOPOLOGY_INVALID',
  /** A stream, consumer or bucket differs from streams/ in a setting the server will not change. */
  TopologyRefused: 'TOPOLOGY_REFUSED',
  /** A decision policy name (POLICY, POLICY_SPLIT, --policy) that is not one of POLICIES. */
  UnknownPolicy: 'POLICY_UNKNOWN',
  /** A policy option the policy does not take. */
  UnknownOption: 'POLICY_OPTION_UNKNOWN',
  /** A policy option outside its range or of the wrong type. */
  InvalidOption: 'POLICY_OPTION_INVALID',
  /** A policy option the policy needs (e.g. cost-aware's budgetCentsPerTask). */
  MissingOption: 'POLICY_OPTION_MISSING',
  /** A value from outside (a message, a flag, a roster entry) that fails validation. */
  InvalidInput: 'INVALID_INPUT',
  /** A call did not finish within its bound (retryable: the next try may). */
  Timeout: 'TIMEOUT',
  /** A compare-and-swap kept losing: a hot key under more contention than the retry budget. */
  CasExhausted: 'CAS_EXHAUSTED',
  /** An event that the task lifecycle's transition table does not allow: a bug, never input. */
  IllegalTransition: 'ILLEGAL_TRANSITION',
  /** Anything else: a bug. */
  Internal: 'INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** Codes that mean "a dependency is out right now": the work waits and is tried again. */
const RETRYABLE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCodes.NatsUnavailable,
  ErrorCodes.KgUnavailable,
  ErrorCodes.CasExhausted,
  ErrorCodes.Timeout,
]);

export class VaporaError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }

  /** True when the same work may succeed later without any change (an outage, a contended key). */
  get retryable(): boolean {
    return RETRYABLE_CODES.has(this.code);
  }
}

export class ConfigError extends VaporaError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCodes.ConfigInvalid, message, options);
  }
}

export class UsageError extends VaporaError {
  constructor(message: string) {
    super(ErrorCodes.Usage, message);
  }
}

export class NatsUnavailableError extends VaporaError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCodes.NatsUnavailable, message, options);
  }
}

/** Connection or transport failure (store down, unreachable, locked by another process, closed, timed out). */
export class KgUnavailableError extends VaporaError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCodes.KgUnavailable, message, options);
  }
}

export class KgRequestError extends VaporaError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCodes.KgRequestFailed, message, options);
  }
}

export class InvalidInputError extends VaporaError {
  constructor(message: string) {
    super(ErrorCodes.InvalidInput, message);
  }
}

export class TimeoutError extends VaporaError {
  constructor(message: string) {
    super(ErrorCodes.Timeout, message);
  }
}

export class CasExhaustedError extends VaporaError {
  constructor(key: string, attempts: number) {
    super(ErrorCodes.CasExhausted, `compare-and-swap on ${key} still conflicting after ${attempts} attempts`);
  }
}

export class IllegalTransitionError extends VaporaError {
  constructor(message: string) {
    super(ErrorCodes.IllegalTransition, message);
  }
}

/**
 * Reads the code of any error, also across duplicated module copies (jest's ESM registry can give one class two
 * identities, so `instanceof` alone is not enough).
 */
export function errorCode(err: unknown): ErrorCode | undefined {
  if (err instanceof VaporaError) return err.code;
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' && (Object.values(ErrorCodes) as string[]).includes(code)
    ? (code as ErrorCode)
    : undefined;
}

export function isVaporaError(err: unknown): err is VaporaError {
  return errorCode(err) !== undefined;
}
export function isRetryable(err: unknown): boolean {
  const code = errorCode(err);
  return code !== undefined && RETRYABLE_CODES.has(code);
}
export function isConfigError(err: unknown): err is ConfigError {
  return errorCode(err) === ErrorCodes.ConfigInvalid;
}
export function isUsageError(err: unknown): err is UsageError {
  return errorCode(err) === ErrorCodes.Usage;
}
export function isNatsUnavailable(err: unknown): err is NatsUnavailableError {
  return errorCode(err) === ErrorCodes.NatsUnavailable;
}
export function isKgUnavailable(err: unknown): err is KgUnavailableError {
  return errorCode(err) === ErrorCodes.KgUnavailable;
}

/** Wraps what is not yet a VaporaError as an internal error, keeping it as the cause. */
export function asVaporaError(err: unknown): VaporaError {
  if (err instanceof VaporaError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new VaporaError(ErrorCodes.Internal, message, { cause: err });
}
