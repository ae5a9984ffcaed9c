/**
 * `npm run docs:env`: rewrites the environment table in README.md from the schema (src/config/env-schema.ts).
 * `--check` only reports whether it is current (exit 1 when not), for CI.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { replaceEnvTable } from '../src/config/env-docs.js';

const readmePath = fileURLToPath(new URL('../README.md', import.meta.url));
const readme = await readFile(readmePath, 'utf8');
const updated = replaceEnvTable(readme);
if (process.argv.includes('--check')) {
  if (updated !== readme) {
    process.stderr.write("README.md's environment table differs from the schema: run 'npm run docs:env'\n");
    process.exit(1);
  }
} else if (updated !== readme) {
  await writeFile(readmePath, updated);
  process.stdout.write('README.md: environment table updated\n');
} else {
  process.stdout.write('README.md: environment table already current\n');
}
