/**
 * The `vapora-learning` command. Every failure prints one line saying what was tried and how to fix it, and
 * exits non-zero; `--verbose` adds the stack trace.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { isVaporaError } from '../errors.js';
import { isKgUnavailable } from '../errors.js';
import {
  UsageError,
  agentsList,
  curve,
  profilesRebuild,
  profilesShow,
  streamsApply,
  tasksPublish,
  tasksShow,
} from './commands.js';
import { runWorkerCommand } from './worker-command.js';

interface Command {
  usage: string;
  summary: string;
  help: string;
  options?: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;
  run(positionals: string[], values: Record<string, unknown>): Promise<number | void>;
}

const out = (line: string) => process.stdout.write(`${line}\n`);

const ENV_HELP = `Environment: NATS_URL (default nats://127.0.0.1:4222), NATS_USER/NATS_PASS, NATS_TOKEN, NATS_CREDS,
NATS_TLS_CA/NATS_TLS_CERT/NATS_TLS_KEY; SURREAL_URL (default surrealkv://.vapora/kg), SURREAL_USER/SURREAL_PASS,
SURREAL_NS (vapora), SURREAL_DB (kg).`;

const commands: Record<string, Command> = {
  worker: {
    usage: 'worker',
    summary: 'run a worker replica (assigner + learner consumers, probes on HTTP_PORT)',
    help: `Runs one stateless worker replica until SIGTERM/SIGINT, then drains within SHUTDOWN_GRACE_MS.
Also: HTTP_PORT (8080; 0 picks a free port), LOG_LEVEL (info), WORKER_CONCURRENCY (16), APPLY_STREAMS (true),
UNASSIGNABLE_AFTER_MS (300000), USE_RECENCY (false), STREAM_REPLICAS (1).
${ENV_HELP}`,
    run: () => runWorkerCommand(),
  },
  demo: {
    usage: 'demo [--tasks N] [--agents N]',
    summary: 'run the end-to-end demo: NATS, KG, worker, simulated agents, 2,000 tasks',
    help: `Starts a private nats-server when none answers at NATS_URL, an embedded KG under .vapora/, a worker and
simulated agents with hidden skills, publishes tasks and reports what was learned.`,
    options: { tasks: { type: 'string' }, agents: { type: 'string' } },
    run: async (_p, values) => {
      const { runDemo } = await import('../demo/demo.js');
      return runDemo({
        ...(values['tasks'] !== undefined ? { tasks: positiveInt('--tasks', values['tasks']) } : {}),
        ...(values['agents'] !== undefined ? { agents: positiveInt('--agents', values['agents']) } : {}),
      });
    },
  },
  'streams apply': {
    usage: 'streams apply',
    summary: 'create or update streams, consumers and KV buckets (idempotent)',
    help: `Applies streams/*.json to the NATS server. STREAM_REPLICAS overrides replicas (3 in production).\n${ENV_HELP}`,
    run: () => streamsApply(out),
  },
  'tasks publish': {
    usage:
      'tasks publish --title TITLE [--description TEXT] [--type TYPE] [--role ROLE] [--candidates a,b] [--id ID]',
    summary: 'publish a task on vapora.tasks.arrived',
    help: `Publishes one task (Nats-Msg-Id = its taskId, a new UUID unless --id is given).\n${ENV_HELP}`,
    options: {
      title: { type: 'string' },
      description: { type: 'string' },
      type: { type: 'string' },
      role: { type: 'string' },
      candidates: { type: 'string' },
      id: { type: 'string' },
    },
    run: async (_p, values) => {
      const title = values['title'];
      if (typeof title !== 'string' || title.trim() === '') {
        throw new UsageError('tasks publish needs --title "..."');
      }
      const str = (name: string) => (typeof values[name] === 'string' ? (values[name] as string) : undefined);
      const candidates = str('candidates')
        ?.split(',')
        .map((c) => c.trim())
        .filter(Boolean);
      await tasksPublish(
        {
          title,
          ...(str('description') ? { description: str('description')! } : {}),
          ...(str('type') ? { type: str('type')! } : {}),
          ...(str('role') ? { role: str('role')! } : {}),
          ...(candidates ? { candidates } : {}),
          ...(str('id') ? { id: str('id')! } : {}),
        },
        out,
      );
    },
  },
  'tasks show': {
    usage: 'tasks show <taskId>',
    summary:
      "a task's assignment state and history (assigned, timed out, reassigned, completed, unassignable)",
    help: ENV_HELP,
    run: async (positionals) => {
      const [taskId] = positionals;
      if (!taskId) throw new UsageError('tasks show needs <taskId>');
      return (await tasksShow(taskId, out)) ? 0 : 1;
    },
  },
  'agents list': {
    usage: 'agents list',
    summary: 'registered agents with load and last heartbeat',
    help: ENV_HELP,
    run: () => agentsList(out),
  },
  'profiles show': {
    usage: 'profiles show [agentId]',
    summary: 'cached learning profiles as a table',
    help: ENV_HELP,
    run: (positionals) => profilesShow(positionals[0], out),
  },
  'profiles rebuild': {
    usage: 'profiles rebuild',
    summary: 'recompute every cached profile from the knowledge graph',
    help: `Reads every (agent, task type) history from the KG at SURREAL_URL and rewrites vapora_profiles.
Stop the workers first when the KG is an embedded store (one process per store).\n${ENV_HELP}`,
    run: () => profilesRebuild(out, process.stdout.isTTY === true),
  },
  curve: {
    usage: 'curve <agentId> <taskType>',
    summary: 'draw a learning curve in the terminal',
    help: ENV_HELP,
    run: async (positionals) => {
      const [agentId, taskType] = positionals;
      if (!agentId || !taskType) throw new UsageError('curve needs <agentId> <taskType>');
      await curve(agentId, taskType, out);
    },
  },
  'validate deploy': {
    usage: 'validate deploy [rootDir]',
    summary: 'check k8s/ and provisioning/ (schemas, references, agreement)',
    help: 'Validates the Kubernetes manifests and the Provisioning workspace; prints file: key: problem lines.',
    run: async (positionals) => {
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
      return tool.runValidateDeploy(positionals[0] ?? process.cwd());
    },
  },
};

/** `--tasks abc` gave NaN (a report of NaN%), `--agents abc` no agents at all (the demo waited forever). */
function positiveInt(option: string, value: unknown): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`${option} needs a positive integer, got '${String(value)}'`);
  return n;
}

