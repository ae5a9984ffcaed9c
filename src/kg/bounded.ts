/** Time bounds for calls that may never answer (a hung native close, a server that went silent, a probe). */
import { TimeoutError } from '../errors.js';

export { TimeoutError };

/**
 * Settles like `promise`, or rejects with a {@link TimeoutError} after `ms`. The timer is unref'd: a pending bound
 * never keeps the process alive on its own. The losing promise is not cancelled (JS cannot); its later rejection
 * is swallowed so it cannot become an unhandled rejection.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`${what} did not finish within ${ms} ms`)), ms);
    timer.unref();
  });
  promise.catch(() => undefined);
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A ref'd sleep (keeps the process alive while awaited, unlike the bound above). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
