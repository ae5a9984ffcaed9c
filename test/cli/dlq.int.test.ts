/**
 * `dlq list | replay | purge` as an operator runs them (CLI subprocess) against a private nats-server and an
 * in-process worker that produces real dead letters.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { jetstreamManager } from '@nats-io/jetstream';
import type { DeadLetterRecord } from '../../src/bus/dead-letter-record.js';
import { Streams, Subjects } from '../../src/bus/subjects.js';
import { waitFor } from '../support/wait-for.js';
import type { Env } from '../int/harness.js';
import {
  publishRaw,
  publishUnheldResult,
  readProfile,
  readStream,
  recordAssignment,
  result,
  scrapeTotal,
  startEnv,
  startWorker,
  stopEnv,
} from '../int/harness.js';
import { runCli } from './run-cli.js';

let env: Env;
let cliEnv: Record<string, string>;

const dlqSize = async () =>
  (await (await jetstreamManager(env.nc)).streams.info(Streams.deadLetters)).state.messages;

async function listJson(...filters: string[]): Promise<DeadLetterRecord[]> {
  const run = await runCli(['dlq', 'list', '--json', ...filters], cliEnv);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  return run.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as DeadLetterRecord);
}

beforeAll(async () => {
  env = await startEnv();
  cliEnv = { NATS_URL: env.server.url };
  await startWorker(env);
});

afterAll(async () => {
  await stopEnv(env);
});

describe('dead letters an operator can act on', () => {
  const held = result({ agentId: 'agent-dlq', taskType: 'review' });

  it('lists real dead letters with reason, origin and the original stream position, filtered by origin', async () => {
    // A result the worker has no assignment for (the cause an operator fixes), and a task that is not JSON.
    await publishUnheldResult(env, held);
    await publishRaw(env, Subjects.taskArrived, 'not json');
    await waitFor(async () => (await dlqSize()) === 2, { what: 'two dead letters', timeoutMs: 15_000 });

    const all = await listJson();
    expect(all.map((d) => d.origin).sort()).toEqual([Subjects.result('agent-dlq'), Subjects.taskArrived]);
    const fromResults = await listJson('--origin', 'results.*');
    expect(fromResults).toHaveLength(1);
    expect(fromResults[0]).toMatchObject({
      origin: 'vapora.results.agent-dlq',
      reason: 'unassigned result',
      originStream: Streams.results,
      originalMsgId: held.executionId,
    });
    expect((await listJson('--reason', 'invalid task'))[0]?.origin).toBe(Subjects.taskArrived);
    expect(await listJson('--since', '2099-01-01T00:00:00Z')).toEqual([]);

    const table = await runCli(['dlq', 'list'], cliEnv);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/unassigned result/);
    expect(table.stdout).toMatch(/invalid task/);
    expect(table.stdout).toContain('2 dead letter(s)');
  }, 60_000);

  it('replays a dead letter once its cause is fixed; replaying twice counts once', async () => {
    const [letter] = await listJson('--origin', 'results.agent-dlq');
    expect(letter).toBeDefined();
    await recordAssignment(env, held); // the fix: the worker now holds that assignment
    const recordedBefore = await scrapeTotal(env.workers[0]!, 'vapora_results_total');

    const first = await runCli(['dlq', 'replay', String(letter!.seq), '--keep'], cliEnv);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`re-published to vapora.results.agent-dlq`);
    const second = await runCli(['dlq', 'replay', String(letter!.seq)], cliEnv);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('duplicate of an earlier replay');
    expect(second.stdout).toContain('dead letter deleted');

    const profile = await waitFor(async () => readProfile(env, 'agent-dlq', 'review'), {
      what: 'the replayed result learned',
      timeoutMs: 15_000,
    });
    expect(profile.state.totalExecutions).toBe(1);
    // The replay carries its own id and the original's application headers, none of the Dlq ones.
    const replays = (await readStream(env, Streams.results, 'vapora.results.agent-dlq')).filter(
      (m) => m.headers['Vapora-Replayed-From'] !== undefined,
    );
    expect(replays).toHaveLength(1);
    expect(replays[0]!.headers['Nats-Msg-Id']).toBe(`vapora-dlq-replay-${letter!.seq}`);
    expect(Object.keys(replays[0]!.headers).filter((k) => k.startsWith('Vapora-Dlq-'))).toEqual([]);
    await waitFor(
      async () => (await scrapeTotal(env.workers[0]!, 'vapora_results_total')) === recordedBefore + 1,
      { what: 'one result counted' },
    );

    const gone = await runCli(['dlq', 'replay', String(letter!.seq)], cliEnv);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain(`no dead letter with sequence ${letter!.seq}`);
    expect((await listJson()).map((d) => d.origin)).toEqual([Subjects.taskArrived]);
  }, 60_000);

  it('replay needs a sequence or --all-matching, not both', async () => {
    const run = await runCli(['dlq', 'replay', '3', '--all-matching'], cliEnv);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('dlq replay needs either <seq> or --all-matching');
  });

  it('purges only with --yes', async () => {
    const dry = await runCli(['dlq', 'purge'], cliEnv);
    expect(dry.code).toBe(1);
    expect(dry.stdout).toContain('would purge 1 dead letter(s)');
    expect(await dlqSize()).toBe(1);

    const done = await runCli(['dlq', 'purge', '--yes'], cliEnv);
    expect(done.code).toBe(0);
    expect(done.stdout).toContain('purged 1 dead letter(s)');
    expect(await dlqSize()).toBe(0);
    expect(await listJson()).toEqual([]);
  }, 60_000);
});
