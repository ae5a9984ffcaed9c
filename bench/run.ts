/** `npm run bench`: every benchmark, printed as tables. `npm run bench -- core` runs one section. */
import { runLearningCoreBench } from './learning-core.js';
import { runWorkerBench } from './worker-bench.js';

const sections: Record<string, () => unknown> = {
  core: runLearningCoreBench,
  worker: runWorkerBench,
};

const wanted = process.argv.slice(2);
for (const [name, run] of Object.entries(sections)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  await run();
}
// Embedded stores and connections may keep the loop alive; the figures are printed.
process.exit(0);
