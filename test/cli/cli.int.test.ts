/**
 * The `vapora-learning` command, driven as a subprocess (`node --import tsx src/cli/run.ts …`) against a private
 * nats-server and, for `profiles rebuild`, an embedded surrealkv store written by an in-process worker.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Kvm } from '@nats-io/kv';
import type { KV } from '@nats-io/kv';
import { Buckets, Streams, Subjects, profileKey } from '../../src/bus/subjects.js';
import { loadTopology } from '../../src/bus/topology.js';
import { envNamesOf } from '../../src/config/env-schema.js';
import type { ProfileRecord } from '../../src/domain/index.js';
import { connectKnowledgeGraph } from '../../src/kg/connect.js';
import type { NatsServerHandle } from '../support/nats-server.js';
import { natsServerBinary, startNatsServer } from '../support/nats-server.js';
import { renderAuthConf } from '../../src/auth/render-auth.js';
import { parseAgentSpecs } from '../../src/domain/agent-roster.js';
import { waitFor } from '../support/wait-for.js';
import { REPO_ROOT, runCli } from './run-cli.js';
import type { Env } from '../int/harness.js';
import { publishResult, readStream, result, startEnv, startWorker, stopEnv } from '../int/harness.js';

const DAY_MS = 86_400_000;

/** A unique token per call, so tests sharing a server never see each other's ids. */
let seq = 0;
const uid = (prefix: string) => `${prefix}-${process.pid}-${Date.now().toString(36)}-${(seq += 1)}`;

/** Splits a table printed by src/cli/render.ts into rows of cells (header first, the rule line dropped). */
function parseTable(text: string): string[][] {
  return text
    .trimEnd()
    .split('\n')
    .filter((line) => !/^[─\s]+$/.test(line))
    .map((line) => line.trim().split(/\s{2,}/));
}

