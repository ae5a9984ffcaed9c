/** The order of {@link KnowledgeGraph.listDecisions}: `at` ascending, then taskId (code units), then attempt. */
import type { DecisionRecord } from './decision-record.js';

export function compareDecisions(a: DecisionRecord, b: DecisionRecord): number {
  const byTime = Date.parse(a.at) - Date.parse(b.at);
  if (byTime !== 0) return byTime;
  if (a.taskId !== b.taskId) return a.taskId < b.taskId ? -1 : 1;
  return a.attempt - b.attempt;
}
