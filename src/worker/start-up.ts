/**
 * Starting a replica through an outage: the probes are served at once (/healthz alive, /readyz not ready and
 * saying what it waits for), and Worker.create is tried again with backoff for as long as NATS or the KG cannot
 * be reached, logging every attempt. A worker that exited instead would sit in CrashLoopBackOff (minutes) or, outside
 * Kubernetes, be gone. Only an error that waiting cannot fix (a bad configuration) ends the wait.
 */
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { classifyNatsError } from '../bus/errors.js';
import { ErrorCodes, errorCode, isRetryable } from '../errors.js';
import type { ProbeServer } from './http-server.js';
import { startProbeServer } from './http-server.js';
import type { Readiness } from './readiness.js';
import type { WorkerOptions } from './worker.js';
import { Worker } from './worker.js';

export interface StartUpOptions extends Omit<WorkerOptions, 'serveProbes'> {
  log: Logger;
  /** Aborting stops the wait (SIGTERM before the dependencies came back); startWorker then resolves undefined. */
  signal?: AbortSignal;
  /** First and longest pause between attempts. @default 500, 10000 */
  minDelayMs?: number;
  maxDelayMs?: number;
}

export interface StartedWorker {
  worker: Worker;
  /** The probe server, served since before the first attempt; close it after the worker's shutdown. */
  probe: ProbeServer;
}

/** What an attempt was waiting for, from the error's code. */
export function waitingFor(err: unknown): string {
  const code = errorCode(classifyNatsError(err));
  if (code === ErrorCodes.NatsUnavailable) return 'nats';
  if (code === ErrorCodes.KgUnavailable) return 'kg';
  return code ?? 'unknown';
}

/** Creates and runs a worker, waiting out NATS and KG outages; undefined when aborted while waiting. */
export async function startWorker(options: StartUpOptions): Promise<StartedWorker | undefined> {
  const { log, signal, config } = options;
  let worker: Worker | undefined;
  let waiting = 'nats';
  let lastError = '';
  let started = false;
  const placeholder = new Registry();
  const probe = await startProbeServer({
    port: config.httpPort,
    registry: () => worker?.metricsRegistry ?? placeholder,
    readiness: (): Promise<Readiness> =>
      worker
        ? worker.ready()
        : Promise.resolve({
            ready: false,
            state: 'starting',
            checks: [{ name: waiting, ok: false, error: `waiting for ${waiting}: ${lastError}` }],
          }),
    isAlive: () => (worker ? worker.state === 'starting' || worker.state === 'running' : true),
  });
  log.info({ httpPort: probe.port }, 'probes served; connecting to NATS and the knowledge graph');
  const minDelay = options.minDelayMs ?? 500;
  const maxDelay = options.maxDelayMs ?? 10_000;
  for (let attempt = 1, delay = minDelay; ; attempt += 1, delay = Math.min(maxDelay, delay * 2)) {
    if (signal?.aborted) {
      await probe.close();
      return undefined;
    }
    try {
      const { signal: _signal, minDelayMs: _min, maxDelayMs: _max, ...workerOptions } = options;
      const created = await Worker.create({
        ...workerOptions,
        serveProbes: false,
        // A failure while starting is this loop's to handle; after that, the caller's.
        onFailed: (err) => {
          if (started) options.onFailed?.(err);
        },
      });
      worker = created;
      if (signal?.aborted) {
        await created.shutdown();
        await probe.close();
        return undefined;
      }
      await created.run();
      started = true;
      if (attempt > 1) log.info({ attempts: attempt }, 'dependencies answer; worker started');
      return { worker: created, probe };
    } catch (err) {
      if (worker) {
        // run() failed (the consumers could not start): let go of this one and, for an outage, try again.
        await worker.shutdown().catch(() => undefined);
        worker = undefined;
      }
      if (!isRetryable(classifyNatsError(err))) {
        await probe.close();
        throw err;
      }
      waiting = waitingFor(err);
      lastError = err instanceof Error ? err.message : String(err);
      log.warn(
        { attempt, waitingFor: waiting, retryInMs: delay, err: lastError },
        `waiting for ${waiting}; trying again`,
      );
      await sleep(delay, signal);
    }
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
