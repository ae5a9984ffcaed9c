/** Typed errors of the policy registry: a bad name or option is a configuration mistake, never retried. */
import { ErrorCodes, VaporaError } from '../../errors.js';

export const PolicyErrorCodes = {
  UnknownPolicy: ErrorCodes.UnknownPolicy,
  UnknownOption: ErrorCodes.UnknownOption,
  InvalidOption: ErrorCodes.InvalidOption,
  MissingOption: ErrorCodes.MissingOption,
} as const;
export type PolicyErrorCode = (typeof PolicyErrorCodes)[keyof typeof PolicyErrorCodes];

export class PolicyError extends VaporaError {
  declare readonly code: PolicyErrorCode;
  constructor(code: PolicyErrorCode, message: string) {
    super(code, message);
  }
}

export function isPolicyError(err: unknown): err is PolicyError {
  return err instanceof PolicyError;
}
