/** The policy simulator: seeded worlds with known skills, per-step oracle, and the comparison table. */
export { SCENARIOS, SIM_TYPES, buildWorld, skillAt } from './scenarios.js';
export type { ScenarioName, SimAgentSpec, SkillChange, World } from './scenarios.js';
export { RECOVERY_LEVEL, RECOVERY_WINDOW, SIM_START, STEP_MS, recoveryOf, runWorld } from './simulate.js';
export type { Chooser, ReplayRecord, RunOptions, RunResult } from './simulate.js';
export {
  DEFAULT_SIMULATION_POLICIES,
  formatSimulationTable,
  runSimulation,
  simulate,
  simulateRuns,
} from './run-simulation.js';
export type {
  PolicySpec,
  RunSimulationOptions,
  SeedRun,
  SimulateOptions,
  SimulationRow,
} from './run-simulation.js';
export { createRandom, deriveSeed } from './prng.js';
export { replayCheck } from './replay-check.js';
export type { ReplayCheckOptions, ReplayCheckRow } from './replay-check.js';
export { budgetFrontier } from './frontier.js';
export type { BudgetFrontier } from './frontier.js';
