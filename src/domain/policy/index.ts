/** Decision policies: which agent gets a task, with how much exploration, at what spend. */
export * from './types.js';
export * from './errors.js';
export * from './reward.js';
export { argmaxProbabilities, betaMean, sampleBeta, GRID_CELLS } from './beta.js';
export type { BetaParams } from './beta.js';
export { beliefsFor } from './posterior.js';
export type { CandidateBelief, PosteriorOptions } from './posterior.js';
export { MIN_PROPENSITY, ThompsonPolicy } from './thompson-policy.js';
export type { PacingOptions, ThompsonOptions } from './thompson-policy.js';
export { SeedPolicy } from './seed-policy.js';
export { RandomPolicy } from './random-policy.js';
export * from './registry.js';
export * from './off-policy.js';
