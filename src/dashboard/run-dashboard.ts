/** `vapora-learning dashboard`: the read-only web dashboard until SIGTERM/SIGINT. */
import { connectNats } from '../bus/connect.js';
import { loadEnv, loadNatsConfig } from '../config/config.js';
import type { Logger } from 'pino';
import type { Policy } from '../domain/index.js';
import { DEFAULT_POLICY, createPolicy } from '../domain/index.js';
import { createLogger } from '../worker/logger.js';
import { startDashboard } from './dashboard.js';

export interface RunDashboardOptions {
  port: number;
  host: string;
  out: (line: string) => void;
}

export async function runDashboardCommand(options: RunDashboardOptions): Promise<number> {
  const log = createLogger(loadEnv(['LOG_LEVEL']).LOG_LEVEL, 'vapora-dashboard');
  const nc = await connectNats(loadNatsConfig(), {
    name: 'vapora-dashboard',
    timeoutMs: 5000,
    // Its own reply inbox, so a read-only `dashboard` NATS user needs no access to `_INBOX.>` (docs/dashboard.md).
    inboxPrefix: '_INBOX.dashboard',
  });
  const policy = viewPolicy(process.env['POLICY'], log);
  const dashboard = await startDashboard({ nc, log, port: options.port, host: options.host, policy }).catch(
    async (err: unknown) => {
      await nc.close();
      throw err;
    },
  );
  options.out(`dashboard: ${dashboard.url} (read-only; Ctrl-C to stop)`);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  log.info({ signal }, 'signal received');
  await dashboard.stop();
  await nc.drain().catch(() => undefined);
  return 0;
}

/**
 * The rankings show what POLICY would choose (the worker's variable, when the dashboard shares its environment), or
 * the default policy's view. A policy that needs options (cost-aware's budget) falls back to the default, with a
 * warning.
 */
function viewPolicy(name: string | undefined, log: Logger): Policy {
  if (name === undefined || name.trim() === '') return createPolicy(DEFAULT_POLICY);
  try {
    return createPolicy(name.trim());
  } catch (err) {
    log.warn({ err, policy: name }, `rankings show the default policy (${DEFAULT_POLICY}) instead`);
    return createPolicy(DEFAULT_POLICY);
  }
}
