/**
 * The worker honours POLICY and POLICY_SPLIT (real nats-server, embedded SurrealDB, SDK agents): assignments carry
 * the deciding policy with its propensity, a split sends each task to one policy by its taskId hash (the same one on
 * every replica), and every decision is logged in kg_decisions.
 */
import type { Assignment } from '../../src/domain/index.js';
import { Streams } from '../../src/bus/subjects.js';
import { loadWorkerConfig } from '../../src/config/config.js';
import { PolicyRouter } from '../../src/worker/policy-router.js';
import { waitFor } from '../support/wait-for.js';
import { freePort, metric } from '../support/worker-metrics.js';
import type { Env } from './harness.js';
import {
  memoryKg,
  publishTask,
  readStream,
  startEnv,
  startTestAgent,
  startWorker,
  stopEnv,
} from './harness.js';

let env: Env | undefined;
afterEach(async () => {
  await stopEnv(env);
  env = undefined;
});

const assignmentsOf = async (e: Env, n: number) =>
  waitFor(
    async () => {
      const all = (await readStream(e, Streams.assignments)).map((m) => m.json<Assignment>());
      return all.length >= n ? all : undefined;
    },
    { timeoutMs: 30_000, what: `${n} assignments` },
  );

describe('decision policies in the worker', () => {
  it('decides with POLICY, carries policy and propensity, and logs each decision once', async () => {
    env = await startEnv();
    const kg = await memoryKg(env);
    const port = await freePort();
    await startWorker(env, { POLICY: 'seed', HTTP_PORT: String(port) }, { kg });
    await startTestAgent(env, 'a1', async () => ({ success: true, costCents: 3 }), { maxConcurrent: 8 });
    await startTestAgent(env, 'a2', async () => ({ success: false, costCents: 1 }), { maxConcurrent: 8 });
    for (let i = 0; i < 6; i += 1)
      await publishTask(env, { taskId: `p-${i}`, title: 'Implement the parser' });

    const published = await assignmentsOf(env, 6);
    expect(published).toHaveLength(6);
    for (const a of published) {
      expect(a).toMatchObject({ policy: 'seed', propensity: 1, explored: false });
      expect(['learned', 'load-fallback']).toContain(a.mode);
    }
    const decisions = await waitFor(
      async () => {
        const all = await kg.listDecisions(new Date(0));
        return all.length >= 6 ? all : undefined;
      },
      { what: 'six logged decisions' },
    );
    expect(decisions).toHaveLength(6);
    for (const a of published) {
      const d = decisions.find((x) => x.taskId === a.taskId)!;
      expect(d).toMatchObject({ attempt: 1, policy: 'seed', chosen: a.agentId, propensity: 1 });
      expect(d.candidates.map((c) => c.agentId).sort()).toEqual(['a1', 'a2']);
    }
    // Every outcome and its cost is counted under the policy that made the assignment.
    expect(await metric(port, 'vapora_assignments_total', { policy: 'seed' })).toBe(6);
    await waitFor(
      async () =>
        (await metric(port, 'vapora_outcomes_total', { policy: 'seed', outcome: 'success' })) +
          (await metric(port, 'vapora_outcomes_total', { policy: 'seed', outcome: 'failure' })) ===
        6,
      { what: 'six outcomes counted for seed' },
    );
    const successes = published.filter((a) => a.agentId === 'a1').length;
    expect(await metric(port, 'vapora_outcomes_total', { policy: 'seed', outcome: 'success' })).toBe(
      successes,
    );
    expect(await metric(port, 'vapora_spend_cents_total', { policy: 'seed' })).toBe(
      3 * successes + (6 - successes),
    );
  });

  it('splits tasks between policies by taskId hash, the same on two replicas', async () => {
    env = await startEnv();
    const kg = await memoryKg(env);
    const split = { POLICY_SPLIT: 'thompson:50,random:50' };
    await startWorker(env, split, { kg });
    await startWorker(env, split, { kg });
    await startTestAgent(env, 'b1', async () => ({ success: true }), { maxConcurrent: 16 });
    await startTestAgent(env, 'b2', async () => ({ success: true }), { maxConcurrent: 16 });
    const n = 40;
    for (let i = 0; i < n; i += 1) await publishTask(env, { taskId: `s-${i}`, title: 'Review the change' });

    const published = await assignmentsOf(env, n);
    expect(published).toHaveLength(n);
    // The expected arm of every task, from the same plan: sticky by hash, whichever replica decided it.
    const router = new PolicyRouter(loadWorkerConfig(split).policy);
    for (const a of published) {
      expect(a.policy).toBe(router.policyFor(a.taskId).name);
      expect(a.propensity).toBeGreaterThan(0);
      expect(a.propensity).toBeLessThanOrEqual(1);
    }
    const counts = new Map<string, number>();
    for (const a of published) counts.set(a.policy, (counts.get(a.policy) ?? 0) + 1);
    // 40 draws of p = 0.5 by hash: both arms are used, neither takes nearly all.
    expect(counts.get('thompson') ?? 0).toBeGreaterThanOrEqual(8);
    expect(counts.get('random') ?? 0).toBeGreaterThanOrEqual(8);

    const decisions = await waitFor(
      async () => {
        const all = await kg.listDecisions(new Date(0));
        return all.length >= n ? all : undefined;
      },
      { what: `${n} logged decisions` },
    );
    expect(decisions).toHaveLength(n);
    for (const d of decisions) expect(d.policy).toBe(router.policyFor(d.taskId).name);
  });

  it('explores uniformly with POLICY_EPSILON: a failing agent keeps a share of tasks and the propensity floor', async () => {
    env = await startEnv();
    const kg = await memoryKg(env);
    const port = await freePort();
    // ε = 0.8 over two agents: every pick has propensity ≥ 0.4, and the failing agent gets about 40% of tasks even
    // once the policy has learned it fails (without ε, Thompson sampling gives it almost none by then).
    await startWorker(env, { POLICY: 'thompson', POLICY_EPSILON: '0.8', HTTP_PORT: String(port) }, { kg });
    await startTestAgent(env, 'good', async () => ({ success: true }), { maxConcurrent: 4 });
    await startTestAgent(env, 'bad', async () => ({ success: false }), { maxConcurrent: 4 });
    const n = 40;
    // One at a time, each learned before the next is decided.
    for (let i = 0; i < n; i += 1) {
      await publishTask(env, { taskId: `e-${i}`, title: 'Implement the parser' });
      await waitFor(
        async () => (await metric(port, 'vapora_results_total', { outcome: 'recorded' })) === i + 1,
        {
          what: `result ${i + 1} learned`,
        },
      );
    }
    const published = await assignmentsOf(env, n);
    for (const a of published) {
      expect(a.policy).toBe('thompson');
      expect(a.propensity).toBeGreaterThanOrEqual(0.4 - 1e-9);
    }
    const late = published.filter((a) => Number(a.taskId.slice(2)) >= n / 2);
    expect(late).toHaveLength(n / 2);
    // 20 picks with P(bad) ≥ 0.4: fewer than 3 has probability below 0.4%.
    expect(late.filter((a) => a.agentId === 'bad').length).toBeGreaterThanOrEqual(3);
  });
});
