// A Kustomize Component cannot be built on its own: render it onto an overlay through a throwaway kustomization.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { renderKustomization, type RenderResult } from './kustomize-render.js';

/** `componentDir` and `hostDir` are relative to `root`; kustomize refuses absolute paths, so relative ones are written. */
export async function renderComponent(
  kubectl: string,
  root: string,
  componentDir: string,
  hostDir: string,
): Promise<RenderResult> {
  const dir = await mkdtemp(path.join(tmpdir(), 'vapora-component-'));
  try {
    const rel = (p: string) => path.relative(dir, path.join(root, p)).split(path.sep).join('/');
    await writeFile(
      path.join(dir, 'kustomization.yaml'),
      [
        'apiVersion: kustomize.config.k8s.io/v1beta1',
        'kind: Kustomization',
        'resources:',
        `  - ${rel(hostDir)}`,
        'components:',
        `  - ${rel(componentDir)}`,
        '',
      ].join('\n'),
    );
    return await renderKustomization(kubectl, dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
