// Files a kustomization names must exist; also tells which files are patches (validated as fragments).
import path from 'node:path';
import { problem, type DeployProblem } from './problem.js';
import { arr, isObj, str, strings } from './values.js';

export const KUSTOMIZATION_NAMES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];

export interface Kustomization {
  /** The kustomization file, relative to the root. */
  file: string;
  data: unknown;
}

export function kustomizationDir(k: Kustomization): string {
  return path.posix.dirname(k.file);
}

/** Every local path the kustomization refers to, with the key naming it. */
export function referencedPaths(k: Kustomization): { key: string; path: string; dirOk: boolean }[] {
  const out: { key: string; path: string; dirOk: boolean }[] = [];
  const add = (key: string, p: string, dirOk: boolean): void => {
    if (!/^[a-z]+:\/\//i.test(p) && !p.startsWith('github.com/')) out.push({ key, path: p, dirOk });
  };
  strings(k.data, 'resources').forEach((p, i) => add(`resources[${i}]`, p, true));
  strings(k.data, 'components').forEach((p, i) => add(`components[${i}]`, p, true));
  strings(k.data, 'crds').forEach((p, i) => add(`crds[${i}]`, p, false));
  strings(k.data, 'patchesStrategicMerge').forEach((p, i) => add(`patchesStrategicMerge[${i}]`, p, false));
  for (const field of ['patches', 'patchesJson6902']) {
    arr(k.data, field).forEach((p, i) => {
      const file = str(p, 'path');
      if (file !== undefined) add(`${field}[${i}].path`, file, false);
    });
  }
  for (const field of ['configMapGenerator', 'secretGenerator']) {
    arr(k.data, field).forEach((g, i) => {
      strings(g, 'files').forEach((f, j) =>
        add(`${field}[${i}].files[${j}]`, f.split('=').pop() ?? f, false),
      );
      strings(g, 'envs').forEach((f, j) => add(`${field}[${i}].envs[${j}]`, f, false));
      const env = str(g, 'env');
      if (env !== undefined) add(`${field}[${i}].env`, env, false);
    });
  }
  return out;
}

/** Patch files of a kustomization (relative to the root). */
export function patchFiles(k: Kustomization): string[] {
  const dir = kustomizationDir(k);
  return referencedPaths(k)
    .filter((r) => r.key.startsWith('patches'))
    .map((r) => path.posix.normalize(path.posix.join(dir, r.path)));
}

/**
 * `files` holds every file under the root (relative paths); a directory reference must hold a
 * kustomization of its own.
 */
export function checkReferences(k: Kustomization, files: ReadonlySet<string>): DeployProblem[] {
  const dir = kustomizationDir(k);
  const out: DeployProblem[] = [];
  if (!isObj(k.data)) return [problem(k.file, 'kustomization', 'must be a mapping')];
  for (const ref of referencedPaths(k)) {
    const target = path.posix.normalize(path.posix.join(dir, ref.path));
    if (files.has(target)) continue;
    const isKustomizeDir = KUSTOMIZATION_NAMES.some((n) => files.has(path.posix.join(target, n)));
    if (ref.dirOk && isKustomizeDir) continue;
    out.push(problem(k.file, ref.key, `'${ref.path}' does not exist`));
  }
  return out;
}
