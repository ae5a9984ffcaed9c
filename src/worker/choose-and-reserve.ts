/**
 * The assigner's choice: which registered agents may take the task (registry and capacity mirrors), then one of
 * them by the task's decision policy (POLICY, or its arm of POLICY_SPLIT), reserved by compare-and-swap. Concurrent
 * decisions (here and in other replicas) can fill the chosen agent first: then decide again without it.
 */
import type { Logger } from 'pino';
import type {
  AgentRegistration,
  EligibilityResult,
  EligibleAgent,
  LearningProfile,
  PolicyDecision,
  TaskArrived,
  TaskStateRecord,
} from '../domain/index.js';
import { findEligibleAgents, timedOutAgents } from '../domain/index.js';
import type { DecisionCandidate } from '../kg/decision-record.js';
import type { CapacityService, ReserveOutcome } from './capacity-service.js';
import type { PolicyRouter } from './policy-router.js';
import type { ProfileService } from './profile-service.js';
import type { Stores } from './stores.js';

/** What eligibility reads: the registry and capacity mirrors, and the profiles for the base score. */
interface EligibilityDeps {
  stores: Stores;
  profiles: ProfileService;
  capacity: CapacityService;
  heartbeatTimeoutMs: number;
  /**
   * The operator's roster (AGENTS), when there is one: only its agents are candidates. The registry can still hold
   * an agent taken off the roster (its entry ages out with its last heartbeat); it gets no task meanwhile.
   */
  roster?: ReadonlySet<string> | undefined;
}

/** The registry mirror's agents that may be candidates (all of them without a roster). */
function registeredAgents(deps: EligibilityDeps): AgentRegistration[] {
  const all = [...deps.stores.agents.entries()].map(([, registration]) => registration);
  const { roster } = deps;
  return roster ? all.filter((r) => roster.has(r.agentId)) : all;
}

interface ChoiceDeps extends EligibilityDeps {
  policies: PolicyRouter;
}

export interface Eligibility extends EligibilityResult {
  /** An agent that already holds a reservation for this task from an interrupted delivery: resume with it. */
  holder?: EligibleAgent;
}

export function eligibleFor(
  deps: EligibilityDeps,
  input: {
    task: TaskArrived;
    taskType: string;
    record: TaskStateRecord | null;
    now: Date;
    redelivered: boolean;
  },
): Eligibility {
  const excluded = input.record ? timedOutAgents(input.record) : new Set<string>();
  const registrations = registeredAgents(deps);
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
  deps: EligibilityDeps,
  input: Parameters<typeof eligibleFor>[1],
): Promise<Eligibility> {
  const first = eligibleFor(deps, input);
  if (first.eligible.length > 0 || first.holder !== undefined) return first;
  // The agents eligibility found able but full: only their capacity records can change the verdict.
  const full = first.rejected.filter((r) => r.busy === true).map((r) => r.agentId);
  if (full.length === 0) return first;
  const before = full.map((agentId) => deps.stores.capacity.known(agentId).revision);
  await Promise.all(full.map((agentId) => deps.stores.capacity.refresh(agentId)));
  const moved = full.some((agentId, i) => deps.stores.capacity.known(agentId).revision !== before[i]);
  return moved ? eligibleFor(deps, input) : first;
}

function candidateOf(deps: EligibilityDeps, registration: AgentRegistration): EligibleAgent {
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
  decision: PolicyDecision;
  reserved: Exclude<ReserveOutcome, 'full'>;
  /** What the policy saw of each candidate it chose from, for the decision log. */
  candidates: DecisionCandidate[];
}

/** The candidate the task's policy picks that could still be reserved, or undefined when every one filled up. */
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
  const policy = deps.policies.policyFor(taskId);
  // The holder's own reservation for this task fills its slot: it must not count against resuming with it.
  let candidates = eligibility.holder
    ? [{ ...eligibility.holder, inFlight: Math.max(0, eligibility.holder.inFlight - 1) }]
    : eligibility.eligible;
  while (candidates.length > 0) {
    const ids = candidates.map((agent) => agent.agentId);
    const profiles = deps.profiles.profilesFor(ids, taskType);
    const decision = policy.choose({ taskType, candidates, profiles, now });
    // Every candidate at capacity in the policy's eyes: the same as all of them filling up meanwhile.
    if (!decision) return undefined;
    const pick = candidates.find((agent) => agent.agentId === decision.agentId)!;
    const reserved = await deps.capacity.reserve(pick.agentId, taskId, pick.maxConcurrent, now, timeoutMs);
    if (reserved !== 'full')
      return {
        agentId: pick.agentId,
        decision,
        reserved,
        candidates: decisionCandidates(candidates, profiles, decision, taskType),
      };
    log.debug({ agentId: pick.agentId }, 'agent filled up meanwhile; deciding again without it');
    candidates = candidates.filter((agent) => agent.agentId !== pick.agentId);
  }
  return undefined;
}

function decisionCandidates(
  candidates: readonly EligibleAgent[],
  profiles: ReadonlyMap<string, LearningProfile>,
  decision: PolicyDecision,
  taskType: string,
): DecisionCandidate[] {
  const scores = new Map(decision.ranking.map((score) => [score.agentId, score]));
  return candidates.map((candidate) => {
    const score = scores.get(candidate.agentId);
    const expertise = profiles.get(candidate.agentId)?.expertise[taskType];
    return {
      agentId: candidate.agentId,
      successRate: candidate.successRate,
      load: candidate.load,
      maxConcurrent: candidate.maxConcurrent,
      inFlight: candidate.inFlight,
      ...(expertise
        ? {
            expertise: {
              successRate: expertise.successRate,
              recentSuccessRate: expertise.recentSuccessRate,
              windowSize: expertise.windowSize,
              totalExecutions: expertise.totalExecutions,
              confidence: expertise.confidence,
            },
          }
        : {}),
      score: {
        base: score?.baseScore ?? 0,
        expertise: score?.expertiseScore ?? 0,
        confidence: score?.confidence ?? 0,
        final: score?.finalScore ?? 0,
      },
    };
  });
}
