/** vapora-learning: the library entry. */
export * from './domain/index.js';
export type {
  AgentContext,
  AgentHandle,
  AgentOptions,
  AssignmentHandler,
  HandlerResult,
} from './agent/agent.js';
export { executionIdFor, startAgent } from './agent/agent.js';
export type { KgConfig, NatsConfig, WorkerConfig } from './config/config.js';
export { loadKgConfig, loadNatsConfig, loadWorkerConfig } from './config/config.js';
export * from './errors.js';
export type { KnowledgeGraph } from './kg/knowledge-graph.js';
export { connectKnowledgeGraph } from './kg/connect.js';
export { loadAllLearningProfiles, loadLearningProfileFromKg, rebuildExpertiseState } from './kg/rebuild.js';
export { Buckets, Consumers, Streams, Subjects } from './bus/subjects.js';
export type { Readiness, WorkerOptions, WorkerState } from './worker/worker.js';
export { Worker } from './worker/worker.js';
export * from './simulator/index.js';
