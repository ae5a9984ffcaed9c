/**
 * Errors raised by the knowledge-graph adapters.
 *
 * Only one kind is typed: "the store cannot be reached right now". The worker treats it as a reason to retry the
 * message later (the effect is delayed, not lost). Every other error means the request itself is wrong and retrying
 * will not help.
 */

export const KG_UNAVAILABLE = 'KG_UNAVAILABLE' as const;

/** Connection or transport failure (store down, unreachable, locked by another process, closed, timed out). */
export class KgUnavailableError extends Error {
  override readonly name = 'KgUnavailableError';
  readonly code = KG_UNAVAILABLE;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * True for a {@link KgUnavailableError}. Checks `code` rather than `instanceof` because jest's ESM module registry
 * and duplicated package copies can give the same class two identities.
 */
export function isKgUnavailable(err: unknown): err is KgUnavailableError {
  return (
    err instanceof KgUnavailableError ||
    (typeof err === 'object' && err !== null && (err as { code?: unknown }).code === KG_UNAVAILABLE)
  );
}
