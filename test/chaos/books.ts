/**
 * The books of a chaos scenario, checked after the system has drained:
 *  - tasks (KV vapora_tasks): every task has exactly one final state, `completed`, and its history never shows two
 *    live assignments at once (assigned/reassigned must be closed by timed-out or completed before the next);
 *  - assignments (stream VAPORA_ASSIGNMENTS): exactly one message per (taskId, attempt), attempts 1..k with k the
 *    task state's attempt; a reassignment never goes back to an agent the task timed out on;
 *  - agent runs (the agents' own JSON-lines logs): no two runs of one task overlap in time, and no agent ever had
 *    more than maxConcurrent in flight; the capacity bucket never recorded more than maxConcurrent either;
 *  - knowledge graph: every (task, attempt, agent) reported (and every timeout) is in the KG exactly once, and
 *    nothing else is;
 *  - profiles: every cached profile equals its rebuild from the KG at the same `now`; every KG key has one;
 *  - capacity: no reservation is left over once everything is done.
 */
import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { Buckets, Streams, agentIdOfResultSubject } from '../../src/bus/subjects.js';
import type {
  Assignment,
  CapacityRecord,
  ExecutionResult,
  ProfileRecord,
  TaskStateRecord,
} from '../../src/domain/index.js';
import {
  ExecutionResultSchema,
  decode,
  evidenceId,
  holderOf,
  expertiseFromState,
  inFlightCount,
} from '../../src/domain/index.js';
import { connectKnowledgeGraph } from '../../src/kg/connect.js';
import { MemoryKnowledgeGraph } from '../support/memory-knowledge-graph.js';
import { rebuildExpertiseState } from '../../src/kg/rebuild.js';
import type { Bus } from './observe.js';
import { readBucket, readStream } from './observe.js';

export interface AgentLimit {
  agentId: string;
  maxConcurrent: number;
}

export interface BooksInput {
  bus: Bus;
  /** Every valid task published. */
  taskIds: readonly string[];
  agents: readonly AgentLimit[];
  agentLogs: readonly string[];
  /** Agents killed during the run → time of death (their unfinished runs end there). */
  deadAgents?: ReadonlyMap<string, number>;
  /** Every KG the workers wrote to, read after the workers exited. */
  kgs: readonly ExecutionResult[][];
  /** One shared KG (every copy of an id in it is a duplicate) or one store per replica (copies across stores are allowed). */
  kgMode: 'single' | 'per-replica';
  capacityPeak?: ReadonlyMap<string, number>;
  /** Whether reassignment after a timeout is expected (scenario 4). */
  reassignment?: boolean;
}

export interface Books {
  tasks: number;
  completed: number;
  lost: number;
  duplicated: number;
  capacityViolations: number;
  assignments: number;
  results: number;
  kgExecutions: number;
  profiles: number;
  /** Re-runs of the same (task, attempt) by an agent after a redelivery: at-least-once work, counted once. */
  reRuns: number;
  /** Result messages stored twice in VAPORA_RESULTS (outside the dedupe window). */
  resultCopies: number;
  /** Executions present in more than one per-replica store. */
  crossStoreCopies: number;
  timedOut: number;
  maxInFlight: Record<string, number>;
  problems: string[];
  /** Cached profile vs rebuild, for the first mismatches (shown by the test's toEqual). */
  profileMismatches: { key: string; cached: unknown; rebuilt: unknown }[];
}

interface Run {
  agentId: string;
  attempt: number;
  start: number;
  end: number;
}

export async function readKnowledgeGraph(url: string): Promise<ExecutionResult[]> {
  const kg = await connectKnowledgeGraph({ url, connectTimeoutMs: 20_000 });
  try {
    const out: ExecutionResult[] = [];
    for (const { agentId, taskType } of await kg.listProfileKeys()) {
      out.push(...(await kg.getAllExecutionsForTaskType(agentId, taskType)));
    }
    return out;
  } finally {
    await kg.close();
  }
}

