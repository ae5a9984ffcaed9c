/** The task lifecycle as a decider: commands → decide → events → evolve → state, with the transitions as data. */
export * from './transitions.js';
export * from './task-state.js';
export * from './commands.js';
export * from './decide.js';
export * from './evolve.js';
