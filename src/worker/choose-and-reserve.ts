/**
 * The assigner's choice: which registered agents may take the task (registry and capacity mirrors), then the best
 * of them by the scoring policy, reserved by compare-and-swap. Concurrent decisions (here and in other replicas)
 * can fill the chosen agent first: then decide again without it.
 */
import type { Logger } from 'pino';
import type {
  AgentDecision,
  AgentRegistration,
  EligibilityResult,
  EligibleAgent,
  TaskArrived,
  TaskStateRecord,
} from '../domain/index.js';
import { chooseAgent, findEligibleAgents, timedOutAgents } from '../domain/index.js';
import type { CapacityService, ReserveOutcome } from './capacity-service.js';
import type { ProfileService } from './profile-service.js';
import type { Stores } from './stores.js';

interface ChoiceDeps {
  stores: Stores;
  profiles: ProfileService;
  capacity: CapacityService;
  heartbeatTimeoutMs: number;
  useRecency: boolean;
}

export interface Eligibility extends EligibilityResult {
  /** An agent that already holds a reservation for this task from an interrupted delivery: resume with it. */
  holder?: EligibleAgent;
}

export function eligibleFor(
  deps: ChoiceDeps,
  input: {
    task: TaskArrived;
    taskType: string;
    record: TaskStateRecord | null;
    now: Date;
    redelivered: boolean;
  },
): Eligibility {
  const excluded = input.record ? timedOutAgents(input.record) : new Set<string>();
  const registrations = [...deps.stores.agents.entries()].map(([, registration]) => registration);
  const result = findEligibleAgents({
    task: input.task,
    taskType: input.taskType,
    agents: registrations,
    inFlight: (agentId) => deps.capacity.inFlight(agentId),
    successRate: (agentId) => deps.profiles.overallSuccessRate(agentId),
    now: input.now,
    heartbeatTimeoutMs: deps.heartbeatTimeoutMs,
    exclude: excluded,
  });
  // Only a redelivery can find its own earlier reservation; a first delivery never resumes anything.
  const holderId = input.redelivered ? deps.capacity.holderOf(input.task.taskId, excluded) : undefined;
  const registration = holderId ? registrations.find((r) => r.agentId === holderId) : undefined;
  return registration ? { ...result, holder: candidateOf(deps, registration) } : result;
}

/**
 * eligibleFor, but a verdict of "nobody" that rests on the capacity mirror is confirmed against the bucket first:
 * the agents the mirror calls full are read from `vapora_capacity` (which also corrects the mirror) and the
 * decision is taken again. A diverged mirror then costs one read, not a task backed off with idle agents.
 */
export async function confirmedEligibleFor(
  deps: ChoiceDeps,
  input: Parameters<typeof eligibleFor>[1],
): Promise<Eligibility> {
  const first = eligibleFor(deps, input);
  if (first.eligible.length > 0 || first.holder !== undefined) return first;
  const full = [...deps.stores.agents.entries()]
    .map(([, registration]) => registration)
    .filter((r) => deps.capacity.inFlight(r.agentId) >= r.maxConcurrent);
  if (full.length === 0) return first;
  const before = full.map((r) => deps.stores.capacity.known(r.agentId).revision);
  await Promise.all(full.map((r) => deps.stores.capacity.refresh(r.agentId)));
  const moved = full.some((r, i) => deps.stores.capacity.known(r.agentId).revision !== before[i]);
  return moved ? eligibleFor(deps, input) : first;
}

function candidateOf(deps: ChoiceDeps, registration: AgentRegistration): EligibleAgent {
  const inFlight = deps.capacity.inFlight(registration.agentId);
  return {
    agentId: registration.agentId,
    successRate: deps.profiles.overallSuccessRate(registration.agentId),
    load: Math.min(1, inFlight / registration.maxConcurrent),
    maxConcurrent: registration.maxConcurrent,
    inFlight,
  };
}

export interface Choice {
  agentId: string;
  decision: AgentDecision;
  reserved: Exclude<ReserveOutcome, 'full'>;
}

/** The best candidate that could still be reserved, or undefined when every one filled up meanwhile. */
export async function chooseAndReserve(
  deps: ChoiceDeps,
  input: {
    eligibility: Eligibility;
    taskId: string;
    taskType: string;
    now: Date;
    timeoutMs: number;
    log: Logger;
  },
): Promise<Choice | undefined> {
  const { eligibility, taskId, taskType, now, timeoutMs, log } = input;
  let candidates = eligibility.holder ? [eligibility.holder] : eligibility.eligible;
  while (candidates.length > 0) {
    const ids = candidates.map((agent) => agent.agentId);
    const profiles = deps.profiles.profilesFor(ids, taskType);
    const decision = chooseAgent(taskType, candidates, profiles, { useRecency: deps.useRecency, now })!;
    const pick = candidates.find((agent) => agent.agentId === decision.agentId)!;
    const reserved = await deps.capacity.reserve(pick.agentId, taskId, pick.maxConcurrent, now, timeoutMs);
    if (reserved !== 'full') return { agentId: pick.agentId, decision, reserved };
    log.debug({ agentId: pick.agentId }, 'agent filled up meanwhile; deciding again without it');
    candidates = candidates.filter((agent) => agent.agentId !== pick.agentId);
  }
  return undefined;
}