function usage(): string {
  const width = Math.max(...Object.values(commands).map((c) => c.usage.split(' [')[0]!.length));
  return [
    'vapora-learning — assigns tasks to AI agents and learns from every execution result',
    '',
    'Usage: vapora-learning <command> [options] [--verbose] [--help]',
    '',
    'Commands:',
    ...Object.values(commands).map(
      (c) => `  ${c.usage.split(' [')[0]!.split(' --')[0]!.padEnd(width)}  ${c.summary}`,
    ),
  ].join('\n');
}

function findCommand(argv: string[]): { name: string; rest: string[] } | undefined {
  const two = argv.slice(0, 2).join(' ');
  if (commands[two]) return { name: two, rest: argv.slice(2) };
  const one = argv[0];
  if (one && commands[one]) return { name: one, rest: argv.slice(1) };
  return undefined;
}

export async function main(argv: string[]): Promise<number> {
  const verbose = argv.includes('--verbose');
  const args = argv.filter((a) => a !== '--verbose');
  if (args.length === 0 || args[0] === '--help' || args[0] === '-h' || args[0] === 'help') {
    out(usage());
    return 0;
  }
  const found = findCommand(args);
  const group = Object.values(commands).filter((c) => c.usage.startsWith(`${args[0]} `));
  if (!found && group.length > 0 && (args.includes('--help') || args.includes('-h'))) {
    // `profiles --help`: the commands of that group.
    out(group.map((c) => `Usage: vapora-learning ${c.usage}\n  ${c.summary}`).join('\n'));
    return 0;
  }
  if (!found) {
    process.stderr.write(`error: unknown command '${args.slice(0, 2).join(' ')}'\n\n${usage()}\n`);
    return 2;
  }
  const command = commands[found.name]!;
  if (found.rest.includes('--help') || found.rest.includes('-h')) {
    out(`Usage: vapora-learning ${command.usage}\n\n${command.summary}\n\n${command.help}`);
    return 0;
  }
  try {
    const { positionals, values } = parseArgs({
      args: found.rest,
      options: command.options ?? {},
      allowPositionals: true,
      strict: true,
    });
    const code = await command.run(positionals, values as Record<string, unknown>);
    return typeof code === 'number' ? code : 0;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`error: ${message}\nUsage: vapora-learning ${command.usage}\n`);
      return 2;
    }
    process.stderr.write(`error: ${message}\n`);
    if (verbose) process.stderr.write(`${err instanceof Error ? err.stack : ''}\n`);
    // KgUnavailableError is not a VaporaError, but its message is just as complete: one line, as for NATS.
    else if (!isVaporaError(err) && !isKgUnavailable(err))
      process.stderr.write('(run again with --verbose for details)\n');
    return 1;
  }
}
