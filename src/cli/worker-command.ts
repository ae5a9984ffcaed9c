/**
 * `vapora-learning worker`: one replica until SIGTERM/SIGINT, then a bounded drain and exit 0. It waits out NATS
 * and KG outages at start (probes served meanwhile), and exits 1 after a clean drain when the worker fails for good
 * (a consumer loop that cannot be restarted), so the orchestrator restarts it.
 */
import { loadWorkerConfig } from '../config/config.js';
import { createLogger } from '../worker/logger.js';
import { startWorker } from '../worker/start-up.js';

export async function runWorkerCommand(): Promise<number> {
  const config = loadWorkerConfig();
  const log = createLogger(config.logLevel);
  const stop = new AbortController();
  let failed: ((err: unknown) => void) | undefined;
  const failure = new Promise<unknown>((resolve) => (failed = resolve));
  const signal = new Promise<NodeJS.Signals>((resolve) => {
    const on = (sig: NodeJS.Signals) => {
      stop.abort();
      resolve(sig);
    };
    process.once('SIGTERM', () => on('SIGTERM'));
    process.once('SIGINT', () => on('SIGINT'));
  });
  const started = await startWorker({ config, log, signal: stop.signal, onFailed: (err) => failed?.(err) });
  if (!started) {
    log.info('stopped before the dependencies answered');
    return 0;
  }
  const { worker, probe } = started;
  const ending = await Promise.race([
    signal.then((sig) => ({ kind: 'signal' as const, sig })),
    failure.then((err) => ({ kind: 'failed' as const, err })),
  ]);
  if (ending.kind === 'signal') log.info({ signal: ending.sig }, 'signal received');
  else log.error({ err: ending.err }, 'worker failed; draining, then exiting for a restart');
  // The embedded surrealkv store can hang on close: exit even if something does not let go.
  const hardStop = setTimeout(() => {
    log.error('shutdown exceeded the grace period; exiting');
    process.exit(1);
  }, config.shutdownGraceMs + 5_000);
  hardStop.unref();
  await worker.shutdown(config.shutdownGraceMs);
  await probe.close();
  return ending.kind === 'failed' ? 1 : 0;
}
