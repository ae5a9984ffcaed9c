/**
 * The dashboard's model: a pure fold of what the feed sees (KV entries, assignments, results, dead letters) and
 * the view a browser draws from it. No I/O here, so the numbers on screen are unit-testable and the ranking is
 * the policy's own code (rankAgents), not a copy.
 */
import type { DeadLetterRecord } from '../bus/dead-letter-record.js';
import type {
  AgentRegistration,
  Assignment,
  CapacityRecord,
  LearningProfile,
  ProfileRecord,
} from '../domain/index.js';
import type { Policy } from '../domain/index.js';
import { actionProbabilities, expertiseFromState, inFlightCount, rankAgents } from '../domain/index.js';

/** Newest-first lists are cut to this length: the page shows the latest, never the whole history. */
export const FEED_LIMIT = 50;
export const LATEST_DEAD_LETTERS = 20;
/** Without history an agent's overall success rate is this prior (as the worker's ProfileService uses). */
const PRIOR_SUCCESS_RATE = 0.5;

export interface DecisionEntry {
  taskId: string;
  agentId: string;
  taskType: string;
  policy: string;
  attempt: number;
  finalScore: number;
  reasoning: string;
  assignedAt: string;
  /** Present when the assignment carries one (a randomised policy records the chance of its choice). */
  propensity?: number;
}

export interface ResultEntry {
  taskId: string;
  agentId: string;
  taskType: string;
  success: boolean;
  durationMs: number;
  finishedAt: string;
  /** The worker's own record of a charged timeout (vapora.results.timeouts.<agentId>). */
  timeout: boolean;
  policy?: string;
}

export interface DashboardState {
  agents: Map<string, AgentRegistration>;
  capacity: Map<string, CapacityRecord>;
  /** Key `<agentId>.<taskType>`, as in the bucket. */
  profiles: Map<string, ProfileRecord>;
  decisions: DecisionEntry[];
  results: ResultEntry[];
  /** taskId → policy of its latest assignment seen, for results by policy (bounded like the feed). */
  policyOfTask: Map<string, string>;
  policies: Map<string, { assignments: number; results: number; successes: number; costCents: number }>;
  deadLetterCounts: Map<string, number>;
  deadLetters: DeadLetterRecord[];
}

export type FeedEvent =
  | { kind: 'agent'; agentId: string; value: AgentRegistration | null }
  | { kind: 'capacity'; agentId: string; value: CapacityRecord | null }
  | { kind: 'profile'; key: string; value: ProfileRecord | null }
  | { kind: 'assignment'; assignment: Assignment & { propensity?: unknown } }
  | {
      kind: 'result';
      result: {
        taskId: string;
        agentId: string;
        taskType: string;
        success: boolean;
        durationMs: number;
        finishedAt: string;
        costCents?: number;
      };
      timeout: boolean;
    }
  | { kind: 'dead-letter'; record: DeadLetterRecord };

export function emptyState(): DashboardState {
  return {
    agents: new Map(),
    capacity: new Map(),
    profiles: new Map(),
    decisions: [],
    results: [],
    policyOfTask: new Map(),
    policies: new Map(),
    deadLetterCounts: new Map(),
    deadLetters: [],
  };
}

const setOrDelete = <V>(map: Map<string, V>, key: string, value: V | null) =>
  value === null ? map.delete(key) : map.set(key, value);

const pushFront = <T>(list: T[], item: T, limit: number) => {
  list.unshift(item);
  if (list.length > limit) list.length = limit;
};

/** Dead letters are counted by origin subject and reason: `<origin>\u0000<reason>`. */
const countKey = (origin: string, reason: string) => `${origin}\u0000${reason}`;

function policyBook(state: DashboardState, policy: string) {
  let book = state.policies.get(policy);
  if (!book) state.policies.set(policy, (book = { assignments: 0, results: 0, successes: 0, costCents: 0 }));
  return book;
}