export async function checkBooks(input: BooksInput, now = new Date()): Promise<Books> {
  const problems: string[] = [];
  const note = (msg: string) => {
    if (problems.length < 200) problems.push(msg);
  };
  const expected = new Set(input.taskIds);
  const limits = new Map(input.agents.map((a) => [a.agentId, a.maxConcurrent]));
  let lost = 0;
  let duplicated = 0;
  let capacityViolations = 0;

  // --- task states -------------------------------------------------------------------------------------------
  const states = await readBucket<TaskStateRecord>(input.bus, Buckets.tasks);
  let completed = 0;
  let timedOut = 0;
  const timeoutExecutions = new Set<string>();
  const timedOutOn = new Map<string, Set<string>>();
  for (const [taskId, state] of states) {
    if (!expected.has(taskId)) note(`unexpected task state ${taskId} (${state.status})`);
  }
  for (const taskId of expected) {
    const state = states.get(taskId);
    if (!state) {
      lost += 1;
      note(`task ${taskId}: no task state`);
      continue;
    }
    const finals = state.history.filter((h) => h.status === 'completed').length;
    if (state.status === 'completed') completed += 1;
    else {
      lost += 1;
      note(`task ${taskId}: final status ${state.status}, not completed`);
    }
    if (finals > 1) {
      duplicated += finals - 1;
      note(`task ${taskId}: ${finals} completed entries in its history`);
    }
    let live = false;
    let attempt = 0;
    for (const entry of state.history) {
      if (entry.status === 'assigned' || entry.status === 'reassigned') {
        if (live) {
          duplicated += 1;
          note(
            `task ${taskId}: a second live assignment while one was live (${JSON.stringify(state.history)})`,
          );
        }
        live = true;
        attempt += 1;
      } else if (entry.status === 'timed-out') {
        live = false;
        timedOut += 1;
        // An uncharged timeout (the assignment never reached the agent) is recorded as no execution.
        const charged = holderOf(state, attempt)?.charged;
        if (entry.agentId && charged !== false) {
          timeoutExecutions.add(evidenceId(taskId, attempt, entry.agentId));
        }
        if (entry.agentId) {
          const set = timedOutOn.get(taskId) ?? new Set<string>();
          set.add(entry.agentId);
          timedOutOn.set(taskId, set);
        }
      } else if (entry.status === 'completed') live = false;
    }
    if (!input.reassignment && state.attempt !== 1)
      note(`task ${taskId}: attempt ${state.attempt} without reassignment`);
  }

  // --- assignments ---------------------------------------------------------------------------------------------
  const assignmentMessages = await readStream(input.bus, Streams.assignments);
  const byTask = new Map<string, Map<number, Assignment[]>>();
  for (const m of assignmentMessages) {
    const a = JSON.parse(Buffer.from(m.data).toString('utf8')) as Assignment;
    if (!expected.has(a.taskId)) {
      note(`assignment for unknown task ${a.taskId}`);
      continue;
    }
    const attempts = byTask.get(a.taskId) ?? new Map<number, Assignment[]>();
    attempts.set(a.attempt, [...(attempts.get(a.attempt) ?? []), a]);
    byTask.set(a.taskId, attempts);
  }
  for (const taskId of expected) {
    const attempts = byTask.get(taskId);
    if (!attempts) {
      note(`task ${taskId}: never assigned`);
      continue; // counted as lost above (no completed state)
    }
    const k = Math.max(...attempts.keys());
    const state = states.get(taskId);
    if (state && state.attempt !== k)
      note(`task ${taskId}: state attempt ${state.attempt}, last assignment ${k}`);
    for (let n = 1; n <= k; n += 1) {
      const copies = attempts.get(n) ?? [];
      if (copies.length === 0) note(`task ${taskId}: attempt ${n} missing from the assignments`);
      if (copies.length > 1) {
        duplicated += copies.length - 1;
        note(`task ${taskId}: attempt ${n} published ${copies.length} times`);
      }
    }
    if (!input.reassignment && k > 1) note(`task ${taskId}: ${k} attempts without reassignment`);
    const banned = timedOutOn.get(taskId);
    if (banned) {
      for (let n = 2; n <= k; n += 1) {
        const agent = attempts.get(n)?.[0]?.agentId;
        const earlier = attempts.get(n - 1)?.[0]?.agentId;
        if (agent !== undefined && agent === earlier)
          note(`task ${taskId}: attempt ${n} went back to ${agent}`);
      }
    }
  }

  // --- agent runs: concurrency and overlapping live periods -----------------------------------------------------
  const maxInFlight: Record<string, number> = {};
  const open = new Map<string, number[]>();
  const runs = new Map<string, Run[]>();
  const runsPerAttempt = new Map<string, number>();
  for (const file of input.agentLogs) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      let ev: { e: string; a: string; t: string; n: number; at: number; f?: number };
      try {
        ev = JSON.parse(line) as typeof ev;
      } catch {
        continue; // a line cut by kill -9
      }
      const key = `${ev.a}\u0000${ev.t}\u0000${ev.n}`;
      if (ev.e === 's') {
        maxInFlight[ev.a] = Math.max(maxInFlight[ev.a] ?? 0, ev.f ?? 0);
        const limit = limits.get(ev.a);
        if (limit !== undefined && (ev.f ?? 0) > limit) {
          capacityViolations += 1;
          note(`agent ${ev.a} had ${ev.f} in flight (maxConcurrent ${limit})`);
        }
        open.set(key, [...(open.get(key) ?? []), ev.at]);
        runsPerAttempt.set(`${ev.t}\u0000${ev.n}`, (runsPerAttempt.get(`${ev.t}\u0000${ev.n}`) ?? 0) + 1);
      } else if (ev.e === 'e') {
        const starts = open.get(key) ?? [];
        const start = starts.shift();
        if (start === undefined) continue;
        const list = runs.get(ev.t) ?? [];
        list.push({ agentId: ev.a, attempt: ev.n, start, end: ev.at });
        runs.set(ev.t, list);
      }
    }
  }
  for (const [key, starts] of open) {
    const [agentId, taskId, attempt] = key.split('\u0000') as [string, string, string];
    for (const start of starts) {
      const list = runs.get(taskId) ?? [];
      list.push({
        agentId,
        attempt: Number(attempt),
        start,
        end: input.deadAgents?.get(agentId) ?? Infinity,
      });
      runs.set(taskId, list);
    }
  }
  let reRuns = 0;
  for (const count of runsPerAttempt.values()) reRuns += Math.max(0, count - 1);
  for (const [taskId, list] of runs) {
    list.sort((a, b) => a.start - b.start);
    for (let i = 1; i < list.length; i += 1) {
      if (list[i]!.start < list[i - 1]!.end) {
        duplicated += 1;
        note(`task ${taskId}: runs overlap: ${JSON.stringify(list[i - 1])} and ${JSON.stringify(list[i])}`);
      }
    }
  }
  if (input.capacityPeak) {
    for (const [agentId, peak] of input.capacityPeak) {
      const limit = limits.get(agentId);
      if (limit !== undefined && peak > limit) {
        capacityViolations += 1;
        note(`capacity bucket held ${peak} reservations for ${agentId} (maxConcurrent ${limit})`);
      }
    }
  }

  // --- results and the knowledge graph -------------------------------------------------------------------------
  const resultMessages = await readStream(input.bus, Streams.results);
  const reported = new Map<string, ExecutionResult>();
  let resultCopies = 0;
  for (const m of resultMessages) {
    const decoded = decode(ExecutionResultSchema, m.data);
    if (!decoded.ok || agentIdOfResultSubject(m.subject) !== decoded.value.agentId) continue; // DLQ's business
    if (!expected.has(decoded.value.taskId)) continue; // injected by the scenario, checked there
    // The KG keys a result by (task, attempt, agent): the agent's executionId decides nothing.
    const { taskId, attempt, agentId } = decoded.value;
    const key = evidenceId(taskId, attempt ?? 1, agentId);
    if (reported.has(key)) resultCopies += 1;
    else reported.set(key, decoded.value);
  }
  const expectedKg = new Set([...reported.keys(), ...timeoutExecutions]);
  const copies = new Map<string, number>();
  const union = new Map<string, ExecutionResult>();
  for (const store of input.kgs) {
    const seenHere = new Set<string>();
    for (const e of store) {
      if (seenHere.has(e.executionId)) {
        duplicated += 1;
        note(`execution ${e.executionId} twice in one KG`);
      }
      seenHere.add(e.executionId);
      copies.set(e.executionId, (copies.get(e.executionId) ?? 0) + 1);
      if (!union.has(e.executionId)) union.set(e.executionId, e);
    }
  }
  let crossStoreCopies = 0;
  for (const [id, n] of copies) {
    if (n > 1 && input.kgMode === 'single') {
      duplicated += n - 1;
      note(`execution ${id} in the KG ${n} times`);
    } else if (n > 1) crossStoreCopies += n - 1;
  }
  for (const id of expectedKg) {
    if (!union.has(id)) {
      lost += 1;
      note(`execution ${id} reported but not in the KG`);
    }
  }
  const perTask = new Map<string, number>();
  for (const [id, e] of union) {
    if (!expectedKg.has(id)) note(`execution ${id} in the KG but never reported`);
    perTask.set(e.taskId, (perTask.get(e.taskId) ?? 0) + 1);
  }
  for (const [taskId, n] of perTask) {
    const attempts = states.get(taskId)?.attempt ?? 1;
    if (n > attempts) {
      duplicated += n - attempts;
      note(`task ${taskId}: ${n} executions in the KG for ${attempts} attempt(s)`);
    }
  }

  // --- profiles vs their rebuild -------------------------------------------------------------------------------
  const profiles = await readBucket<ProfileRecord>(input.bus, Buckets.profiles);
  const kg = new MemoryKnowledgeGraph();
  for (const e of union.values()) await kg.recordExecution(e);
  const profileMismatches: Books['profileMismatches'] = [];
  for (const { agentId, taskType } of await kg.listProfileKeys()) {
    const key = `${agentId}.${taskType}`;
    const cached = profiles.get(key);
    const rebuilt = expertiseFromState(await rebuildExpertiseState(kg, agentId, taskType), now);
    if (!cached) {
      lost += rebuilt.totalExecutions;
      note(`profile ${key} missing from the cache (${rebuilt.totalExecutions} executions in the KG)`);
      continue;
    }
    const fromCache = expertiseFromState(cached.state, now);
    if (!isDeepStrictEqual(fromCache, rebuilt)) {
      const diff = fromCache.totalExecutions - rebuilt.totalExecutions;
      if (diff > 0) duplicated += diff;
      if (diff < 0) lost += -diff;
      note(
        `profile ${key}: cache (${fromCache.totalExecutions}) differs from its rebuild (${rebuilt.totalExecutions})`,
      );
      if (profileMismatches.length < 3) profileMismatches.push({ key, cached: fromCache, rebuilt });
    }
  }
  for (const key of profiles.keys()) {
    const [agentId, taskType] = key.split('.') as [string, string];
    if ((await kg.countExecutions(agentId, taskType)) === 0) note(`profile ${key} cached without KG history`);
  }
  await kg.close();

  // --- capacity left over --------------------------------------------------------------------------------------
  const capacity = await readBucket<CapacityRecord>(input.bus, Buckets.capacity);
  for (const [agentId, record] of capacity) {
    if (inFlightCount(record) > 0) {
      note(
        `capacity: ${agentId} still holds ${inFlightCount(record)} reservation(s): ${Object.keys(record.inFlight).slice(0, 5).join(', ')}`,
      );
    }
  }

  return {
    tasks: expected.size,
    completed,
    lost,
    duplicated,
    capacityViolations,
    assignments: assignmentMessages.length,
    results: resultMessages.length,
    kgExecutions: union.size,
    profiles: profiles.size,
    reRuns,
    resultCopies,
    crossStoreCopies,
    timedOut,
    maxInFlight,
    problems,
    profileMismatches,
  };
}

/** Figures for a scenario that checks no task books (5b). */
export function emptyBooks(): Books {
  return {
    tasks: 0,
    completed: 0,
    lost: 0,
    duplicated: 0,
    capacityViolations: 0,
    assignments: 0,
    results: 0,
    kgExecutions: 0,
    profiles: 0,
    reRuns: 0,
    resultCopies: 0,
    crossStoreCopies: 0,
    timedOut: 0,
    maxInFlight: {},
    problems: [],
    profileMismatches: [],
  };
}
