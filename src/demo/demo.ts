/**
 * `npm run demo`: the whole product on one machine. A NATS server, the embedded KG under .vapora/, one worker,
 * six simulated agents built on the SDK (hidden skills per task type), 2,000 tasks over 30 simulated days.
 * Then the same tasks again under the seed formula (a second worker with POLICY=seed, agents with the same skills
 * and no history). Ends with what was learned, how good the learned assignments were against the seed formula,
 * random and oracle assignment, and one learning curve.
 */
import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { JetStreamClient } from '@nats-io/jetstream';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { connect, headers } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { pino } from 'pino';
import { loadWorkerConfig } from '../config/config.js';
import type { AgentHandle } from '../agent/agent.js';
import { startAgent } from '../agent/agent.js';
import { Buckets, Subjects } from '../bus/subjects.js';
import type { Assignment, ProfileRecord, TaskArrived } from '../domain/index.js';
import { expertiseFromState } from '../domain/index.js';
import { barChart, percent, progressBar, table } from '../cli/render.js';
import { renderCurve } from '../cli/commands.js';
import { Worker } from '../worker/worker.js';
import { ensureNats } from './local-nats.js';
import type { SimTask } from './simulation.js';
import { SIM_AGENTS, SIM_TASK_TYPES, baselines, generateTasks, prng, skillOf } from './simulation.js';

export interface DemoOptions {
  tasks?: number;
  agents?: number;
  /** Serve the web dashboard from the start, and keep everything up after the report until Ctrl-C. */
  dashboard?: boolean;
}

interface Outcome {
  task: SimTask;
  agentId: string;
  taskType: string;
  policy: Assignment['policy'];
  mode: Assignment['mode'];
  success: boolean;
  expected: number;
}

const say = (line: string) => process.stdout.write(`${line}\n`);

