/**
 * The subject, stream, consumer and bucket names of the public contract (README "Subjects").
 * Builders validate tokens so a bad id can never widen a subject (e.g. an agentId of `>`).
 */
import { InvalidInputError } from '../errors.js';

export const SUBJECT_PREFIX = 'vapora';

export const Subjects = Object.freeze({
  taskArrived: 'vapora.tasks.arrived',
  tasksUnassignable: 'vapora.tasks.unassignable',
  assignment: (agentId: string) => `vapora.assignments.${token(agentId)}`,
  result: (agentId: string) => `vapora.results.${token(agentId)}`,
  /**
   * The worker's own record that an agent's attempt timed out, in the results stream so that the learner counts it
   * like a result. Four tokens: no agent's permission (`vapora.results.<own id>`) reaches it.
   */
  timeout: (agentId: string) => `vapora.results.timeouts.${token(agentId)}`,
  allResults: 'vapora.results.*',
  /** An agent's heartbeat; only that agent may publish on it (its NATS permission is its identity). */
  heartbeat: (agentId: string) => `vapora.agents.heartbeat.${token(agentId)}`,
  allHeartbeats: 'vapora.agents.heartbeat.*',
  allAssignments: 'vapora.assignments.*',
  /** `vapora.dlq.<origin without the vapora. prefix>`, e.g. vapora.dlq.results.agent-1 */
  deadLetter: (originSubject: string) =>
    `vapora.dlq.${originSubject.startsWith('vapora.') ? originSubject.slice('vapora.'.length) : originSubject}`,
});

export const Streams = Object.freeze({
  tasks: 'VAPORA_TASKS',
  assignments: 'VAPORA_ASSIGNMENTS',
  results: 'VAPORA_RESULTS',
  deadLetters: 'VAPORA_DLQ',
});

export const Consumers = Object.freeze({
  assigner: 'assigner',
  learner: 'learner',
  /** Each agent's own durable consumer of its assignments. */
  agent: (agentId: string) => `agent-${token(agentId)}`,
});

export const Buckets = Object.freeze({
  agents: 'vapora_agents',
  profiles: 'vapora_profiles',
  capacity: 'vapora_capacity',
  tasks: 'vapora_tasks',
});

/** Key of a profile in `vapora_profiles`. */
export function profileKey(agentId: string, taskType: string): string {
  return `${token(agentId)}.${token(taskType)}`;
}

export function parseProfileKey(key: string): { agentId: string; taskType: string } | null {
  const dot = key.indexOf('.');
  if (dot <= 0 || dot === key.length - 1 || key.indexOf('.', dot + 1) !== -1) return null;
  return { agentId: key.slice(0, dot), taskType: key.slice(dot + 1) };
}

/** The agentId token of a `vapora.agents.heartbeat.<agentId>` subject, or null. */
export function agentIdOfHeartbeatSubject(subject: string): string | null {
  const prefix = 'vapora.agents.heartbeat.';
  if (!subject.startsWith(prefix)) return null;
  const rest = subject.slice(prefix.length);
  return rest.length > 0 && !rest.includes('.') ? rest : null;
}

/** The agentId token of a `vapora.results.timeouts.<agentId>` subject (the worker's timeouts), or null. */
export function agentIdOfTimeoutSubject(subject: string): string | null {
  const prefix = 'vapora.results.timeouts.';
  if (!subject.startsWith(prefix)) return null;
  const rest = subject.slice(prefix.length);
  return rest.length > 0 && !rest.includes('.') ? rest : null;
}

/** The agentId token of a `vapora.results.<agentId>` subject, or null. */
export function agentIdOfResultSubject(subject: string): string | null {
  const prefix = 'vapora.results.';
  if (!subject.startsWith(prefix)) return null;
  const rest = subject.slice(prefix.length);
  return rest.length > 0 && !rest.includes('.') ? rest : null;
}

const ILLEGAL = /[.*>\s]/;

/** Asserts that `value` can stand as one subject token. */
export function token(value: string): string {
  if (value.length === 0 || ILLEGAL.test(value)) {
    throw new InvalidInputError(`not a valid subject token: ${JSON.stringify(value)}`);
  }
  return value;
}
