// Copy the shipped deploy tree into a temp dir so a test can break one thing in isolation.
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export async function copyDeployTree(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'vapora-deploy-'));
  for (const part of ['k8s', 'provisioning', 'streams']) {
    await cp(path.join(REPO_ROOT, part), path.join(dir, part), { recursive: true });
  }
  return dir;
}

/** Rewrite one file; fails loudly when the edit changes nothing (the test would prove nothing). */
export async function edit(root: string, rel: string, change: (text: string) => string): Promise<void> {
  const file = path.join(root, rel);
  const before = await readFile(file, 'utf8');
  const after = change(before);
  if (after === before) throw new Error(`edit of ${rel} changed nothing`);
  await writeFile(file, after);
}

export async function replaceIn(root: string, rel: string, from: string | RegExp, to: string): Promise<void> {
  await edit(root, rel, (t) => t.replace(from, to));
}

export async function removeTree(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
