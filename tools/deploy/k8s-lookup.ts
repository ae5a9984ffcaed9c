// Field lookups on the source manifests. This reads values; it does not render kustomizations
// (the assembled output is checked with `kubectl kustomize`).
import { arr, isObj, num, str, type Obj } from './values.js';

export interface K8sDoc {
  file: string;
  doc: Obj;
}

export function findResource(docs: readonly K8sDoc[], kind: string, name: string): K8sDoc | undefined {
  return docs.find((d) => d.doc.kind === kind && str(d.doc, 'metadata.name') === name);
}

export function firstContainer(doc: Obj): Obj | undefined {
  const c = arr(doc, 'spec.template.spec.containers')[0];
  return isObj(c) ? c : undefined;
}

export function containerPorts(doc: Obj): number[] {
  return arr(doc, 'spec.template.spec.containers')
    .flatMap((c) => arr(c, 'ports'))
    .map((p) => num(p, 'containerPort'))
    .filter((p): p is number => p !== undefined);
}

export function probePath(doc: Obj, probe: 'livenessProbe' | 'readinessProbe'): string | undefined {
  const c = firstContainer(doc);
  return c ? str(c, `${probe}.httpGet.path`) : undefined;
}

/** An overlay's `images:` entry rewrites name/tag of matching images. */
export function applyImageOverrides(image: string, overrides: readonly unknown[]): string {
  const at = image.lastIndexOf(':');
  const hasTag = at > image.lastIndexOf('/');
  const name = hasTag ? image.slice(0, at) : image;
  const tag = hasTag ? image.slice(at + 1) : undefined;
  for (const o of overrides) {
    if (str(o, 'name') !== name) continue;
    const newName = str(o, 'newName') ?? name;
    const newTag = str(o, 'newTag') ?? tag;
    return newTag === undefined ? newName : `${newName}:${newTag}`;
  }
  return image;
}

/** A number from the overlay patch of the same resource if it sets one, else from the base. */
export function overlayNumber(base: Obj, patches: readonly K8sDoc[], field: string): number | undefined {
  const patch = patches.find(
    (p) => p.doc.kind === base.kind && str(p.doc, 'metadata.name') === str(base, 'metadata.name'),
  );
  return (patch ? num(patch.doc, field) : undefined) ?? num(base, field);
}

/** Literals of a configMapGenerator entry (KEY=value), base first then merged overlays. */
export function generatorLiterals(kustomizations: readonly unknown[], name: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const k of kustomizations) {
    for (const g of arr(k, 'configMapGenerator')) {
      if (str(g, 'name') !== name) continue;
      for (const lit of arr(g, 'literals')) {
        if (typeof lit !== 'string') continue;
        const eq = lit.indexOf('=');
        if (eq > 0) out.set(lit.slice(0, eq), lit.slice(eq + 1));
      }
    }
  }
  return out;
}
