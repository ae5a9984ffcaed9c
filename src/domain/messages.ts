/**
 * The public message contract (see README "Subjects"). Other teams' agents and producers, possibly written in
 * other languages, send and receive exactly these shapes, so the schemas are the API: additive changes only.
 */
import { FormatRegistry, Type, type Static } from '@sinclair/typebox';

// A pattern alone accepts 2026-13-45; the format check makes the calendar count.
if (!FormatRegistry.Has('date-time')) {
  FormatRegistry.Set('date-time', (value) => !Number.isNaN(Date.parse(value)));
}

/**
 * An id that can stand as one NATS subject token: no `.`, `*`, `>` or whitespace, 1–128 printable chars.
 * Agent ids end up in subjects (`vapora.results.<agentId>`), so this is a safety property, not a style rule.
 */
export const SubjectToken = Type.String({
  minLength: 1,
  maxLength: 128,
  pattern: '^[^.*>\\s]+$',
  description: 'non-empty, no ".", "*", ">" or whitespace (it becomes a NATS subject token)',
});

/** ISO 8601 timestamp with an explicit zone, as produced by `Date.prototype.toISOString()`. */
export const IsoTimestamp = Type.String({
  format: 'date-time',
  pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,9})?)?(Z|[+-]\\d{2}:\\d{2})$',
  description: 'an ISO 8601 timestamp such as 2026-01-31T12:00:00.000Z',
});

const TaskType = Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z0-9_-]+$' });

export const TaskArrivedSchema = Type.Object({
  taskId: SubjectToken,
  title: Type.String({ minLength: 1, maxLength: 1024 }),
  description: Type.Optional(Type.String({ maxLength: 65536 })),
  taskType: Type.Optional(TaskType),
  requiredRole: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  candidates: Type.Optional(Type.Array(SubjectToken, { maxItems: 1000 })),
  /** How long the assignee may take before the task is reassigned; at most 7 days (`MAX_TASK_TIMEOUT_MS`). */
  timeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 604_800_000 })),
  metadata: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
});
export type TaskArrived = Static<typeof TaskArrivedSchema>;

export const ExecutionResultSchema = Type.Object({
  executionId: SubjectToken,
  taskId: SubjectToken,
  agentId: SubjectToken,
  taskType: TaskType,
  success: Type.Boolean(),
  durationMs: Type.Number({ minimum: 0 }),
  finishedAt: IsoTimestamp,
  startedAt: Type.Optional(IsoTimestamp),
  qualityScore: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
  /** At most 10,000,000 cents ($100,000) for one execution: a bound on what one claim can weigh. */
  costCents: Type.Optional(Type.Number({ minimum: 0, maximum: 10_000_000 })),
  provider: Type.Optional(Type.String({ maxLength: 128 })),
  error: Type.Optional(Type.String({ maxLength: 4096 })),
  /** The assignment's attempt this result is for (copy it from the assignment); absent: the latest one. */
  attempt: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
});
export type ExecutionResult = Static<typeof ExecutionResultSchema>;

export const AgentRegistrationSchema = Type.Object({
  agentId: SubjectToken,
  role: Type.String({ minLength: 1, maxLength: 64 }),
  taskTypes: Type.Optional(Type.Array(TaskType, { maxItems: 256 })),
  maxConcurrent: Type.Integer({ minimum: 1, maximum: 10000 }),
  heartbeatAt: IsoTimestamp,
});
export type AgentRegistration = Static<typeof AgentRegistrationSchema>;

/**
 * What an agent says on `vapora.agents.heartbeat.<agentId>` every few seconds. The subject (its NATS permission) is
 * its identity; the worker writes the registry entry. Under an operator roster, role comes from the roster and
 * maxConcurrent can only be lowered; `leaving: true` deregisters.
 */
export const AgentHeartbeatSchema = Type.Object({
  agentId: Type.Optional(SubjectToken),
  role: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  taskTypes: Type.Optional(Type.Array(TaskType, { maxItems: 256 })),
  maxConcurrent: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000 })),
  leaving: Type.Optional(Type.Boolean()),
});
export type AgentHeartbeat = Static<typeof AgentHeartbeatSchema>;

export const ScoreBreakdownSchema = Type.Object({
  base: Type.Number(),
  expertise: Type.Number(),
  confidence: Type.Number(),
  final: Type.Number(),
});

export const RankedAgentSchema = Type.Object({
  agentId: SubjectToken,
  baseScore: Type.Number(),
  expertiseScore: Type.Number(),
  confidence: Type.Number(),
  finalScore: Type.Number(),
  load: Type.Number(),
  reasoning: Type.String(),
});

export const AssignmentSchema = Type.Object({
  taskId: SubjectToken,
  agentId: SubjectToken,
  taskType: TaskType,
  /**
   * The decision policy that chose the agent (`thompson`, `seed`, …; see POLICIES). Before policies existed it was
   * `learned`, `learned-recency` or `load-fallback`; consumers should treat it as an open string.
   */
  policy: Type.String({ minLength: 1, maxLength: 64 }),
  /** `load-fallback` when no candidate had history for the task type, so the least loaded one was taken. */
  mode: Type.Optional(Type.Union([Type.Literal('learned'), Type.Literal('load-fallback')])),
  /** P(this agent is chosen | what the policy saw), in (0, 1]: what off-policy evaluation divides by. */
  propensity: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1 })),
  /** The policy chose against its current best estimate (exploration). */
  explored: Type.Optional(Type.Boolean()),
  score: ScoreBreakdownSchema,
  ranking: Type.Array(RankedAgentSchema),
  reasoning: Type.String(),
  assignedAt: IsoTimestamp,
  /** Which assignment of this task this is: 1 for the first, higher after reassignment. */
  attempt: Type.Integer({ minimum: 1 }),
  task: TaskArrivedSchema,
});
export type Assignment = Static<typeof AssignmentSchema>;

export const UnassignableSchema = Type.Object({
  taskId: SubjectToken,
  reason: Type.String(),
  taskType: TaskType,
  firstSeenAt: IsoTimestamp,
  givenUpAt: IsoTimestamp,
  task: TaskArrivedSchema,
});
export type Unassignable = Static<typeof UnassignableSchema>;
