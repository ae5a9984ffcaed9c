/**
 * The assignment decision: the learned ranking when any candidate has history for the task type, otherwise the
 * least-loaded candidate (ties: input order). Pure; the worker supplies candidates and profiles.
 */
import type { ProfileLookup } from './learning-profile.js';
import type { AgentCandidate, AgentScore } from './scoring.js';
import { rankAgents, rankAgentsWithRecency } from './scoring.js';

export type DecisionMode = 'learned' | 'load-fallback';

export interface ChooseAgentOptions {
  /** Rank on the recency-weighted success rate. @default false */
  useRecency?: boolean;
  /** Reference time for recency. @default new Date() */
  now?: Date;
}

export interface AgentDecision {
  agentId: string;
  mode: DecisionMode;
  /** Every candidate's score; in learned mode best first, in load-fallback mode least loaded first. */
  ranking: AgentScore[];
  /** The chosen agent's score. */
  chosen: AgentScore;
  reasoning: string;
}

export function chooseAgent(
  taskType: string,
  candidates: readonly AgentCandidate[],
  profiles: ProfileLookup,
  options: ChooseAgentOptions = {},
): AgentDecision | null {
  if (candidates.length === 0) return null;
  const scored = options.useRecency
    ? rankAgentsWithRecency(candidates, taskType, profiles, options.now ?? new Date())
    : rankAgents(candidates, taskType, profiles);

  if (scored.some((score) => score.hasData)) {
    const chosen = scored[0]!;
    const policy = options.useRecency ? 'recency-weighted learned ranking' : 'learned ranking';
    return {
      agentId: chosen.agentId,
      mode: 'learned',
      ranking: scored,
      chosen,
      reasoning: `${policy} for '${taskType}': ${chosen.reasoning}`,
    };
  }

  const inputOrder = new Map(candidates.map((candidate, index) => [candidate.agentId, index]));
  const byLoad = [...scored].sort(
    (a, b) => a.load - b.load || (inputOrder.get(a.agentId) ?? 0) - (inputOrder.get(b.agentId) ?? 0),
  );
  const chosen = byLoad[0]!;
  return {
    agentId: chosen.agentId,
    mode: 'load-fallback',
    ranking: byLoad,
    chosen,
    reasoning:
      `no candidate has history for '${taskType}': least-loaded fallback picked ${chosen.agentId} ` +
      `at load ${chosen.load.toFixed(3)} among ${candidates.length} candidate(s)`,
  };
}
