/**
 * Chaos-suite worker process (test-only entry; run with `node --import tsx test/chaos/worker-process.ts`).
 *
 * Configured like the production worker (loadWorkerConfig(process.env)), plus two test-only knobs that production
 * configuration cannot reach because they live here and not in src/:
 *   - the knowledge graph is wrapped in withFaultInjection(); SIGUSR2 makes it unavailable, SIGUSR1 available again;
 *   - CHAOS_WORKER_INSTANCES (default 1) runs that many Worker replicas in this process, sharing one KG (the only
 *     way to run several replicas against one embedded store, which is single-process).
 * Like the worker command, a replica started while NATS is unreachable waits for it (startWorker).
 * SIGTERM: every replica shuts down (bounded by SHUTDOWN_GRACE_MS), the KG is closed, and the process exits 0.
 * Prints one line `CHAOS_READY {"pid":…,"httpPorts":[…]}` on stdout once every replica is running.
 */
import { loadWorkerConfig } from '../../src/config/config.js';
import { connectKnowledgeGraph } from '../../src/kg/connect.js';
import { withFaultInjection } from '../support/faulty-knowledge-graph.js';
import type { ProbeServer } from '../../src/worker/http-server.js';
import { createLogger } from '../../src/worker/logger.js';
import { startWorker } from '../../src/worker/start-up.js';
import type { Worker } from '../../src/worker/worker.js';

const config = loadWorkerConfig(process.env);
const instances = Number(process.env['CHAOS_WORKER_INSTANCES'] ?? '1');
const name = process.env['CHAOS_WORKER_NAME'] ?? `chaos-worker-${process.pid}`;

const inner = await connectKnowledgeGraph(config.kg);
const faulty = withFaultInjection(inner);

// Installed before anything slow, so a signal sent right after CHAOS_READY is never lost. (A SIGUSR1 listener
// also stops Node from starting the inspector on that signal.)
process.on('SIGUSR2', () => {
  faulty.setUnavailable(true);
  process.stdout.write(`CHAOS_KG unavailable at=${Date.now()}\n`);
});
process.on('SIGUSR1', () => {
  faulty.setUnavailable(false);
  process.stdout.write(`CHAOS_KG available at=${Date.now()}\n`);
});

const log = createLogger(config.logLevel);
const workers: Worker[] = [];
const probes: ProbeServer[] = [];
for (let i = 0; i < instances; i += 1) {
  // Sequential: replicas apply the topology one after the other (as rolling pods would). As the worker command
  // does, each one waits out a NATS outage at start (probes served meanwhile) instead of exiting.
  const started = await startWorker({ config, log, kg: faulty.kg, name: `${name}-${i}`, minDelayMs: 200 });
  if (!started) throw new Error('start-up aborted');
  workers.push(started.worker);
  probes.push(started.probe);
}

let stopping = false;
process.on('SIGTERM', () => {
  if (stopping) return;
  stopping = true;
  const stopAt = Date.now();
  const hardStop = setTimeout(() => {
    process.stdout.write(`CHAOS_SHUTDOWN hard stop after ${Date.now() - stopAt} ms\n`);
    process.exit(1);
  }, config.shutdownGraceMs + 5_000);
  hardStop.unref();
  void (async () => {
    await Promise.all(workers.map((w) => w.shutdown(config.shutdownGraceMs)));
    await Promise.all(probes.map((p) => p.close()));
    faulty.setUnavailable(false);
    await inner.close().catch(() => undefined);
    process.stdout.write(`CHAOS_SHUTDOWN clean in ${Date.now() - stopAt} ms\n`);
    process.exit(0);
  })().catch((err: unknown) => {
    process.stdout.write(`CHAOS_SHUTDOWN failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
});

process.stdout.write(
  `CHAOS_READY ${JSON.stringify({ pid: process.pid, httpPorts: probes.map((p) => p.port) })}\n`,
);
