/**
 * `npm run bench`: every benchmark, printed as tables, and written to bench/results.json (one entry per row).
 * `npm run bench -- core` runs one section and replaces only that section's rows in bench/results.json.
 */
import { fileURLToPath } from 'node:url';
import { runLearningCoreBench } from './learning-core.js';
import type { ResultRow } from './results.js';
import { mergeResults, readResults, runInfo, writeResults } from './results.js';
import { runScaleOutBench } from './scale-out.js';
import { runWorkerBench } from './worker-bench.js';

const RESULTS_PATH = fileURLToPath(new URL('./results.json', import.meta.url));

const sections: Record<string, () => ResultRow[] | Promise<ResultRow[]>> = {
  core: runLearningCoreBench,
  worker: runWorkerBench,
  scale: runScaleOutBench,
};

const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !(name in sections));
if (unknown.length > 0) {
  console.error(
    `Unknown bench section(s): ${unknown.join(', ')} (known: ${Object.keys(sections).join(', ')})`,
  );
  process.exit(2);
}
const started = runInfo();
const ran: string[] = [];
const rows: ResultRow[] = [];
for (const [name, run] of Object.entries(sections)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  rows.push(...(await run()));
  ran.push(name);
}
await writeResults(RESULTS_PATH, mergeResults(await readResults(RESULTS_PATH), started, ran, rows));
console.log(`\n${rows.length} rows (${ran.join(', ')}) written to bench/results.json`);
// Embedded stores and connections may keep the loop alive; the figures are printed.
process.exit(0);
