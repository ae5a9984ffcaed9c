/**
 * Chaos-suite agent process (test-only entry; run with `node --import tsx test/chaos/agent-process.ts`).
 *
 * Runs one or more simulated agents on the real SDK (startAgent). Env:
 *   NATS_URL           the server
 *   CHAOS_AGENTS       JSON array of AgentSpec (below)
 *   CHAOS_AGENT_LOG    JSON-lines file, appended (no fsync: lines written before a kill -9 are in the page cache)
 * Each handler run writes a start line and an end line:
 *   {"e":"s","a":agentId,"t":taskId,"n":attempt,"at":epochMs,"f":inFlightIncludingThisOne}
 *   {"e":"e","a":agentId,"t":taskId,"n":attempt,"at":epochMs,"ok":success}
 * so the books can be checked after a kill -9: the agent's own concurrency, and every run's live period.
 * Prints `CHAOS_READY {...}` once every agent is registered; SIGTERM stops the agents gracefully and exits 0.
 */
import { appendFileSync } from 'node:fs';
import { pino } from 'pino';
import type { AgentHandle } from '../../src/agent/agent.js';
import { startAgent } from '../../src/agent/agent.js';

export interface AgentSpec {
  agentId: string;
  role?: string;
  maxConcurrent: number;
  /** Probability of success of one run. @default 0.8 */
  skill?: number;
  /** Simulated work, uniform in [minMs, maxMs]. @default 2..10 */
  minMs?: number;
  maxMs?: number;
  /** Never finish (the agent holds its assignments until it dies). */
  hang?: boolean;
}

const specs = JSON.parse(process.env['CHAOS_AGENTS'] ?? '[]') as AgentSpec[];
const logFile = process.env['CHAOS_AGENT_LOG'];
const url = process.env['NATS_URL'] ?? 'nats://127.0.0.1:4222';
if (!logFile || specs.length === 0) throw new Error('CHAOS_AGENTS and CHAOS_AGENT_LOG are required');

const log = pino({ level: process.env['LOG_LEVEL'] ?? 'warn' });
const record = (line: object) => appendFileSync(logFile, `${JSON.stringify(line)}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const handles: AgentHandle[] = [];
await Promise.all(
  specs.map(async (spec) => {
    let inFlight = 0;
    const handle = await startAgent({
      agentId: spec.agentId,
      role: spec.role ?? 'developer',
      maxConcurrent: spec.maxConcurrent,
      nats: { url },
      log,
      handler: async (assignment, { signal }) => {
        inFlight += 1;
        const base = { a: spec.agentId, t: assignment.taskId, n: assignment.attempt };
        record({ e: 's', ...base, at: Date.now(), f: inFlight });
        try {
          if (spec.hang) {
            await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
            throw new Error('aborted');
          }
          const min = spec.minMs ?? 2;
          const max = spec.maxMs ?? 10;
          await sleep(min + Math.random() * (max - min));
          const success = Math.random() < (spec.skill ?? 0.8);
          record({ e: 'e', ...base, at: Date.now(), ok: success });
          return success ? { success } : { success, error: 'simulated failure' };
        } finally {
          inFlight -= 1;
        }
      },
    });
    handles.push(handle);
  }),
);

process.on('SIGTERM', () => {
  void Promise.all(handles.map((h) => h.stop(2_000))).finally(() => process.exit(0));
});
process.stdout.write(`CHAOS_READY ${JSON.stringify({ pid: process.pid, agents: specs.length })}\n`);
