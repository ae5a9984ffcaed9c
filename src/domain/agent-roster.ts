/**
 * Who may be an agent, and what an agent may say about itself. The operator's roster (the same list that renders
 * each agent's NATS user) fixes each agent's role and capacity ceiling; a heartbeat may only narrow them (a lower
 * maxConcurrent, a subset of task types). Without a roster (local development, the demo, a server without
 * authorization) the worker takes what heartbeats declare.
 */
import type { AgentHeartbeat, AgentRegistration } from './messages.js';
import { InvalidInputError } from '../errors.js';

export interface AgentSpec {
  agentId: string;
  role: string;
  maxConcurrent: number;
}

/** Role and ceiling of an agent listed without them. */
export const DEFAULT_AGENT_ROLE = 'developer';
export const DEFAULT_AGENT_MAX_CONCURRENT = 4;
const TOKEN = /^[^.*>\s:,]+$/;

/**
 * Parses `id[:role[:maxConcurrent]],…` (e.g. `coder-1:developer:4,reviewer-1:reviewer`). Throws a RangeError that
 * names the bad entry.
 */
export function parseAgentSpecs(text: string): AgentSpec[] {
  const specs: AgentSpec[] = [];
  for (const entry of text
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)) {
    const [agentId = '', role = DEFAULT_AGENT_ROLE, max = String(DEFAULT_AGENT_MAX_CONCURRENT), ...extra] =
      entry.split(':');
    const maxConcurrent = Number(max);
    if (!TOKEN.test(agentId) || agentId.length > 128)
      throw new InvalidInputError(`agent '${entry}': the id must be a subject token`);
    if (!TOKEN.test(role) || role.length > 64)
      throw new InvalidInputError(`agent '${entry}': bad role '${role}'`);
    if (!Number.isInteger(maxConcurrent) || maxConcurrent < 1 || maxConcurrent > 10_000) {
      throw new InvalidInputError(`agent '${entry}': maxConcurrent must be an integer from 1 to 10000`);
    }
    if (extra.length > 0) throw new InvalidInputError(`agent '${entry}': expected id[:role[:maxConcurrent]]`);
    if (specs.some((spec) => spec.agentId === agentId))
      throw new InvalidInputError(`agent '${agentId}' is listed twice`);
    specs.push({ agentId, role, maxConcurrent });
  }
  return specs;
}

export type RegistrationVerdict =
  { ok: true; registration: AgentRegistration } | { ok: false; reason: string };

/**
 * The registry entry for a heartbeat from `agentId` (the subject's id: who sent it), received at `receivedAt` by the
 * worker. `spec` is the agent's roster entry; `roster` is false when no roster is configured.
 */
export function registrationFrom(
  agentId: string,
  heartbeat: AgentHeartbeat,
  receivedAt: Date,
  spec: AgentSpec | undefined,
  roster: boolean,
): RegistrationVerdict {
  if (heartbeat.agentId !== undefined && heartbeat.agentId !== agentId) {
    return { ok: false, reason: `heartbeat names ${heartbeat.agentId} but was sent by ${agentId}` };
  }
  const base = roster ? spec : declared(agentId, heartbeat);
  if (!base) {
    return {
      ok: false,
      reason: roster
        ? `${agentId} is not in the agent roster`
        : 'a heartbeat without a roster must declare role and maxConcurrent',
    };
  }
  const registration: AgentRegistration = {
    agentId,
    role: base.role,
    maxConcurrent: Math.min(base.maxConcurrent, heartbeat.maxConcurrent ?? base.maxConcurrent),
    heartbeatAt: receivedAt.toISOString(),
  };
  if (heartbeat.taskTypes !== undefined) registration.taskTypes = [...new Set(heartbeat.taskTypes)];
  return { ok: true, registration };
}

function declared(agentId: string, heartbeat: AgentHeartbeat): AgentSpec | undefined {
  return heartbeat.role !== undefined && heartbeat.maxConcurrent !== undefined
    ? { agentId, role: heartbeat.role, maxConcurrent: heartbeat.maxConcurrent }
    : undefined;
}
