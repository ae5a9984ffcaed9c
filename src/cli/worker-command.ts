/** `vapora-learning worker`: one replica until SIGTERM/SIGINT, then a bounded drain and exit. */
import { loadWorkerConfig } from '../config/config.js';
import { createLogger } from '../worker/logger.js';
import { Worker } from '../worker/worker.js';

export async function runWorkerCommand(): Promise<number> {
  const config = loadWorkerConfig();
  const log = createLogger(config.logLevel);
  const worker = await Worker.create({ config, log });
  await worker.run();
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  log.info({ signal }, 'signal received');
  // The embedded surrealkv store can hang on close: exit even if something does not let go.
  const hardStop = setTimeout(() => {
    log.error('shutdown exceeded the grace period; exiting');
    process.exit(1);
  }, config.shutdownGraceMs + 5_000);
  hardStop.unref();
  await worker.shutdown(config.shutdownGraceMs);
  return 0;
}
