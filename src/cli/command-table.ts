/** Every `vapora-learning` command, defined once: this table drives parsing, usage, help and dispatch. */
import { existsSync } from 'node:fs';
import { envNamesOf } from '../config/env-schema.js';
import type { Command } from './command.js';
import { UsageError, defineCommand } from './command.js';
import {
  agentsList,
  curve,
  profilesRebuild,
  profilesShow,
  streamsApply,
  tasksPublish,
  tasksShow,
} from './commands.js';
import { agentsAdd, authRender } from './auth-commands.js';
import { dlqList, dlqPurge, dlqReplay } from './dlq-commands.js';
import { parseScenarios, parseSeeds, policiesCompare, replay, simulateCommand } from './policy-commands.js';
import { runWorkerCommand } from './worker-command.js';

const out = (line: string) => process.stdout.write(`${line}\n`);

const NATS_ENV = envNamesOf('nats');
const WORKER_ENV = envNamesOf('nats', 'kg', 'worker');

/** `--tasks abc` gave NaN (a report of NaN%), `--agents abc` no agents at all (the demo waited forever). */
function positiveInt(option: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`${option} needs a positive integer, got '${value}'`);
  return n;
}

export const COMMANDS: readonly Command[] = [
  defineCommand({
    name: 'worker',
    summary: 'run a worker replica (assigner + learner consumers, probes on HTTP_PORT)',
    description:
      'Runs one stateless worker replica until SIGTERM/SIGINT, then drains within SHUTDOWN_GRACE_MS.\n' +
      'An invalid variable stops it before it connects, with every problem listed.',
    env: WORKER_ENV,
    run: () => runWorkerCommand(),
  }),
  defineCommand({
    name: 'demo',
    summary: 'run the end-to-end demo: NATS, KG, worker, simulated agents, 2,000 tasks',
    description:
      'Starts a private nats-server when none answers at NATS_URL, an embedded KG under .vapora/, a worker and\n' +
      'simulated agents with hidden skills, publishes tasks and reports what was learned. Unless set, HTTP_PORT\n' +
      'is 0 (a free port) and LOG_LEVEL is warn.',
    options: {
      tasks: { type: 'string', value: 'N', description: 'tasks to publish (default 2000)' },
      agents: { type: 'string', value: 'N', description: 'simulated agents, 2 to 6 (default 6)' },
      dashboard: { type: 'boolean', description: 'serve the web dashboard and stay up after the report' },
    },
    env: WORKER_ENV,
    run: async ({ options }) => {
      const tasks = positiveInt('--tasks', options.tasks);
      const agents = positiveInt('--agents', options.agents);
      const { runDemo } = await import('../demo/demo.js');
      return runDemo({
        ...(tasks !== undefined ? { tasks } : {}),
        ...(agents !== undefined ? { agents } : {}),
        ...(options.dashboard === true ? { dashboard: true } : {}),
      });
    },
  }),
  defineCommand({
    name: 'streams apply',
    summary: 'create or update streams, consumers and KV buckets (idempotent)',
    description:
      'Applies streams/*.json to the NATS server and prints what was created, updated or unchanged.',
    env: [...NATS_ENV, 'STREAM_REPLICAS'],
    run: () => streamsApply(out),
  }),
  defineCommand({
    name: 'tasks publish',
    summary: 'publish a task on vapora.tasks.arrived',
    description:
      'Publishes one task with Nats-Msg-Id = its taskId, so publishing the same --id twice stores it once.',
    options: {
      title: { type: 'string', value: 'TITLE', description: 'what the task is', required: true },
      description: { type: 'string', value: 'TEXT', description: 'longer text, used to infer the task type' },
      type: { type: 'string', value: 'TYPE', description: 'task type (inferred from the text when absent)' },
      role: { type: 'string', value: 'ROLE', description: 'only agents with this role may take it' },
      candidates: { type: 'string', value: 'a,b', description: 'only these agents (comma-separated ids)' },
      id: { type: 'string', value: 'ID', description: 'taskId (a new UUID when absent); one subject token' },
    },
    env: NATS_ENV,
    run: async ({ options }) => {
      const candidates = options.candidates
        ?.split(',')
        .map((c) => c.trim())
        .filter(Boolean);
      await tasksPublish(
        {
          title: options.title,
          ...(options.description ? { description: options.description } : {}),
          ...(options.type ? { type: options.type } : {}),
          ...(options.role ? { role: options.role } : {}),
          ...(candidates ? { candidates } : {}),
          ...(options.id ? { id: options.id } : {}),
        },
        out,
      );
    },
  }),
  defineCommand({
    name: 'tasks show',
    summary:
      "a task's assignment state and history (assigned, timed out, reassigned, completed, unassignable)",
    description: 'Exits 1 when the worker has no state for the task.',
    args: [{ name: 'taskId', description: 'the task', required: true }],
    env: NATS_ENV,
    run: async ({ args }) => ((await tasksShow(args.taskId, out)) ? 0 : 1),
  }),
  defineCommand({
    name: 'agents list',
    summary: 'registered agents with load and last heartbeat',
    env: NATS_ENV,
    run: () => agentsList(out),
  }),
  defineCommand({
    name: 'agents add',
    summary: 'print everything to apply to add an agent: NATS user, Secrets, worker AGENTS, Deployment',
    description:
      'Renders auth.conf for the current roster plus the new agent and lists the Secret keys, the AGENTS value\n' +
      'for the worker and the agent Deployment steps. Changes nothing itself. The current roster is --agents,\n' +
      'else the AGENTS variable.',
    args: [
      { name: 'agent', description: 'id[:role[:maxConcurrent]] (default role developer, 4)', required: true },
    ],
    options: {
      agents: {
        type: 'string',
        value: 'ROSTER',
        description: 'the current roster, id[:role[:max]],… (default: AGENTS)',
      },
      out: {
        type: 'string',
        value: 'FILE',
        description: 'write the new auth.conf to FILE instead of printing it',
      },
    },
    env: ['AGENTS'],
    run: ({ args, options }) =>
      agentsAdd(
        args.agent,
        options.agents !== undefined
          ? { text: options.agents, source: '--agents' }
          : { text: process.env['AGENTS'], source: 'AGENTS' },
        options.out,
        out,
      ),
  }),
  defineCommand({
    name: 'auth render',
    summary:
      'print the nats-server authorization (account VAPORA, worker, producer, dashboard, one user per agent)',
    description:
      'Renders k8s/base/nats/auth.conf for a roster: users worker, producer, dashboard and agent-<id>, passwords\n' +
      'from $VAPORA_WORKER_PASSWORD, $VAPORA_PRODUCER_PASSWORD, $VAPORA_DASHBOARD_PASSWORD and\n' +
      "$VAPORA_AGENT_<ID>_PASSWORD (id upper-cased, '-' as '_'). Use the worker's AGENTS value as the roster.",
    options: {
      agents: {
        type: 'string',
        value: 'ROSTER',
        description: 'the agents, id[:role[:maxConcurrent]],…',
        required: true,
      },
      out: { type: 'string', value: 'FILE', description: 'write to FILE instead of printing' },
    },
    run: ({ options }) => authRender(options.agents, options.out, out),
  }),
  defineCommand({
    name: 'profiles show',
    summary: 'cached learning profiles as a table',
    args: [{ name: 'agentId', description: 'only the profiles of this agent' }],
    env: NATS_ENV,
    run: ({ args }) => profilesShow(args.agentId, out),
  }),
  defineCommand({
    name: 'profiles rebuild',
    summary: 'recompute every cached profile from the knowledge graph',
    description:
      'Reads every (agent, task type) history from the KG at SURREAL_URL and rewrites vapora_profiles.\n' +
      'Stop the workers first when the KG is an embedded store (one process per store).',
    env: envNamesOf('nats', 'kg'),
    run: () => profilesRebuild(out, process.stdout.isTTY === true),
  }),
  defineCommand({
    name: 'simulate',
    summary: 'compare the decision policies on simulated workloads (success ÷ oracle, recovery, spend)',
    description:
      'Runs every policy (and the per-step oracle) on seeded scenarios with known skills and prints one row per\n' +
      'scenario and policy. Needs nothing running. docs/policies.md explains the columns.',
    options: {
      steps: { type: 'string', value: 'N', description: 'tasks per run (default 4000)' },
      seeds: { type: 'string', value: '1,2,3', description: 'seeds to average over (default 1,2,3,4,5)' },
      scenario: {
        type: 'string',
        value: 'NAME',
        description: 'only these scenarios, comma-separated (default all)',
      },
    },
    run: ({ options }) => {
      const steps = positiveInt('--steps', options.steps);
      const seeds = parseSeeds(options.seeds);
      const scenarios = parseScenarios(options.scenario);
      simulateCommand(
        {
          ...(steps !== undefined ? { steps } : {}),
          ...(seeds !== undefined ? { seeds } : {}),
          ...(scenarios !== undefined ? { scenarios } : {}),
        },
        out,
      );
      return Promise.resolve();
    },
  }),
  defineCommand({
    name: 'replay',
    summary: "estimate a policy's success and cost on the logged decisions (IPS, SNIPS, doubly robust)",
    description:
      'Reads kg_decisions since --since joined with their outcomes in kg_executions and estimates what --policy\n' +
      'would have achieved, with 95% intervals. Stop the workers first when the KG is an embedded store.',
    options: {
      policy: { type: 'string', value: 'P', description: 'the policy to evaluate', required: true },
      since: {
        type: 'string',
        value: '7d',
        description: 'decisions from this long ago (7d, 12h) or an ISO date',
      },
      budget: {
        type: 'string',
        value: 'CENTS',
        description: "cost-aware's budgetCentsPerTask (required for it)",
      },
    },
    env: envNamesOf('kg'),
    run: ({ options }) =>
      replay(
        {
          policy: options.policy,
          ...(options.since !== undefined ? { since: options.since } : {}),
          ...(options.budget !== undefined ? { budget: options.budget } : {}),
        },
        out,
      ),
  }),
  defineCommand({
    name: 'policies compare',
    summary: 'per-policy success and cost of an A/B split (POLICY_SPLIT), with the difference and its CI',
    description:
      'Groups the logged decisions since --since by the policy that made them and prints success and cost per\n' +
      'task with 95% intervals, then each policy minus the baseline. Stop the workers first when the KG is an\n' +
      'embedded store.',
    options: {
      since: {
        type: 'string',
        value: '7d',
        description: 'decisions from this long ago (7d, 12h) or an ISO date',
      },
      baseline: {
        type: 'string',
        value: 'P',
        description: 'the policy others are compared to (default seed, else the largest arm)',
      },
    },
    env: envNamesOf('kg'),
    run: ({ options }) =>
      policiesCompare(
        {
          ...(options.since !== undefined ? { since: options.since } : {}),
          ...(options.baseline !== undefined ? { baseline: options.baseline } : {}),
        },
        out,
      ),
  }),
  defineCommand({
    name: 'curve',
    summary: 'draw a learning curve in the terminal',
    args: [
      { name: 'agentId', description: 'the agent', required: true },
      { name: 'taskType', description: 'the task type', required: true },
    ],
    env: NATS_ENV,
    run: ({ args }) => curve(args.agentId, args.taskType, out),
  }),
  defineCommand({
    name: 'dlq list',
    summary: 'dead letters: reason, error, original subject and sequence, age',
    description:
      'Reads VAPORA_DLQ with an ordered consumer (nothing durable is created). --origin takes the original\n' +
      'subject or a pattern, with or without the vapora. prefix: results.*, tasks.arrived.',
    options: {
      origin: {
        type: 'string',
        value: 'SUBJECT',
        description: 'only dead letters from this origin (wildcards ok)',
      },
      since: {
        type: 'string',
        value: 'WHEN',
        description: 'only newer ones: a duration (30m, 2h, 7d) or an ISO date',
      },
      reason: { type: 'string', value: 'TEXT', description: 'only those whose reason contains TEXT' },
      json: { type: 'boolean', description: 'one JSON object per line instead of a table' },
    },
    env: NATS_ENV,
    run: ({ options }) =>
      dlqList(
        {
          ...(options.origin !== undefined ? { origin: options.origin } : {}),
          ...(options.since !== undefined ? { since: options.since } : {}),
          ...(options.reason !== undefined ? { reason: options.reason } : {}),
        },
        options.json === true,
        out,
      ),
  }),
  defineCommand({
    name: 'dlq replay',
    summary: 're-publish dead letters to their original subjects (after the cause is fixed)',
    description:
      'Re-publishes the original bytes and application headers with Nats-Msg-Id vapora-dlq-replay-<seq>, then\n' +
      'deletes the dead letter (unless --keep): replaying twice counts once. Give a sequence, or --all-matching\n' +
      'with --origin/--since/--reason. A dead letter that fails again is dead-lettered again, under a new sequence.',
    args: [{ name: 'seq', description: 'the dead letter (its VAPORA_DLQ sequence, from dlq list)' }],
    options: {
      'all-matching': { type: 'boolean', description: 'replay every dead letter matching the filters' },
      origin: { type: 'string', value: 'SUBJECT', description: 'with --all-matching: only this origin' },
      since: { type: 'string', value: 'WHEN', description: 'with --all-matching: only newer ones' },
      reason: { type: 'string', value: 'TEXT', description: 'with --all-matching: reason contains TEXT' },
      keep: { type: 'boolean', description: 'keep the dead letters after re-publishing them' },
    },
    env: NATS_ENV,
    run: async ({ args, options }) => {
      const all = options['all-matching'] === true;
      if (all === (args.seq !== undefined))
        throw new UsageError('dlq replay needs either <seq> or --all-matching');
      if (!all && (options.origin ?? options.since ?? options.reason) !== undefined)
        throw new UsageError('--origin, --since and --reason go with --all-matching');
      const seq = positiveInt('<seq>', args.seq);
      const keep = options.keep === true;
      await dlqReplay(
        seq !== undefined
          ? { seq, keep }
          : {
              keep,
              allMatching: {
                ...(options.origin !== undefined ? { origin: options.origin } : {}),
                ...(options.since !== undefined ? { since: options.since } : {}),
                ...(options.reason !== undefined ? { reason: options.reason } : {}),
              },
            },
        out,
      );
    },
  }),
  defineCommand({
    name: 'dlq purge',
    summary: 'delete dead letters for good (asks for --yes)',
    description: 'Without --yes, prints how many would go and exits 1.',
    options: {
      origin: {
        type: 'string',
        value: 'SUBJECT',
        description: 'only dead letters from this origin (wildcards ok)',
      },
      yes: { type: 'boolean', description: 'really purge' },
    },
    env: NATS_ENV,
    run: ({ options }) => dlqPurge(options.origin, options.yes === true, out),
  }),
  defineCommand({
    name: 'dashboard',
    summary: 'serve the read-only web dashboard (agents, rankings, learning curves, decisions, dead letters)',
    description:
      'Watches the KV buckets and subscribes to assignments, results and dead letters; serves one page that\n' +
      'updates live over server-sent events. Writes nothing. Everything is served from the package (no CDN).',
    options: {
      port: { type: 'string', value: 'PORT', description: 'HTTP port (default 8090; 0 picks a free one)' },
      host: { type: 'string', value: 'HOST', description: 'address to listen on (default 127.0.0.1)' },
    },
    env: [...NATS_ENV, 'LOG_LEVEL'],
    run: async ({ options }) => {
      const port = options.port === '0' ? 0 : (positiveInt('--port', options.port) ?? 8090);
      const { runDashboardCommand } = await import('../dashboard/run-dashboard.js');
      return runDashboardCommand({ port, host: options.host ?? '127.0.0.1', out });
    },
  }),
  defineCommand({
    name: 'validate deploy',
    summary: 'check k8s/ and provisioning/ (schemas, references, agreement)',
    description:
      'Validates the Kubernetes manifests and the Provisioning workspace; prints file: key: problem lines.',
    args: [{ name: 'rootDir', description: 'repository root (default: the current directory)' }],
    run: async ({ args }) => {
      // A development tool (tools/deploy), not shipped: found only when running from a source checkout via tsx.
      // Imported by URL, not by a literal specifier, so tsc never pulls the tool (or its libraries) into dist/.
      const entry = new URL('../../tools/deploy/main.ts', import.meta.url);
      if (!import.meta.url.endsWith('.ts') || !existsSync(entry)) {
        process.stderr.write(
          'error: validate deploy is a development tool; run `npm run validate:deploy` from a source checkout\n',
        );
        return 1;
      }
      const tool = (await import(entry.href)) as { runValidateDeploy(rootDir: string): Promise<number> };
      return tool.runValidateDeploy(args.rootDir ?? process.cwd());
    },
  }),
];
