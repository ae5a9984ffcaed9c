/**
 * `simulate`, `replay` and `policies compare` as subprocesses: the simulator on a small run, and the two log readers
 * on a small recorded run in an embedded surrealkv store (decisions with known propensities, outcomes under their
 * evidence keys), where the right answers can be worked out by hand.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { evidenceId } from '../../src/domain/index.js';
import { connectKnowledgeGraph } from '../../src/kg/connect.js';
import type { DecisionRecord } from '../../src/kg/knowledge-graph.js';
import { runCli as runCliProcess } from './run-cli.js';

/** The simulator and the KG readers compile more than the other commands: a longer bound per process. */
const runCli = (args: string[], env: Record<string, string> = {}) => runCliProcess(args, env, 60_000);

/** The cells of the table row that starts with `first`. */
const rowOf = (stdout: string, first: string) =>
  stdout
    .split('\n')
    .find((line) => line.startsWith(`${first} `))
    ?.trim()
    .split(/\s{2,}/);

describe('simulate', () => {
  it('prints one row per policy of the scenario, the oracle at 1.000', async () => {
    const run = await runCli(['simulate', '--steps', '200', '--seeds', '1', '--scenario', 'stationary']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const rows = run.stdout.split('\n').filter((line) => line.startsWith('stationary '));
    expect(rows.map((line) => line.split(/\s{2,}/)[1])).toEqual([
      'oracle',
      'thompson',
      'cost-aware',
      'seed',
      'seed-recency',
      'random',
    ]);
    expect(rows[0]!.split(/\s{2,}/)[3]).toBe('1.000');
  });

  it('rejects an unknown scenario with exit 2, naming the known ones', async () => {
    const run = await runCli(['simulate', '--scenario', 'chaos']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("unknown scenario 'chaos'");
    expect(run.stderr).toContain('stationary');
  });
});

describe('replay and policies compare on a recorded run', () => {
  let dir: string;
  let kgUrl: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vapora-policy-cli-'));
    kgUrl = `surrealkv://${join(dir, 'kg')}`;
    // 10 tasks by seed (always 'good', which succeeds), 10 by random (P = 0.5 each; 'bad' fails), 1 still open.
    const kg = await connectKnowledgeGraph({ url: kgUrl });
    try {
      const now = Date.now();
      const candidates: DecisionRecord['candidates'] = [
        {
          agentId: 'good',
          successRate: 0.9,
          load: 0,
          maxConcurrent: 4,
          inFlight: 0,
          expertise: {
            successRate: 0.9,
            recentSuccessRate: 0.9,
            windowSize: 20,
            totalExecutions: 20,
            confidence: 1,
          },
          score: { base: 0.9, expertise: 0.9, confidence: 1, final: 0.92 },
        },
        {
          agentId: 'bad',
          successRate: 0.2,
          load: 0,
          maxConcurrent: 4,
          inFlight: 0,
          expertise: {
            successRate: 0.2,
            recentSuccessRate: 0.2,
            windowSize: 20,
            totalExecutions: 20,
            confidence: 1,
          },
          score: { base: 0.2, expertise: 0.2, confidence: 1, final: 0.36 },
        },
      ];
      for (let i = 0; i < 21; i += 1) {
        const bySeed = i < 10;
        const chosen = bySeed || i % 2 === 0 ? 'good' : 'bad';
        const at = new Date(now - 3_600_000 + i * 1000).toISOString();
        const taskId = `t-${i}`;
        await kg.recordDecision({
          taskId,
          attempt: 1,
          taskType: 'coding',
          policy: bySeed ? 'seed' : 'random',
          mode: 'learned',
          chosen,
          propensity: bySeed ? 1 : 0.5,
          explored: !bySeed && chosen === 'bad',
          candidates,
          at,
        });
        if (i === 20) continue; // no result yet
        await kg.recordExecution({
          executionId: evidenceId(taskId, 1, chosen),
          taskId,
          agentId: chosen,
          taskType: 'coding',
          attempt: 1,
          success: chosen === 'good',
          durationMs: 100,
          costCents: chosen === 'good' ? 4 : 1,
          finishedAt: new Date(Date.parse(at) + 500).toISOString(),
        });
      }
    } finally {
      await kg.close();
    }
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('policies compare: success and cost per policy, and the difference to seed with its interval', async () => {
    const run = await runCli(['policies', 'compare', '--since', '7d'], { SURREAL_URL: kgUrl });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(rowOf(run.stdout, 'seed')?.slice(0, 5)).toEqual([
      'seed',
      '10',
      '10',
      '100.0% [100.0%, 100.0%]',
      '4.00 [4.00, 4.00]',
    ]);
    const random = rowOf(run.stdout, 'random')!;
    expect(random.slice(0, 3)).toEqual(['random', '11', '10']);
    expect(random[3]).toMatch(/^50\.0% /);
    expect(random[4]).toMatch(/^2\.50 /);
    expect(run.stdout).toContain('difference to seed');
    const diff = run.stdout
      .split('\n')
      .filter((line) => line.startsWith('random '))[1]!
      .split(/\s{2,}/);
    expect(diff[1]).toMatch(/^-50\.0% \[-\d/);
    expect(diff[2]).toMatch(/^-1\.50 /);
  });

  it('replay --policy seed: IPS and SNIPS recover seed always choosing the good agent', async () => {
    const run = await runCli(['replay', '--policy', 'seed'], { SURREAL_URL: kgUrl });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('on 20 logged decisions with outcomes (logged by seed 10, random 10)');
    expect(run.stdout).toContain('1 without an outcome yet skipped');
    // w = 1 for seed's own decisions, 2 where random chose 'good', 0 where it chose 'bad': (10 + 5·2) / 20 = 1.
    // The terms vary (1, 2, 0), so the interval has width; the estimate itself is exact.
    expect(rowOf(run.stdout, 'IPS')?.[1]).toMatch(/^100\.0% \[\d+\.\d%, 1\d\d\.\d%\]$/);
    expect(rowOf(run.stdout, 'IPS')?.[2]).toMatch(/^4\.00 \[/);
    expect(rowOf(run.stdout, 'SNIPS')?.[1]).toMatch(/^100\.0% /);
    expect(rowOf(run.stdout, 'DR')?.[1]).toMatch(/^\d+\.\d% \[/);
    // 20 decisions cannot give ±2 pp, and the command says what would.
    expect(run.stdout).toMatch(/^precision: ±\d+\.\d pp \((SNIPS|DR)\), too wide .*POLICY_EPSILON=0\.05/m);
  });

  it('replay of an unknown policy exits 2 before opening the store', async () => {
    const run = await runCli(['replay', '--policy', 'greedy']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("unknown policy 'greedy'");
  });
});
