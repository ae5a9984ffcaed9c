/**
 * The worker's profile service against a real nats-server: group-committed updates, the cold start that creates a
 * profile from the KG, and the per-agent overall success rate it keeps for the base score.
 */
import { Kvm } from '@nats-io/kv';
import { Buckets, profileKey } from '../../src/bus/subjects.js';
import type { ExecutionResult, ProfileRecord } from '../../src/domain/index.js';
import {
  DEDUPE_MEMORY,
  applyExecution,
  createExpertiseState,
  hasApplied,
  toProfileRecord,
} from '../../src/domain/index.js';
import type { Stores } from '../../src/worker/stores.js';
import { closeStores, openStores } from '../../src/worker/stores.js';
import { PRIOR_SUCCESS_RATE, ProfileService } from '../../src/worker/profile-service.js';
import { MemoryKnowledgeGraph } from '../support/memory-knowledge-graph.js';
import { waitFor } from '../support/wait-for.js';
import type { Env } from './harness.js';
import { silent, startEnv, stopEnv } from './harness.js';

let env: Env | undefined;
let stores: Stores | undefined;
afterEach(async () => {
  if (stores) await closeStores(stores);
  stores = undefined;
  await stopEnv(env);
  env = undefined;
});

const execution = (executionId: string, success = true): ExecutionResult => ({
  executionId,
  taskId: `task-${executionId}`,
  agentId: 'a1',
  taskType: 'coding',
  success,
  durationMs: 100,
  finishedAt: '2026-12-01T10:00:00.000Z',
});

describe('profile service', () => {
  it('counts an execution delivered twice in the round that creates its profile once', async () => {
    env = await startEnv();
    stores = await openStores(env.js, silent, { reconcileMs: 0 });
    const kg = new MemoryKnowledgeGraph();
    for (const id of ['eA', 'eB']) await kg.recordExecution(execution(id));
    // The first cold-start rebuild fails (a KG hiccup); the next round creates the profile.
    let reads = 0;
    const read = kg.getAllExecutionsForTaskType.bind(kg);
    kg.getAllExecutionsForTaskType = async (agentId, taskType) => {
      await new Promise((r) => setTimeout(r, 30));
      if (++reads === 1) throw new Error('KG hiccup');
      return read(agentId, taskType);
    };
    const profiles = new ProfileService(stores, kg);
    const now = new Date('2026-12-01T10:00:01.000Z');
    const first = profiles.apply(execution('eA'), now).then(
      () => 'applied',
      (err: Error) => err.message,
    );
    // While that round is in flight, eB arrives twice (a result and the timeout of its attempt share one id).
    const twice = [profiles.apply(execution('eB'), now), profiles.apply(execution('eB'), now)];
    expect(await first).toBe('KG hiccup');
    expect(await Promise.all(twice)).toEqual([true, false]);
    const stored = (await (await new Kvm(env.js).open(Buckets.profiles)).get(profileKey('a1', 'coding')))!;
    expect(stored.json<ProfileRecord>().totalExecutions).toBe(2);
  });

  it('settles a redelivery its profile may have forgotten by a rebuild from the KG: never counted twice', async () => {
    env = await startEnv();
    stores = await openStores(env.js, silent, { reconcileMs: 0 });
    const kg = new MemoryKnowledgeGraph();
    const profiles = new ProfileService(stores, kg);
    const at = (i: number) => ({
      ...execution(`e${i}`, i % 3 !== 0),
      finishedAt: new Date(Date.parse('2026-12-01T00:00:00.000Z') + i * 60_000).toISOString(),
    });
    const now = new Date('2026-12-01T12:00:00.000Z');
    const n = DEDUPE_MEMORY + 44;
    for (let i = 0; i < n; i += 1) {
      await kg.recordExecution(at(i));
      await profiles.apply(at(i), now);
    }
    const kv = await new Kvm(env.js).open(Buckets.profiles);
    const stored = async () => (await kv.get(profileKey('a1', 'coding')))!.json<ProfileRecord>();
    // e5 was counted long ago: the state no longer remembers its id (the gap the KG's applied-marks cover).
    expect(hasApplied((await stored()).state, 'e5')).toBe(false);
    expect(await profiles.applyRedelivered(at(5), now)).toBe(false);
    expect((await stored()).totalExecutions).toBe(n);
    // One the state remembers: nothing to do.
    expect(await profiles.applyRedelivered(at(n - 1), now)).toBe(false);
    // One the KG recorded but the profile never counted (a crash between the two): counted, once.
    const late = { ...at(n), executionId: 'late' };
    await kg.recordExecution(late);
    expect(await profiles.applyRedelivered(late, now)).toBe(true);
    expect(await profiles.applyRedelivered(late, now)).toBe(false);
    expect((await stored()).totalExecutions).toBe(n + 1);
  });

  it('keeps the overall success rate per agent until one of its profiles changes', async () => {
    env = await startEnv();
    stores = await openStores(env.js, silent, { reconcileMs: 0 });
    const profiles = new ProfileService(stores, new MemoryKnowledgeGraph());
    expect(profiles.overallSuccessRate('a1')).toBe(PRIOR_SUCCESS_RATE);
    const kv = await new Kvm(env.js).open(Buckets.profiles);
    const record = (taskType: string, successes: number, failures: number): string => {
      let state = createExpertiseState(taskType);
      for (let i = 0; i < successes + failures; i += 1)
        state = applyExecution(state, execution(`${taskType}-${i}`, i < successes));
      return JSON.stringify(toProfileRecord('a1', state, new Date('2026-12-01T10:00:01.000Z')));
    };
    await kv.put(profileKey('a1', 'coding'), record('coding', 3, 1));
    await waitFor(() => profiles.overallSuccessRate('a1') === 0.75, { what: 'the first profile counted' });
    // A second task type: the rate is recomputed over both windows (3 + 1 of 4, and 0 of 4).
    await kv.put(profileKey('a1', 'review'), record('review', 0, 4));
    await waitFor(() => profiles.overallSuccessRate('a1') === 3 / 8, { what: 'both profiles counted' });
    // A profile deleted from the bucket stops counting.
    await kv.delete(profileKey('a1', 'review'));
    await waitFor(() => profiles.overallSuccessRate('a1') === 0.75, { what: 'the deleted profile dropped' });
  });
});
