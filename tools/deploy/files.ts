// File I/O for the validator: everything else works on the loaded text.
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';

/** All files under `dir` (recursively), as paths relative to `root` with `/` separators. */
export async function listFiles(root: string, dir: string): Promise<string[]> {
  const abs = path.join(root, dir);
  if (!(await isDirectory(abs))) return [];
  const entries = await readdir(abs, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => toPosix(path.relative(root, path.join(e.parentPath, e.name))))
    .sort();
}

export async function isDirectory(abs: string): Promise<boolean> {
  try {
    return (await stat(abs)).isDirectory();
  } catch {
    return false;
  }
}

export async function readText(root: string, rel: string): Promise<string> {
  return readFile(path.join(root, rel), 'utf8');
}

export function toPosix(p: string): string {
  return p.split(path.sep).join('/');
}
