/** Typed errors of the policy registry: a bad name or option is a configuration mistake, never retried. */
export const PolicyErrorCodes = {
  UnknownPolicy: 'POLICY_UNKNOWN',
  UnknownOption: 'POLICY_OPTION_UNKNOWN',
  InvalidOption: 'POLICY_OPTION_INVALID',
  MissingOption: 'POLICY_OPTION_MISSING',
} as const;
export type PolicyErrorCode = (typeof PolicyErrorCodes)[keyof typeof PolicyErrorCodes];

export class PolicyError extends Error {
  readonly code: PolicyErrorCode;
  constructor(code: PolicyErrorCode, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

export function isPolicyError(err: unknown): err is PolicyError {
  return err instanceof PolicyError;
}
