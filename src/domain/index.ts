/** The pure learning and scoring core. Nothing here does I/O. */
export * from './task-type.js';
export * from './recency.js';
export * from './expertise.js';
export * from './expertise-state.js';
export * from './learning-profile.js';
export * from './scoring.js';
export * from './choose-agent.js';
export * from './messages.js';
export * from './decode.js';
export { MS_PER_DAY } from './time.js';
export * from './capacity.js';
export * from './eligibility.js';
export * from './profile-record.js';
export * from './lifecycle/index.js';
export * from './evidence.js';
export * from './agent-roster.js';
export * from './policy/index.js';
