/**
 * Two tiers, told apart by file name:
 *   *.unit.test.ts — pure, fast, no I/O.
 *   *.int.test.ts  — real nats-server (spawned per suite) and embedded SurrealDB.
 *   *.chaos.test.ts — separate processes under crashes, restarts and hostile input (npm run test:chaos).
 * @type {import('jest').Config}
 */
const tsJest = [
  'ts-jest',
  { useESM: true, tsconfig: 'tsconfig.json', diagnostics: { ignoreCodes: ['TS151001'] } },
];
const shared = {
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': tsJest },
  testEnvironment: 'node',
};
// Runs once per project that has a test selected: finds nats-server, or installs it (apt-get, as root), or stops
// with one line saying how. Unit tests need no server.
const NEEDS_NATS_SERVER = '<rootDir>/test/support/ensure-nats-server.ts';
export default {
  // Only honoured at the top level (not per project): integration suites start servers and stores.
  testTimeout: 60_000,
  // The embedded SurrealDB engine can keep a process alive after its stores are closed (a native handle left by
  // DEFINE INDEX; surrealdb.js issues #673/#592): every suite closes what it opens, then jest exits regardless.
  forceExit: true,
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/test/**/*.unit.test.ts'] },
    {
      ...shared,
      displayName: 'int',
      testMatch: ['<rootDir>/test/**/*.int.test.ts'],
      globalSetup: NEEDS_NATS_SERVER,
    },
    // Separate processes (workers, agents, nats-server) under faults; each scenario checks the books.
    {
      ...shared,
      displayName: 'chaos',
      testMatch: ['<rootDir>/test/chaos/**/*.chaos.test.ts'],
      globalSetup: NEEDS_NATS_SERVER,
    },
  ],
};
