/**
 * `npm run docs:contract`: writes asyncapi.yaml and schemas/*.json from the TypeBox schemas.
 * `--check` only reports whether the checked-in files are current (exit 1 when not), for CI.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT, generateContractFiles } from './contract/generate.js';

const check = process.argv.includes('--check');
const stale: string[] = [];
for (const [file, text] of generateContractFiles()) {
  const path = fileURLToPath(new URL(file, REPO_ROOT));
  const current = await readFile(path, 'utf8').catch(() => null);
  if (current === text) continue;
  stale.push(file);
  if (!check) {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, text);
  }
}
if (check && stale.length > 0) {
  process.stderr.write(`out of date: ${stale.join(', ')}; run 'npm run docs:contract'\n`);
  process.exit(1);
}
process.stdout.write(
  stale.length > 0 ? `written: ${stale.join(', ')}\n` : 'contract documents already current\n',
);
