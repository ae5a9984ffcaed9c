// `kubectl kustomize` of a directory. Rendering is kubectl's job; we only run it and report.
import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import path from 'node:path';

export type RenderResult = { ok: true; yaml: string } | { ok: false; error: string };

/** The kubectl binary on PATH, or undefined. */
export async function findKubectl(envPath = process.env.PATH ?? ''): Promise<string | undefined> {
  for (const dir of envPath.split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, 'kubectl');
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

export function renderKustomization(kubectl: string, absDir: string): Promise<RenderResult> {
  return new Promise((resolve) => {
    execFile(
      kubectl,
      ['kustomize', absDir],
      { timeout: 60_000, maxBuffer: 32 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) resolve({ ok: false, error: (stderr || err.message).trim().split('\n')[0] ?? 'failed' });
        else resolve({ ok: true, yaml: stdout });
      },
    );
  });
}
