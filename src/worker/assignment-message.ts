/** The assignment event an agent receives: built from the decision, published under a per-attempt message id. */
import type { JetStreamClient, PubAck } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import { Subjects } from '../bus/subjects.js';
import type { Assignment, PolicyDecision, TaskArrived } from '../domain/index.js';

/** How many ranked candidates an assignment carries. */
export const RANKING_IN_ASSIGNMENT = 10;

export function buildAssignment(
  task: TaskArrived,
  taskType: string,
  decision: PolicyDecision,
  attempt: number,
  now: Date,
): Assignment {
  const { chosen } = decision;
  return {
    taskId: task.taskId,
    agentId: decision.agentId,
    taskType,
    policy: decision.policy,
    mode: decision.mode,
    propensity: decision.propensity,
    explored: decision.explored,
    score: {
      base: chosen.baseScore,
      expertise: chosen.expertiseScore,
      confidence: chosen.confidence,
      final: chosen.finalScore,
    },
    // The top of the ranking explains the decision; all of it would make every assignment grow with the fleet.
    ranking: decision.ranking.slice(0, RANKING_IN_ASSIGNMENT).map(({ hasData: _hasData, ...score }) => score),
    reasoning: decision.reasoning,
    assignedAt: now.toISOString(),
    attempt,
    task,
  };
}

/**
 * Message id `<taskId>.<attempt>`: a re-publish of the same decision is dropped by JetStream's dedupe, and its
 * acknowledgement names the original's stream sequence (`duplicate: true`).
 */
export async function publishAssignment(js: JetStreamClient, assignment: Assignment): Promise<PubAck> {
  const h = headers();
  h.set('Vapora-Task-Id', assignment.taskId);
  return await js.publish(Subjects.assignment(assignment.agentId), JSON.stringify(assignment), {
    msgID: `${assignment.taskId}.${assignment.attempt}`,
    headers: h,
  });
}