/** Applies one event in place (the feed owns the only state). */
export function applyEvent(state: DashboardState, event: FeedEvent): void {
  switch (event.kind) {
    case 'agent':
      setOrDelete(state.agents, event.agentId, event.value);
      return;
    case 'capacity':
      setOrDelete(state.capacity, event.agentId, event.value);
      return;
    case 'profile':
      setOrDelete(state.profiles, event.key, event.value);
      return;
    case 'assignment': {
      const a = event.assignment;
      const propensity = typeof a.propensity === 'number' ? a.propensity : undefined;
      pushFront(
        state.decisions,
        {
          taskId: a.taskId,
          agentId: a.agentId,
          taskType: a.taskType,
          policy: a.policy,
          attempt: a.attempt,
          finalScore: a.score.final,
          reasoning: a.reasoning,
          assignedAt: a.assignedAt,
          ...(propensity !== undefined ? { propensity } : {}),
        },
        FEED_LIMIT,
      );
      state.policyOfTask.delete(a.taskId);
      state.policyOfTask.set(a.taskId, a.policy);
      if (state.policyOfTask.size > 10 * FEED_LIMIT) {
        const oldest = state.policyOfTask.keys().next().value;
        if (oldest !== undefined) state.policyOfTask.delete(oldest);
      }
      policyBook(state, a.policy).assignments += 1;
      return;
    }
    case 'result': {
      const r = event.result;
      const policy = state.policyOfTask.get(r.taskId);
      pushFront(
        state.results,
        {
          taskId: r.taskId,
          agentId: r.agentId,
          taskType: r.taskType,
          success: r.success,
          durationMs: r.durationMs,
          finishedAt: r.finishedAt,
          timeout: event.timeout,
          ...(policy !== undefined ? { policy } : {}),
        },
        FEED_LIMIT,
      );
      if (policy !== undefined) {
        const book = policyBook(state, policy);
        book.results += 1;
        book.successes += r.success ? 1 : 0;
        book.costCents += r.costCents ?? 0;
      }
      return;
    }
    case 'dead-letter': {
      const key = countKey(event.record.origin, event.record.reason);
      state.deadLetterCounts.set(key, (state.deadLetterCounts.get(key) ?? 0) + 1);
      pushFront(state.deadLetters, event.record, LATEST_DEAD_LETTERS);
      return;
    }
  }
}

export interface AgentView {
  agentId: string;
  role: string;
  taskTypes: string[] | null;
  alive: boolean;
  inFlight: number;
  maxConcurrent: number;
  heartbeatAgeMs: number;
}

export interface RankingRow {
  agentId: string;
  /** P(the policy picks this agent for a task of this type now), over the alive agents with a free slot. */
  chance: number;
  finalScore: number;
  baseScore: number;
  expertiseScore: number;
  confidence: number;
  load: number;
  executions: number;
  trend: string;
}

export interface CurveView {
  agentId: string;
  points: { day: string; successRate: number; executions: number }[];
}

export interface TaskTypeView {
  taskType: string;
  /** The policy whose choice probabilities order the ranking. */
  policy: string;
  ranking: RankingRow[];
  curves: CurveView[];
}

export interface DashboardView {
  generatedAt: string;
  agents: AgentView[];
  taskTypes: TaskTypeView[];
  decisions: DecisionEntry[];
  results: ResultEntry[];
  policies: {
    policy: string;
    assignments: number;
    results: number;
    successRate: number | null;
    avgCostCents: number | null;
  }[];
  deadLetters: {
    total: number;
    byOrigin: { origin: string; reason: string; count: number }[];
    latest: DeadLetterRecord[];
  };
}