/** A loopback port that nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function readProfile(kv: KV, agentId: string, taskType: string): Promise<ProfileRecord | undefined> {
  const entry = await kv.get(profileKey(agentId, taskType));
  return entry && entry.operation === 'PUT' ? entry.json<ProfileRecord>() : undefined;
}

const COMMANDS = [
  ['worker', 'Usage: vapora-learning worker'],
  ['demo', 'Usage: vapora-learning demo [--tasks N] [--agents N]'],
  ['streams apply', 'Usage: vapora-learning streams apply'],
  ['tasks publish', 'Usage: vapora-learning tasks publish --title TITLE'],
  ['tasks show', 'Usage: vapora-learning tasks show <taskId>'],
  ['agents list', 'Usage: vapora-learning agents list'],
  ['agents add', 'Usage: vapora-learning agents add <agent> [--agents ROSTER] [--out FILE]'],
  ['auth render', 'Usage: vapora-learning auth render --agents ROSTER [--out FILE]'],
  ['profiles show', 'Usage: vapora-learning profiles show [agentId]'],
  ['profiles rebuild', 'Usage: vapora-learning profiles rebuild'],
  ['curve', 'Usage: vapora-learning curve <agentId> <taskType>'],
  ['dlq list', 'Usage: vapora-learning dlq list [--origin SUBJECT]'],
  ['dlq replay', 'Usage: vapora-learning dlq replay [seq] [--all-matching]'],
  ['dlq purge', 'Usage: vapora-learning dlq purge [--origin SUBJECT] [--yes]'],
  ['dashboard', 'Usage: vapora-learning dashboard [--port PORT] [--host HOST]'],
  ['validate deploy', 'Usage: vapora-learning validate deploy [rootDir]'],
] as const;

// No server needed: these run concurrently (each is mostly tsx start-up).
describe('usage', () => {
  it.concurrent('--help lists every command and exits 0', async () => {
    const run = await runCli(['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Usage: vapora-learning <command>');
    for (const [command] of COMMANDS) expect(run.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    expect(run.stderr).toBe('');
  });

  it.concurrent.each(COMMANDS)(
    '%s --help prints its usage and exits 0 without connecting',
    async (command, usage) => {
      // NATS_URL points nowhere: a command that tried to connect instead of printing help would fail.
      const run = await runCli([...command.split(' '), '--help']);
      expect(run.code).toBe(0);
      expect(run.stdout.startsWith(usage)).toBe(true);
      expect(run.stderr).toBe('');
    },
  );

  it.concurrent.each([['--version'], ['-V']])('%s prints the package version and exits 0', async (flag) => {
    const { version } = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as {
      version: string;
    };
    const run = await runCli([flag]);
    expect(run).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it.concurrent('worker --help lists every variable the worker reads', async () => {
    const run = await runCli(['worker', '--help']);
    expect(run.code).toBe(0);
    for (const name of envNamesOf('nats', 'kg', 'worker'))
      expect(run.stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
  });

  it.concurrent(
    'worker with bad variables exits 1 with every problem on one line, before connecting',
    async () => {
      const run = await runCli(['worker'], {
        HTTP_PORT: 'eighty',
        WORKER_CONCURRENCY: '0',
        APPLY_STREAMS: 'maybe',
      });
      expect(run.code).toBe(1);
      const lines = run.stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toBe(
        'error: invalid configuration: HTTP_PORT="eighty" must be an integer from 0 to 65535; ' +
          'WORKER_CONCURRENCY="0" must be an integer from 1 to 1024; ' +
          'APPLY_STREAMS="maybe" must be true or false (also 1, true, yes, on, 0, false, no, off)',
      );
      expect(run.stdout).toBe('');
    },
  );

  it.concurrent('an unknown command exits 2 and names it', async () => {
    const run = await runCli(['frobnicate', 'now']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("error: unknown command 'frobnicate now'");
    expect(run.stderr).toContain('Commands:');
    expect(run.stdout).toBe('');
  });

  it.concurrent('tasks publish without --title exits 2 with a clear message', async () => {
    const run = await runCli(['tasks', 'publish', '--description', 'no title here']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('error: tasks publish needs --title');
    expect(run.stderr).toContain('Usage: vapora-learning tasks publish --title TITLE');
    expect(run.stderr).not.toContain('cannot connect'); // rejected before any connection attempt
  });

  it.concurrent.each([
    ['profiles', ['profiles show', 'profiles rebuild']],
    ['streams', ['streams apply']],
    ['tasks', ['tasks publish', 'tasks show']],
  ])('%s --help lists the commands of that group and exits 0', async (group, members) => {
    const run = await runCli([group, '--help']);
    expect(run.code).toBe(0);
    const usages = run.stdout.split('\n').filter((line) => line.startsWith('Usage: '));
    expect(usages.map((line) => line.split(' ').slice(2, 4).join(' '))).toEqual(members);
  });

  it.concurrent.each([
    ['--agents', 'xyz'],
    ['--tasks', '0'],
  ])('demo %s %s exits 2 before starting anything', async (option, value) => {
    const run = await runCli(['demo', option, value]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`error: ${option} needs a positive integer, got '${value}'`);
    expect(run.stdout).toBe('');
  });

  it.concurrent('an unknown option exits 2 with the usage line', async () => {
    const run = await runCli(['agents', 'list', '--colour']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("'--colour'");
    expect(run.stderr).toContain('Usage: vapora-learning agents list');
  });
});

describe('unreachable NATS', () => {
  let url: string;
  beforeAll(async () => {
    url = `nats://127.0.0.1:${await closedPort()}`;
  });

  it.each([
    ['agents', 'list'],
    ['streams', 'apply'],
    ['tasks', 'publish', '--title', 'x'],
  ])('%s %s: exit 1 and one line naming the URL and the fix, no stack trace', async (...args) => {
    const run = await runCli(args, { NATS_URL: url });
    expect(run.code).toBe(1);
    const lines = run.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`cannot connect to NATS at ${url}`);
    expect(lines[0]).toMatch(/set NATS_URL/);
    expect(run.stderr).not.toMatch(/^\s+at /m);
    expect(run.stdout).toBe('');
  });

  it('--verbose adds the stack trace', async () => {
    const run = await runCli(['agents', 'list', '--verbose'], { NATS_URL: url });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`cannot connect to NATS at ${url}`);
    expect(run.stderr).toMatch(/^\s+at .*connect/m);
  });
});

describe('streams apply', () => {
  let server: NatsServerHandle;
  beforeAll(async () => {
    server = await startNatsServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('creates the topology on a fresh server, then reports everything unchanged', async () => {
    const topology = await loadTopology();
    const expected = [
      ...topology.streams.map((s) => ['stream', s.name]),
      ...topology.consumers.map((c) => ['consumer', `${c.stream}/${c.config.durable_name}`]),
      ...topology.buckets.map((b) => ['bucket', b.name]),
    ];
    const first = await runCli(['streams', 'apply'], { NATS_URL: server.url });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const firstRows = parseTable(first.stdout);
    expect(firstRows[0]).toEqual(['kind', 'name', 'action']);
    expect(firstRows.slice(1)).toEqual(expected.map(([kind, name]) => [kind, name, 'created']));
    expect(firstRows.map((row) => row[1])).toEqual(
      expect.arrayContaining([Streams.tasks, Streams.results, Buckets.profiles, Buckets.agents]),
    );

    const second = await runCli(['streams', 'apply'], { NATS_URL: server.url });
    expect(second.code).toBe(0);
    const secondRows = parseTable(second.stdout);
    expect(secondRows.slice(1).map((row) => row[2])).toEqual(expected.map(() => 'unchanged'));
    // Same objects, same order: only the action column differs.
    expect(secondRows.slice(1).map((row) => row.slice(0, 2))).toEqual(
      firstRows.slice(1).map((r) => r.slice(0, 2)),
    );
  });
});

describe('against a server with the topology applied', () => {
  let env: Env;
  let natsUrl: string;
  beforeAll(async () => {
    env = await startEnv();
    natsUrl = env.server.url;
  });
  afterAll(async () => {
    await stopEnv(env);
  });

  it('tasks publish stores the task in VAPORA_TASKS with Nats-Msg-Id = the printed taskId', async () => {
    const run = await runCli(
      [
        'tasks',
        'publish',
        '--title',
        'Fix the flaky login test',
        '--type',
        'debugging',
        '--candidates',
        'a1, a2',
      ],
      { NATS_URL: natsUrl },
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const match = /^published task (\S+) \(stream VAPORA_TASKS seq \d+\)$/m.exec(run.stdout);
    expect(match).not.toBeNull();
    const taskId = match![1]!;
    const messages = await readStream(env, Streams.tasks, Subjects.taskArrived);
    const stored = messages.filter((m) => m.headers['Nats-Msg-Id'] === taskId);
    expect(stored).toHaveLength(1);
    expect(stored[0]!.json()).toEqual({
      taskId,
      title: 'Fix the flaky login test',
      taskType: 'debugging',
      candidates: ['a1', 'a2'],
    });
  });

  it('tasks show prints the state and history of a task, and exits 1 for an unknown one', async () => {
    const record = {
      taskId: 'shown-1',
      status: 'reassigned',
      agentId: 'b',
      attempt: 2,
      firstSeenAt: '2026-06-15T12:00:00.000Z',
      updatedAt: '2026-06-15T12:10:01.000Z',
      history: [
        { at: '2026-06-15T12:00:00.000Z', status: 'assigned', agentId: 'a' },
        { at: '2026-06-15T12:10:00.000Z', status: 'timed-out', agentId: 'a', note: 'agent gone' },
        { at: '2026-06-15T12:10:01.000Z', status: 'reassigned', agentId: 'b' },
      ],
    };
    await (await new Kvm(env.js).open(Buckets.tasks)).put('shown-1', JSON.stringify(record));
    const run = await runCli(['tasks', 'show', 'shown-1'], { NATS_URL: natsUrl });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('task shown-1: reassigned (agent b, attempt 2)');
    const rows = run.stdout.split('\n').filter((line) => line.startsWith('2026-06-15T'));
    expect(rows.map((line) => line.split(/\s{2,}/).slice(1, 3))).toEqual([
      ['assigned', 'a'],
      ['timed-out', 'a'],
      ['reassigned', 'b'],
    ]);
    expect(rows[1]).toContain('agent gone');
    const missing = await runCli(['tasks', 'show', 'never-seen'], { NATS_URL: natsUrl });
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain('no state for task never-seen');
  });

  it('tasks publish --id twice: the second copy is reported as a duplicate and not stored', async () => {
    const id = uid('task');
    const first = await runCli(['tasks', 'publish', '--title', 'Write the docs', '--id', id], {
      NATS_URL: natsUrl,
    });
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(
      new RegExp(`^published task ${id} \\(stream VAPORA_TASKS seq \\d+\\)$`, 'm'),
    );
    const second = await runCli(['tasks', 'publish', '--title', 'Write the docs', '--id', id], {
      NATS_URL: natsUrl,
    });
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('duplicate ignored');
    const stored = (await readStream(env, Streams.tasks, Subjects.taskArrived)).filter(
      (m) => m.headers['Nats-Msg-Id'] === id,
    );
    expect(stored).toHaveLength(1);
  });

  it('tasks publish rejects an id that is not one subject token (exit 2, nothing published)', async () => {
    const before = (await readStream(env, Streams.tasks)).length;
    const run = await runCli(['tasks', 'publish', '--title', 'x', '--id', 'a.b'], { NATS_URL: natsUrl });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error: invalid task: \/taskId /);
    expect(run.stderr).toContain('Usage: vapora-learning tasks publish');
    expect((await readStream(env, Streams.tasks)).length).toBe(before);
  });

  it('agents list: a hint without agents, a row per registered agent with its load', async () => {
    const empty = await runCli(['agents', 'list'], { NATS_URL: natsUrl });
    expect(empty.code).toBe(0);
    expect(empty.stdout.trim()).toBe(
      'no agents registered (agents register themselves through the SDK: startAgent)',
    );

    const kvm = new Kvm(env.js);
    const agentId = uid('coder');
    const heartbeatAt = new Date(Date.now() - 4_000).toISOString();
    await (
      await kvm.open(Buckets.agents)
    ).put(
      agentId,
      JSON.stringify({
        agentId,
        role: 'developer',
        taskTypes: ['coding', 'debugging'],
        maxConcurrent: 3,
        heartbeatAt,
      }),
    );
    await (
      await kvm.open(Buckets.capacity)
    ).put(
      agentId,
      JSON.stringify({
        agentId,
        inFlight: {
          't-1': { at: heartbeatAt, deadline: heartbeatAt },
          't-2': { at: heartbeatAt, deadline: heartbeatAt },
        },
      }),
    );
    const listed = await runCli(['agents', 'list'], { NATS_URL: natsUrl });
    expect(listed.code).toBe(0);
    const rows = parseTable(listed.stdout);
    expect(rows[0]).toEqual(['agent', 'role', 'task types', 'in flight', 'max', 'last heartbeat']);
    expect(rows).toHaveLength(2);
    const [id, role, types, inFlight, max, heartbeat] = rows[1]!;
    expect([id, role, types, inFlight, max]).toEqual([agentId, 'developer', 'coding,debugging', '2', '3']);
    expect(Number(/^(\d+)s ago$/.exec(heartbeat!)?.[1])).toBeGreaterThanOrEqual(4);
  });

  it('profiles show and curve: empty before any result, a row per (agent, task type) and a bar per day after', async () => {
    const before = await runCli(['profiles', 'show'], { NATS_URL: natsUrl });
    expect(before.code).toBe(0);
    expect(before.stdout.trim()).toBe('no profiles yet (they appear after the first results)');

    const agentId = uid('ada');
    const noCurve = await runCli(['curve', agentId, 'coding'], { NATS_URL: natsUrl });
    expect(noCurve.code).toBe(0);
    expect(noCurve.stdout).toContain(`no profile for ${agentId} / coding`);

    const worker = await startWorker(env);
    // coding: 3 days ago 1/2, 1 day ago 2/2, today 1/3 ; review: today 1/1.
    const now = Date.now();
    const day = (offset: number) => new Date(now - offset * DAY_MS).toISOString();
    const outcomes: [number, boolean][] = [
      [3, true],
      [3, false],
      [1, true],
      [1, true],
      [0, true],
      [0, false],
      [0, false],
    ];
    let n = 0;
    for (const [offset, success] of outcomes) {
      await publishResult(
        env,
        result({
          agentId,
          executionId: `${agentId}-c${(n += 1)}`,
          success,
          durationMs: 1000 * n,
          finishedAt: day(offset),
        }),
      );
    }
    await publishResult(
      env,
      result({
        agentId,
        executionId: `${agentId}-r1`,
        taskType: 'review',
        success: true,
        finishedAt: day(0),
      }),
    );
    const kv = await new Kvm(env.js).open(Buckets.profiles);
    await waitFor(
      async () => (await readProfile(kv, agentId, 'coding'))?.totalExecutions === outcomes.length,
      {
        timeoutMs: 15_000,
        what: 'the coding profile',
      },
    );
    await waitFor(async () => (await readProfile(kv, agentId, 'review'))?.totalExecutions === 1, {
      what: 'the review profile',
    });
    await worker.shutdown(2000);

    const after = await runCli(['profiles', 'show', agentId], { NATS_URL: natsUrl });
    expect(after.code).toBe(0);
    const rows = parseTable(after.stdout);
    expect(rows[0]).toEqual([
      'agent',
      'task type',
      'executions',
      'success',
      'recent',
      'confidence',
      'avg ms',
      'trend',
    ]);
    expect(rows.slice(1).map((r) => [r[0], r[1], r[2], r[3], r[5], r[6]])).toEqual([
      [agentId, 'coding', '7', '57.1%', '0.35', '4000'],
      [agentId, 'review', '1', '100.0%', '0.05', '1000'],
    ]);

    const other = await runCli(['profiles', 'show', 'nobody-here'], { NATS_URL: natsUrl });
    expect(other.stdout.trim()).toBe('no profiles for agent nobody-here');

    const drawn = await runCli(['curve', agentId, 'coding'], { NATS_URL: natsUrl });
    expect(drawn.code).toBe(0);
    const lines = drawn.stdout.trimEnd().split('\n');
    expect(lines[0]).toContain(`Learning curve of ${agentId} on coding`);
    const bars = lines.slice(1).map((line) => /^(\d{4}-\d{2}-\d{2}) │.*│\s+([\d.]+%)\s+n=(\d+)$/.exec(line));
    expect(bars.every((m) => m !== null)).toBe(true);
    expect(bars.map((m) => [m![1], m![2], m![3]])).toEqual([
      [day(3).slice(0, 10), '50.0%', '2'],
      [day(1).slice(0, 10), '100.0%', '2'],
      [day(0).slice(0, 10), '33.3%', '3'],
    ]);
  });
});

describe('profiles rebuild against a surrealkv store', () => {
  let env: Env;
  let dir: string;
  beforeAll(async () => {
    env = await startEnv();
    dir = await mkdtemp(join(tmpdir(), 'vapora-cli-kg-'));
  });
  afterAll(async () => {
    await stopEnv(env);
    await rm(dir, { recursive: true, force: true });
  });

  it('recomputes every cached profile from the KG, equal to what the worker built incrementally', async () => {
    const kgUrl = `surrealkv://${join(dir, 'kg')}`;
    const kg = await connectKnowledgeGraph({ url: kgUrl });
    let kgClosed = false;
    try {
      const worker = await startWorker(env, { SURREAL_URL: kgUrl }, { kg });
      const agents = [uid('grace'), uid('linus')];
      const now = Date.now();
      let n = 0;
      for (const agentId of agents) {
        for (const taskType of ['coding', 'testing']) {
          for (let i = 0; i < 6; i += 1) {
            n += 1;
            await publishResult(
              env,
              result({
                agentId,
                taskType,
                executionId: `${agentId}-${taskType}-${i}`,
                success: (n * 7) % 3 !== 0,
                durationMs: 500 + n * 10,
                finishedAt: new Date(now - (i * DAY_MS) / 2).toISOString(),
              }),
            );
          }
        }
      }
      const kv = await new Kvm(env.js).open(Buckets.profiles);
      const keys = agents.flatMap((a) => ['coding', 'testing'].map((t) => [a, t] as const));
      await waitFor(
        async () => {
          for (const [a, t] of keys) if ((await readProfile(kv, a, t))?.totalExecutions !== 6) return false;
          return true;
        },
        { timeoutMs: 20_000, what: 'four profiles of 6 executions' },
      );
      const incremental = new Map<string, ProfileRecord>();
      for (const [a, t] of keys) incremental.set(profileKey(a, t), (await readProfile(kv, a, t))!);

      // The embedded store is single-process: stop the worker and close the KG before the CLI opens it.
      await worker.shutdown(2000);
      await kg.close();
      kgClosed = true;
      // Damage the cache: one profile gone, one wrong. The rebuild must restore both.
      await kv.delete(profileKey(agents[0]!, 'coding'));
      const wrong = { ...incremental.get(profileKey(agents[1]!, 'testing'))!, totalExecutions: 999 };
      await kv.put(profileKey(agents[1]!, 'testing'), JSON.stringify(wrong));

      const run = await runCli(
        ['profiles', 'rebuild'],
        { NATS_URL: env.server.url, SURREAL_URL: kgUrl },
        40_000,
      );
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout.trim()).toBe('rebuilt 4 profile(s) from the knowledge graph');

      for (const [a, t] of keys) {
        const rebuilt = await readProfile(kv, a, t);
        const before = incremental.get(profileKey(a, t))!;
        expect(rebuilt).toBeDefined();
        // Time-dependent fields are as of each write; the state and the history-derived numbers must match.
        // The dedupe memory (recentIds) is kept in application order: the worker applied the results in arrival
        // order, the rebuild oldest first. Same ids, so the same duplicates are recognised.
        const comparable = ({ updatedAt: _u, recentSuccessRate: _r, asOf: _a, ...rest }: ProfileRecord) => ({
          ...rest,
          state: { ...rest.state, recentIds: [...rest.state.recentIds].sort() },
        });
        expect(comparable(rebuilt!)).toEqual(comparable(before));
        expect(rebuilt!.totalExecutions).toBe(6);
        expect(Date.parse(rebuilt!.updatedAt)).toBeGreaterThan(Date.parse(before.updatedAt));
      }
    } finally {
      if (!kgClosed) await kg.close().catch(() => undefined);
    }
  });

  it('unreachable SurrealDB: exit 1, one line naming the URL and what to check, no stack trace', async () => {
    const kgUrl = `http://127.0.0.1:${await closedPort()}`;
    const run = await runCli(['profiles', 'rebuild'], { NATS_URL: env.server.url, SURREAL_URL: kgUrl });
    expect(run.code).toBe(1);
    const lines = run.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`cannot connect to the knowledge graph at ${kgUrl}`);
    expect(lines[0]).toContain('Is the SurrealDB server running');
  });

  it('names SURREAL_URL and the accepted schemes when the KG URL is unusable (exit 1, one line)', async () => {
    const run = await runCli(['profiles', 'rebuild'], { NATS_URL: env.server.url, SURREAL_URL: 'bogus://x' });
    expect(run.code).toBe(1);
    const lines = run.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('SURREAL_URL="bogus://x"');
    expect(lines[0]).toContain('surrealkv://');
  });
});

describe('auth render and agents add', () => {
  const NATS_BINARY = natsServerBinary();

  /** nats-server -t on `auth` included from a JetStream config, with a password for every variable it names. */
  async function serverAccepts(dir: string, auth: string): Promise<{ code: number | null; output: string }> {
    await writeFile(join(dir, 'auth.conf'), auth);
    const conf = join(dir, 'server.conf');
    await writeFile(conf, `port: -1\njetstream { store_dir: "${join(dir, 'js')}" }\ninclude ./auth.conf\n`);
    const vars = Object.fromEntries(
      [...auth.matchAll(/\$(VAPORA_[A-Z0-9_]+_PASSWORD)/g)].map((m) => [m[1], 'pw']),
    );
    const result = spawnSync(NATS_BINARY ?? 'nats-server', ['-t', '-c', conf], {
      env: { ...process.env, ...vars },
      encoding: 'utf8',
    });
    return { code: result.status, output: `${result.stdout}${result.stderr}` };
  }

  it('auth render prints the file the renderer makes, which nats-server loads; --out writes the same', async () => {
    const roster = 'coder-1:developer:4,review_bot:reviewer:1';
    const run = await runCli(['auth', 'render', '--agents', roster]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(renderAuthConf(parseAgentSpecs(roster)));
    expect(run.stdout).toContain('password: $VAPORA_AGENT_REVIEW_BOT_PASSWORD');
    expect(run.stdout).toContain('"$JS.ACK.VAPORA_ASSIGNMENTS.agent-review_bot.>"');
    const dir = await mkdtemp(join(tmpdir(), 'vapora-cli-auth-'));
    try {
      const out = join(dir, 'rendered.conf');
      const written = await runCli(['auth', 'render', '--agents', roster, '--out', out]);
      expect(written).toEqual({ code: 0, stdout: `wrote ${out} (2 agent users)\n`, stderr: '' });
      expect(await readFile(out, 'utf8')).toBe(run.stdout);
      if (NATS_BINARY !== null) {
        const checked = await serverAccepts(dir, run.stdout);
        expect(checked.output).toMatch(/is valid/);
        expect(checked.code).toBe(0);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('auth render of the shipped roster reproduces k8s/base/nats/auth.conf', async () => {
    const run = await runCli(['auth', 'render', '--agents', 'coder-1:developer:4']);
    expect(run.stdout).toBe(await readFile(join(REPO_ROOT, 'k8s/base/nats/auth.conf'), 'utf8'));
  });

  it.each([
    [['--agents', 'coder-1,coder-1'], "agent 'coder-1' is listed twice"],
    [['--agents', 'a-b,a_b'], "agents 'a-b' and 'a_b' would share the variable VAPORA_AGENT_A_B_PASSWORD"],
    [['--agents', 'caf\u00e9'], "an id in auth.conf must be letters, digits, '-' and '_'"],
    [['--agents', 'coder-1:developer:0'], 'maxConcurrent must be an integer from 1 to 10000'],
  ])('auth render %j exits 2 naming the problem, printing nothing', async (args, message) => {
    const run = await runCli(['auth', 'render', ...args]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
    expect(run.stdout).toBe('');
  });

  it('agents add prints the new auth.conf, the Secret keys, the worker AGENTS and the Deployment steps', async () => {
    const fromOption = await runCli([
      'agents',
      'add',
      'reviewer-1:reviewer:2',
      '--agents',
      'coder-1:developer:4',
    ]);
    expect(fromOption.stderr).toBe('');
    expect(fromOption.code).toBe(0);
    const fromEnv = await runCli(['agents', 'add', 'reviewer-1:reviewer:2'], {
      AGENTS: 'coder-1:developer:4',
    });
    expect(fromEnv.stdout.replace('AGENTS + ', '--agents + ')).toBe(fromOption.stdout);
    const out = fromOption.stdout;
    const roster = 'coder-1:developer:4,reviewer-1:reviewer:2';
    const auth = renderAuthConf(parseAgentSpecs(roster)).trimEnd();
    expect(out).toContain(`${auth}\n# --- end of auth.conf ---`);
    expect(out).toContain('VAPORA_AGENT_REVIEWER_1_PASSWORD');
    expect(out).toContain('kubectl -n vapora create secret generic vapora-agent-reviewer-1-nats');
    expect(out).toMatch(new RegExp(`^\\s+AGENTS=${roster}$`, 'm'));
    expect(out).toContain('NATS_USER=agent-reviewer-1');
    expect(out).toContain('kubectl apply -k k8s/agents');
  });

  it('agents add refuses an id already in the roster (exit 2)', async () => {
    const run = await runCli(['agents', 'add', 'coder-1'], { AGENTS: 'coder-1:developer:4' });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("agent 'coder-1' is already in the roster");
    expect(run.stdout).toBe('');
  });
});

describe('validate deploy', () => {
  it('exits 0 on the repository', async () => {
    const run = await runCli(['validate', 'deploy']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
  });

  it('exits 1 with file: key: problem lines on a tree without the deployment', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'vapora-cli-empty-'));
    try {
      const run = await runCli(['validate', 'deploy', empty]);
      expect(run.code).toBe(1);
      expect(`${run.stdout}${run.stderr}`).toMatch(/\S+: .+: .+/);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});
