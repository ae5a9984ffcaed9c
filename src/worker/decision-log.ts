/**
 * Logs each assignment's decision in `kg_decisions`, after the task record is written and the assignment
 * published. The log is evaluation data (replay, policies compare), not part of the assignment: a KG outage here
 * is counted and logged, and the assignment stands (replay skips decisions that were never logged).
 */
import type { Logger } from 'pino';
import type { Assignment } from '../domain/index.js';
import type { DecisionCandidate, DecisionRecord } from '../kg/decision-record.js';
import type { KnowledgeGraph } from '../kg/knowledge-graph.js';
import type { WorkerMetrics } from './metrics.js';

export function decisionOf(assignment: Assignment, candidates: DecisionCandidate[]): DecisionRecord {
  return {
    taskId: assignment.taskId,
    attempt: assignment.attempt,
    taskType: assignment.taskType,
    policy: assignment.policy,
    mode: assignment.mode ?? 'learned',
    chosen: assignment.agentId,
    propensity: assignment.propensity ?? 1,
    explored: assignment.explored ?? false,
    candidates,
    at: assignment.assignedAt,
  };
}

export async function recordDecision(
  deps: { kg: KnowledgeGraph; metrics: WorkerMetrics },
  assignment: Assignment,
  candidates: DecisionCandidate[],
  log: Logger,
): Promise<void> {
  try {
    await deps.kg.recordDecision(decisionOf(assignment, candidates));
  } catch (err) {
    deps.metrics.decisionsUnlogged.inc();
    log.warn({ err }, 'decision not logged in kg_decisions; the assignment stands');
  }
}
