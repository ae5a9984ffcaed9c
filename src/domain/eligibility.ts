/**
 * Which registered agents may take a task: alive (recent heartbeat), the required role, the task type among
 * their declared types (when they declare any), on the task's candidate list (when it has one), and with spare
 * capacity. Returns the candidates for scoring and, for the others, why not — that goes into logs and into the
 * unassignable event.
 */
import type { AgentRegistration, TaskArrived } from './messages.js';
import type { AgentCandidate } from './scoring.js';

export interface EligibilityInput {
  task: TaskArrived;
  taskType: string;
  agents: readonly AgentRegistration[];
  inFlight: (agentId: string) => number;
  /** Overall success rate used for the base score. */
  successRate: (agentId: string) => number;
  now: Date;
  /** A registration older than this is considered dead. */
  heartbeatTimeoutMs: number;
  /** Agents that must not get this task (e.g. the one it timed out on). */
  exclude?: ReadonlySet<string>;
}

export interface EligibleAgent extends AgentCandidate {
  maxConcurrent: number;
  inFlight: number;
}

export interface Ineligibility {
  agentId: string;
  why: string;
  /** Only its free slots are missing: able to take the task once one frees up. */
  busy?: true;
  /** Its slot limit, when busy. */
  maxConcurrent?: number;
}

export interface EligibilityResult {
  eligible: EligibleAgent[];
  rejected: Ineligibility[];
}

export function findEligibleAgents(input: EligibilityInput): EligibilityResult {
  const { task, taskType, now, heartbeatTimeoutMs } = input;
  const allowed = task.candidates ? new Set(task.candidates) : undefined;
  const eligible: EligibleAgent[] = [];
  const rejected: Ineligibility[] = [];
  const sorted = [...input.agents].sort((a, b) =>
    a.agentId < b.agentId ? -1 : a.agentId > b.agentId ? 1 : 0,
  );
  for (const agent of sorted) {
    const why = ineligibility(agent);
    if (why) {
      rejected.push({ agentId: agent.agentId, why });
      continue;
    }
    const inFlight = input.inFlight(agent.agentId);
    if (inFlight >= agent.maxConcurrent) {
      rejected.push({
        agentId: agent.agentId,
        why: `at capacity (${agent.maxConcurrent})`,
        busy: true,
        maxConcurrent: agent.maxConcurrent,
      });
      continue;
    }
    eligible.push({
      agentId: agent.agentId,
      successRate: input.successRate(agent.agentId),
      load: Math.min(1, inFlight / agent.maxConcurrent),
      maxConcurrent: agent.maxConcurrent,
      inFlight,
    });
  }
  return { eligible, rejected };

  function ineligibility(agent: AgentRegistration): string | undefined {
    const age = now.getTime() - Date.parse(agent.heartbeatAt);
    if (!(age <= heartbeatTimeoutMs)) return `no heartbeat for ${Math.round(age / 1000)}s`;
    if (input.exclude?.has(agent.agentId)) return 'excluded for this task';
    if (allowed && !allowed.has(agent.agentId)) return "not in the task's candidates";
    if (task.requiredRole && agent.role !== task.requiredRole)
      return `role ${agent.role} ≠ ${task.requiredRole}`;
    if (agent.taskTypes && agent.taskTypes.length > 0 && !agent.taskTypes.includes(taskType)) {
      return `does not take ${taskType}`;
    }
    return undefined;
  }
}