/** What the page draws, as of `now`: rankings and curves are recomputed from the profiles' incremental state. */
export function dashboardView(
  state: DashboardState,
  now: Date,
  heartbeatTimeoutMs: number,
  policy: Policy,
): DashboardView {
  const agents = [...state.agents.values()]
    .sort((a, b) => a.agentId.localeCompare(b.agentId))
    .map((a): AgentView => {
      const heartbeatAgeMs = Math.max(0, now.getTime() - Date.parse(a.heartbeatAt));
      return {
        agentId: a.agentId,
        role: a.role,
        taskTypes: a.taskTypes ?? null,
        alive: heartbeatAgeMs <= heartbeatTimeoutMs,
        inFlight: inFlightCount(state.capacity.get(a.agentId)),
        maxConcurrent: a.maxConcurrent,
        heartbeatAgeMs,
      };
    });

  // Expertise as of now, per agent and task type; the overall rate weights each type by its window, as the worker.
  const profiles = new Map<string, LearningProfile>();
  const overall = new Map<string, { successes: number; executions: number }>();
  for (const record of state.profiles.values()) {
    const expertise = expertiseOf(record, now);
    if (!expertise) continue; // a cache entry the dashboard cannot read is left out, not a crash of every view
    const profile = profiles.get(record.agentId) ?? { agentId: record.agentId, expertise: {}, states: {} };
    profile.expertise[expertise.taskType] = expertise;
    profile.states![expertise.taskType] = record.state; // what a policy learns from, as in the worker
    profiles.set(record.agentId, profile);
    const o = overall.get(record.agentId) ?? { successes: 0, executions: 0 };
    o.successes += expertise.successRate * expertise.windowSize;
    o.executions += expertise.windowSize;
    overall.set(record.agentId, o);
  }
  const taskTypes = [...new Set([...profiles.values()].flatMap((p) => Object.keys(p.expertise)))].sort();
  const alive = agents.filter((a) => a.alive);

  return {
    generatedAt: now.toISOString(),
    agents,
    taskTypes: taskTypes.map((taskType): TaskTypeView => {
      // The candidates the policy would see now: alive agents that serve this type (or declare no types).
      const candidates = alive
        .filter((a) => a.taskTypes === null || a.taskTypes.includes(taskType))
        .map((a) => {
          const o = overall.get(a.agentId);
          return {
            agentId: a.agentId,
            successRate: o && o.executions > 0 ? o.successes / o.executions : PRIOR_SUCCESS_RATE,
            load: Math.min(1, a.inFlight / a.maxConcurrent),
            maxConcurrent: a.maxConcurrent,
            inFlight: a.inFlight,
          };
        });
      // The ranking as the policy sees it: its choice probabilities (exact, no sampling), then the seed score.
      const chances = actionProbabilities(policy, { taskType, candidates, profiles, now });
      const chanceOf = (agentId: string) => chances.get(agentId) ?? 0;
      const scored = rankAgents(candidates, taskType, profiles).sort(
        (a, b) => chanceOf(b.agentId) - chanceOf(a.agentId),
      );
      const ranking = scored.map((s) => {
        const e = profiles.get(s.agentId)?.expertise[taskType];
        return {
          agentId: s.agentId,
          chance: chanceOf(s.agentId),
          finalScore: s.finalScore,
          baseScore: s.baseScore,
          expertiseScore: s.expertiseScore,
          confidence: s.confidence,
          load: s.load,
          executions: e?.totalExecutions ?? 0,
          trend: e?.trend ?? 'unknown',
        };
      });
      const curves = [...profiles.values()]
        .map((p) => ({ agentId: p.agentId, curve: p.expertise[taskType]?.learningCurve ?? [] }))
        .filter((c) => c.curve.length > 0)
        .sort((a, b) => a.agentId.localeCompare(b.agentId))
        .map((c) => ({
          agentId: c.agentId,
          points: c.curve.map((p) => ({ day: p.day, successRate: p.successRate, executions: p.executions })),
        }));
      return { taskType, policy: policy.name, ranking, curves };
    }),
    decisions: state.decisions,
    results: state.results,
    policies: [...state.policies.entries()].sort().map(([policy, b]) => ({
      policy,
      assignments: b.assignments,
      results: b.results,
      successRate: b.results > 0 ? b.successes / b.results : null,
      avgCostCents: b.results > 0 ? b.costCents / b.results : null,
    })),
    deadLetters: {
      total: [...state.deadLetterCounts.values()].reduce((a, b) => a + b, 0),
      byOrigin: [...state.deadLetterCounts.entries()]
        .map(([key, count]) => {
          const [origin = '', reason = ''] = key.split('\u0000');
          return { origin, reason, count };
        })
        .sort((a, b) => b.count - a.count || a.origin.localeCompare(b.origin)),
      latest: state.deadLetters,
    },
  };
}

/** The record's expertise now, or undefined when the entry is not a readable profile (hand-written, truncated). */
function expertiseOf(record: ProfileRecord, now: Date): ReturnType<typeof expertiseFromState> | undefined {
  try {
    return typeof record.agentId === 'string' ? expertiseFromState(record.state, now) : undefined;
  } catch {
    return undefined;
  }
}