export async function runDemo(options: DemoOptions = {}): Promise<number> {
  const started = Date.now();
  const taskCount = options.tasks ?? 2000;
  const agents = SIM_AGENTS.slice(
    0,
    Math.max(2, Math.min(SIM_AGENTS.length, options.agents ?? SIM_AGENTS.length)),
  );
  const nats = await ensureNats(say);
  const kgDir = resolve('.vapora/demo-kg');
  if (!process.env['SURREAL_URL']) await rm(kgDir, { recursive: true, force: true });
  const env = {
    ...process.env,
    NATS_URL: nats.url,
    SURREAL_URL: process.env['SURREAL_URL'] ?? `surrealkv://${kgDir}`,
    HTTP_PORT: process.env['HTTP_PORT'] ?? '0',
    LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'warn',
  };
  // The demo is the operator here: it knows its agents, so the worker holds them to a roster as in production.
  const roster = (list: typeof agents) =>
    list.map((a) => `${a.agentId}:${a.role}:${a.maxConcurrent}`).join(',');
  const config = loadWorkerConfig({ ...env, AGENTS: process.env['AGENTS'] ?? roster(agents) });
  say(`KG: ${config.kg.url}`);
  const log = pino({ level: config.logLevel }, pino.destination(2));
  const worker = await Worker.create({ config, log, name: 'vapora-demo-worker' });
  await worker.run();
  say(`worker: running (probes and metrics on http://127.0.0.1:${worker.httpPort}/metrics)`);

  const nc: NatsConnection = await connect({
    servers: nats.url,
    name: 'vapora-demo',
    maxReconnectAttempts: -1,
  });
  const js = jetstream(nc);
  const dashboard = options.dashboard
    ? await (
        await import('../dashboard/dashboard.js')
      )
        .startDashboard({ nc, log, port: 8090 })
        .catch(() => import('../dashboard/dashboard.js').then((d) => d.startDashboard({ nc, log })))
    : undefined;
  if (dashboard) say(`dashboard: ${dashboard.url}`);
  const now = new Date();
  const runId = `demo${now.getTime().toString(36)}`;
  const tasks = generateTasks(taskCount, runId, now);
  const { outcomes, handles } = await runTasks(js, nc, log, agents, tasks);
  // Let the learner catch up with the last results: every outcome counted in some profile.
  const counted = async () =>
    [...(await readProfiles(js)).values()].reduce((sum, p) => sum + p.totalExecutions, 0);
  await waitUntil(async () => (await counted()) >= outcomes.length, 15_000);

  // The seed formula on the same tasks: its own worker, and agents with the same skills but no history, so it
  // learns only from its own decisions.
  let seedOutcomes: Outcome[] = [];
  let seedWorker: Worker | undefined;
  if (outcomes.some((o) => o.policy !== 'seed')) {
    say('\nthe same tasks under the seed formula (POLICY=seed), with agents that have no history:');
    // Stopped while the first worker runs: it takes them out of the registry, so none is given a seed task.
    for (const handle of handles.splice(0)) await handle.stop(2_000);
    await worker.shutdown(5_000);
    const twins = agents.map((a) => ({ ...a, agentId: `${a.agentId}-seed` }));
    const seedConfig = loadWorkerConfig({
      ...env,
      POLICY: 'seed',
      POLICY_SPLIT: undefined,
      AGENTS: roster(twins),
    });
    seedWorker = await Worker.create({ config: seedConfig, log, name: 'vapora-demo-seed-worker' });
    await seedWorker.run();
    const seedRun = await runTasks(js, nc, log, twins, generateTasks(taskCount, `${runId}s`, now));
    seedOutcomes = seedRun.outcomes;
    handles.push(...seedRun.handles);
  }

  const ours = new Set(agents.map((a) => a.agentId));
  const profiles = new Map([...(await readProfiles(js))].filter(([, p]) => ours.has(p.agentId)));
  report(profiles, agents, outcomes, seedOutcomes, now);
  say(`\ndone in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  if (dashboard) {
    say(`\ndashboard: ${dashboard.url} (agents stay up; Ctrl-C to stop)`);
    await new Promise<void>((r) => ['SIGINT', 'SIGTERM'].forEach((s) => process.once(s, () => r())));
    await dashboard.stop();
  }

  for (const handle of handles) await handle.stop(2_000);
  await nc.drain();
  await worker.shutdown(5_000);
  await seedWorker?.shutdown(5_000);
  await nats.server?.stop();
  return 0;
}

/**
 * Starts the agents and publishes the tasks, keeping a little less outstanding than the agents can hold, until
 * every task is completed; returns the outcomes in completion order and the running agents.
 */
async function runTasks(
  js: JetStreamClient,
  nc: NatsConnection,
  log: Logger,
  agents: typeof SIM_AGENTS,
  tasks: SimTask[],
): Promise<{ outcomes: Outcome[]; handles: AgentHandle[] }> {
  const taskCount = tasks.length;
  const byId = new Map(tasks.map((t) => [t.taskId, t]));
  const outcomes: Outcome[] = [];
  let completed = 0;
  let wake: (() => void) | undefined;

  const random = prng(7);
  const handles: AgentHandle[] = [];
  for (const agent of agents) {
    handles.push(
      await startAgent({
        agentId: agent.agentId,
        role: agent.role,
        maxConcurrent: agent.maxConcurrent,
        nats: nc,
        log,
        heartbeatIntervalMs: 5_000,
        handler: async (assignment) => {
          const task = byId.get(assignment.taskId)!;
          const p = skillOf(agents, agent.agentId, assignment.taskType, task.progress);
          await new Promise((r) => setTimeout(r, 2 + random() * 8));
          const success = random() < p;
          outcomes.push({
            task,
            agentId: agent.agentId,
            taskType: assignment.taskType,
            policy: assignment.policy,
            mode: assignment.mode,
            success,
            expected: p,
          });
          completed += 1;
          wake?.();
          return {
            success,
            durationMs: Math.round(30_000 + random() * 120_000 * (success ? 1 : 2)),
            finishedAt: new Date(task.simulatedAt),
            qualityScore: success ? 0.7 + random() * 0.3 : random() * 0.4,
          };
        },
      }),
    );
  }
  say(`agents: ${agents.map((a) => `${a.agentId}(${a.maxConcurrent})`).join(', ')} registered\n`);

  // Producer with backpressure: keep a little less outstanding work than the agents can hold.
  const window = Math.max(1, agents.reduce((sum, a) => sum + a.maxConcurrent, 0) - 4);
  const tty = process.stdout.isTTY === true;
  let lastShown = -1;
  const show = () => {
    const step = Math.floor((completed / taskCount) * 10);
    if (tty) process.stdout.write(`\r${progressBar(completed, taskCount)} tasks completed`);
    else if (step !== lastShown) say(progressBar(completed, taskCount));
    lastShown = step;
  };
  const ticker = setInterval(show, 200);
  for (const task of tasks) {
    while (tasks.indexOf(task) - completed >= window) await new Promise<void>((r) => (wake = r));
    const payload: TaskArrived = {
      taskId: task.taskId,
      title: task.title,
      metadata: { simulatedAt: task.simulatedAt },
    };
    const h = headers();
    h.set('Nats-Msg-Id', task.taskId);
    await js.publish(Subjects.taskArrived, JSON.stringify(payload), { headers: h });
  }
  while (completed < taskCount) await new Promise<void>((r) => (wake = r));
  clearInterval(ticker);
  show();
  if (tty) say('');
  return { outcomes, handles };
}

async function waitUntil(probe: () => Promise<unknown>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every profile in the cache bucket, read through the demo's own connection as any client would. */
async function readProfiles(js: JetStreamClient): Promise<Map<string, ProfileRecord>> {
  const kv = await new Kvm(js).open(Buckets.profiles);
  const profiles = new Map<string, ProfileRecord>();
  for await (const key of await kv.keys()) {
    const entry = await kv.get(key);
    if (entry?.operation === 'PUT') profiles.set(key, entry.json<ProfileRecord>());
  }
  return profiles;
}

function report(
  profiles: ReadonlyMap<string, ProfileRecord>,
  agents: typeof SIM_AGENTS,
  outcomes: Outcome[],
  seedOutcomes: Outcome[],
  now: Date,
): void {
  say('\n(1) Learned success rate / hidden skill, in % (executions); learned = the last 100 executions');
  const header = ['agent', ...SIM_TASK_TYPES];
  const rows = agents.map((agent) => [
    agent.agentId,
    ...SIM_TASK_TYPES.map((type) => {
      const record = profiles.get(`${agent.agentId}.${type}`);
      const hidden = Math.round(agent.skill[type]!(1) * 100);
      if (!record) return ` — / ${hidden}`;
      const e = expertiseFromState(record.state, now);
      return `${Math.round(e.successRate * 100)} / ${hidden} (${e.totalExecutions})`;
    }),
  ]);
  say(table(header, rows));

  const { random, oracle } = baselines(
    agents,
    outcomes.map((o) => ({ taskType: o.taskType, progress: o.task.progress })),
  );
  const expected = outcomes.reduce((s, o) => s + o.expected, 0) / outcomes.length;
  const observed = outcomes.filter((o) => o.success).length / outcomes.length;
  const lastQuarter = [...outcomes]
    .sort((a, b) => a.task.progress - b.task.progress)
    .slice(-Math.floor(outcomes.length / 4));
  const lastExpected = lastQuarter.reduce((s, o) => s + o.expected, 0) / lastQuarter.length;
  const lastBaselines = baselines(
    agents,
    lastQuarter.map((o) => ({ taskType: o.taskType, progress: o.task.progress })),
  );
  // The seed formula's own run on the same tasks: its expected success, overall and over the last quarter.
  const seedSorted = [...seedOutcomes].sort((a, b) => a.task.progress - b.task.progress);
  const seedLast = seedSorted.slice(-lastQuarter.length);
  const mean = (list: Outcome[]) => list.reduce((s, o) => s + o.expected, 0) / list.length;
  const seedObserved = seedOutcomes.filter((o) => o.success).length / seedOutcomes.length;
  const fallback = outcomes.filter((o) => o.mode === 'load-fallback').length;
  say(`\n(2) Success rate on the same ${outcomes.length} tasks`);
  say(
    barChart([
      { label: 'random assignment (expected)', value: random },
      ...(seedOutcomes.length > 0
        ? [
            {
              label: 'seed formula (expected)',
              value: mean(seedOutcomes),
              note: `observed ${percent(seedObserved)}`,
            },
          ]
        : []),
      {
        label: 'learned assignment (expected)',
        value: expected,
        note: `${[...new Set(outcomes.map((o) => o.policy))].join(', ')}, observed ${percent(observed)}`,
      },
      {
        label: 'learned, last quarter',
        value: lastExpected,
        note:
          `random ${percent(lastBaselines.random)}, ` +
          (seedLast.length > 0 ? `seed ${percent(mean(seedLast))}, ` : '') +
          `oracle ${percent(lastBaselines.oracle)}`,
      },
      { label: 'perfect oracle (expected)', value: oracle },
    ]),
  );
  say(
    `decisions: ${outcomes.length - fallback} learned, ${fallback} load-fallback (no history yet for that task type)`,
  );

  const best = [...profiles.values()].sort(
    (a, b) => b.totalExecutions - a.totalExecutions || (a.agentId < b.agentId ? -1 : 1),
  );
  const curveRecord = best[0];
  if (curveRecord) say(`\n(3) ${renderCurve(curveRecord, now)}`);
}
