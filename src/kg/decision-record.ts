/**
 * One logged decision (`kg_decisions`): which policy chose which agent for which attempt of a task, how likely that
 * choice was (the propensity off-policy evaluation divides by), and what every candidate looked like to it. The
 * outcome is not stored here: it is the execution recorded for (task, attempt, chosen) in `kg_executions`.
 */
export interface DecisionCandidate {
  agentId: string;
  /** Overall success rate, as the base score used it. */
  successRate: number;
  load: number;
  maxConcurrent: number;
  inFlight: number;
  /** The candidate's expertise for the task type at decision time; absent without history. */
  expertise?: {
    successRate: number;
    recentSuccessRate: number;
    windowSize: number;
    totalExecutions: number;
    confidence: number;
  };
  /** Its seed-formula score breakdown as the deciding policy ranked it. */
  score: { base: number; expertise: number; confidence: number; final: number };
}

export interface DecisionRecord {
  taskId: string;
  attempt: number;
  taskType: string;
  policy: string;
  mode: 'learned' | 'load-fallback';
  chosen: string;
  /** P(chosen | context) under `policy`, in (0, 1]. */
  propensity: number;
  explored: boolean;
  candidates: DecisionCandidate[];
  /** ISO 8601 UTC, millisecond precision. */
  at: string;
}

/** The record id of a decision: one per (task, attempt), whatever replica logs it and how often. */
export function decisionId(taskId: string, attempt: number): string {
  return `${encodeURIComponent(taskId)}:${attempt}`;
}
