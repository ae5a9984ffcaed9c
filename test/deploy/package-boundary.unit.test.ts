// The deploy validator is a development tool: neither the published package nor the worker image may carry it or
// the libraries only it uses. The libraries are derived from the imports, so a new one is covered without edits.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { REPO_ROOT } from './helpers.js';

interface PackageJson {
  files?: string[];
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

async function tsFiles(dir: string): Promise<string[]> {
  const entries = await readdir(path.join(REPO_ROOT, dir), { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => path.join(e.parentPath, e.name));
}

/** Bare package names imported (statically or by a literal dynamic import) anywhere under `dir`. */
async function importedPackages(dir: string): Promise<Set<string>> {
  const names = new Set<string>();
  const specifier = /(?:\bfrom\s+|\bimport\s*\(\s*)'([^'.][^']*)'/g;
  for (const file of await tsFiles(dir)) {
    for (const [, spec] of (await readFile(file, 'utf8')).matchAll(specifier)) {
      if (spec === undefined || spec.startsWith('node:')) continue;
      const parts = spec.split('/');
      names.add(spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!);
    }
  }
  return names;
}

const readJson = async <T>(file: string): Promise<T> =>
  JSON.parse(await readFile(path.join(REPO_ROOT, file), 'utf8')) as T;

describe('the deploy validator stays out of the package', () => {
  it('no library used only by tools/deploy is a runtime dependency', async () => {
    const runtime = await importedPackages('src');
    const toolOnly = [...(await importedPackages('tools/deploy'))].filter((p) => !runtime.has(p)).sort();
    // The derivation itself must see the validator's libraries, or this test would pass vacuously.
    expect(toolOnly).toEqual(expect.arrayContaining(['kubernetes-models', 'smol-toml', 'yaml']));

    const pkg = await readJson<PackageJson>('package.json');
    const dependencies = Object.keys(pkg.dependencies ?? {});
    expect(toolOnly.filter((p) => dependencies.includes(p))).toEqual([]);
    // ...but npm ci must still install them for `npm run validate:deploy`.
    expect(toolOnly.filter((p) => pkg.devDependencies?.[p] === undefined)).toEqual([]);
  });

  it('neither `files` nor the build includes tools/', async () => {
    const pkg = await readJson<PackageJson>('package.json');
    expect(pkg.files ?? []).not.toContainEqual(expect.stringMatching(/^(\.\/)?tools\b/));

    const build = await readJson<{ include?: string[]; compilerOptions?: { rootDir?: string } }>(
      'tsconfig.build.json',
    );
    expect(build.include).toEqual(['src']);
    expect(build.compilerOptions?.rootDir).toBe('src');
  });

  it('nothing under src/ imports tools/ by a literal specifier (tsc would compile it into dist/)', async () => {
    const offenders: string[] = [];
    for (const file of await tsFiles('src')) {
      if (/(?:\bfrom\s+|\bimport\s*\(\s*)'[^']*\/tools\//.test(await readFile(file, 'utf8')))
        offenders.push(file);
    }
    expect(offenders).toEqual([]);
  });
});
