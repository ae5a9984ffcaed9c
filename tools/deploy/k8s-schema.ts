// Kubernetes schema validation of one YAML document with kubernetes-models (and KEDA's CRD models).
import { problem, type DeployProblem } from './problem.js';
import { isObj, str } from './values.js';

type ModelCtor = new (data: Record<string, unknown>) => { validate(): void };
type Group = Record<string, unknown>;

// apiVersion -> lazily loaded module of model classes (one per kind). Extend when manifests use more.
const GROUPS: Record<string, () => Promise<Group>> = {
  v1: () => import('kubernetes-models/v1'),
  'apps/v1': () => import('kubernetes-models/apps/v1'),
  'batch/v1': () => import('kubernetes-models/batch/v1'),
  'policy/v1': () => import('kubernetes-models/policy/v1'),
  'autoscaling/v2': () => import('kubernetes-models/autoscaling/v2'),
  'networking.k8s.io/v1': () => import('kubernetes-models/networking.k8s.io/v1'),
  'rbac.authorization.k8s.io/v1': () => import('kubernetes-models/rbac.authorization.k8s.io/v1'),
  'keda.sh/v1alpha1': () => import('@kubernetes-models/keda/keda.sh/v1alpha1'),
};

interface SchemaError {
  instancePath?: string;
  keyword?: string;
  message?: string;
}

/** `Kind/name` for problem keys. */
export function resourceId(doc: unknown): string {
  return `${str(doc, 'kind') ?? '?'}/${str(doc, 'metadata.name') ?? '?'}`;
}

/**
 * Validate a document. A patch (`partial`) is a fragment by design, so missing required
 * fields are allowed there; wrong types and bad values are not.
 */
export async function validateK8sDoc(file: string, doc: unknown, partial: boolean): Promise<DeployProblem[]> {
  const id = resourceId(doc);
  if (!isObj(doc) || typeof doc.apiVersion !== 'string' || typeof doc.kind !== 'string') {
    return [problem(file, id, 'not a Kubernetes object (apiVersion and kind are required)')];
  }
  if (!partial && str(doc, 'metadata.name') === undefined && doc.kind !== 'Kustomization') {
    return [problem(file, id, 'metadata.name is required')];
  }
  const load = GROUPS[doc.apiVersion];
  if (!load) return [problem(file, id, `no schema for apiVersion '${doc.apiVersion}'`)];
  const Model = (await load())[doc.kind] as ModelCtor | undefined;
  if (typeof Model !== 'function') {
    return [problem(file, id, `no schema for kind '${doc.kind}' in ${doc.apiVersion}`)];
  }
  try {
    new Model(doc).validate();
    return [];
  } catch (err) {
    const errors = schemaErrors(err);
    const kept = errors.filter((e) => !(partial && e.keyword === 'required'));
    if (errors.length === 0) return [problem(file, id, err instanceof Error ? err.message : String(err))];
    return kept.map((e) =>
      problem(file, `${id} ${pointerToKey(e.instancePath ?? '')}`.trim(), e.message ?? 'invalid'),
    );
  }
}

function schemaErrors(err: unknown): SchemaError[] {
  const errors = isObj(err) ? err.errors : undefined;
  return Array.isArray(errors) ? errors.filter(isObj).map((e) => e as SchemaError) : [];
}

/** `/spec/template/0/name` -> `spec.template[0].name`. */
function pointerToKey(pointer: string): string {
  return pointer
    .split('/')
    .filter((p) => p !== '')
    .map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p.replace(/~1/g, '/').replace(/~0/g, '~')}`))
    .join('')
    .replace(/^\./, '');
}
