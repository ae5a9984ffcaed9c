// Provisioning and k8s/ must describe the same deployment: namespace, images, replicas, ports, probes.
import type { KclSchema } from './kcl-check.js';
import {
  applyImageOverrides,
  containerPorts,
  findResource,
  firstContainer,
  overlayNumber,
  probePath,
  type K8sDoc,
} from './k8s-lookup.js';
import type { Kustomization } from './kustomization-refs.js';
import { problem, type DeployProblem } from './problem.js';
import type { Taskserv } from './taskserv-check.js';
import { arr, num, str, strings } from './values.js';

export interface AgreementInput {
  workspaceFile: string;
  workspace: Record<string, unknown>;
  taskservs: readonly Taskserv[];
  kcl: readonly { file: string; schemas: readonly KclSchema[] }[];
  /** Non-patch resource documents under k8s/. */
  resources: readonly K8sDoc[];
  kustomizations: readonly Kustomization[];
  /** The overlay named by workspace.toml [kubernetes] overlay, if found. */
  overlay?: { kustomization: Kustomization; patches: readonly K8sDoc[] };
}

const KIND_OF_TYPE: Record<string, string> = {
  deployment: 'Deployment',
  statefulset: 'StatefulSet',
  namespace: 'Namespace',
};

// taskserv id -> how its image must follow workspace.toml [registry]/[versions].
const IMAGE_RULES: Record<string, (ws: Record<string, unknown>) => string | undefined> = {
  'learning-worker': (ws) => {
    const reg = str(ws, 'registry.url');
    const v = str(ws, 'versions.vapora_learning');
    return reg && v ? `${reg}/vapora-learning:${v}` : undefined;
  },
  nats: (ws) => (str(ws, 'versions.nats') ? `nats:${str(ws, 'versions.nats')}-alpine` : undefined),
  surrealdb: (ws) =>
    str(ws, 'versions.surrealdb') ? `surrealdb/surrealdb:v${str(ws, 'versions.surrealdb')}` : undefined,
};

export function checkAgreement(input: AgreementInput): DeployProblem[] {
  return [...checkNamespace(input), ...input.taskservs.flatMap((t) => checkTaskserv(input, t))];
}

function checkNamespace(input: AgreementInput): DeployProblem[] {
  const out: DeployProblem[] = [];
  const ns = str(input.workspace, 'kubernetes.namespace');
  if (ns === undefined)
    return [problem(input.workspaceFile, 'kubernetes.namespace', 'required key is missing')];
  for (const t of input.taskservs) {
    const tns = str(t.data, 'service.namespace');
    if (tns !== undefined && tns !== ns)
      out.push(problem(t.file, 'service.namespace', `'${tns}' but workspace says '${ns}'`));
  }
  for (const k of input.kustomizations) {
    const kns = str(k.data, 'namespace');
    if (kns !== undefined && kns !== ns)
      out.push(problem(k.file, 'namespace', `'${kns}' but workspace says '${ns}'`));
  }
  for (const r of input.resources) {
    const rns = str(r.doc, 'metadata.namespace');
    if (rns !== undefined && rns !== ns) {
      out.push(
        problem(
          r.file,
          `${String(r.doc.kind)}/${str(r.doc, 'metadata.name')} metadata.namespace`,
          `'${rns}' but workspace says '${ns}'`,
        ),
      );
    }
  }
  if (!findResource(input.resources, 'Namespace', ns)) {
    out.push(problem(input.workspaceFile, 'kubernetes.namespace', `no Namespace '${ns}' under k8s/`));
  }
  return out;
}

function checkTaskserv(input: AgreementInput, t: Taskserv): DeployProblem[] {
  const kind = KIND_OF_TYPE[str(t.data, 'service.type') ?? ''];
  const name = str(t.data, 'service.name');
  if (!kind || !name || kind === 'Namespace') return [];
  const res = findResource(input.resources, kind, name);
  if (!res) return [problem(t.file, 'service.name', `no ${kind} named '${name}' under k8s/`)];

  const out: DeployProblem[] = [];
  const mismatch = (key: string, want: unknown, got: unknown, where: string): void => {
    if (want !== undefined && want !== got) {
      out.push(
        problem(t.file, key, `${JSON.stringify(want)} but ${where} has ${JSON.stringify(got ?? null)}`),
      );
    }
  };
  const where = `${res.file} (${kind}/${name})`;
  // The overlay applies to platform resources; resources outside base (agents) are used as written.
  const inOverlay = input.overlay !== undefined && res.file.startsWith('k8s/base/');
  const patches = inOverlay ? (input.overlay?.patches ?? []) : [];
  const imageOverrides = inOverlay ? arr(input.overlay?.kustomization.data, 'images') : [];

  const rawImage = str(firstContainer(res.doc), 'image');
  const image = rawImage === undefined ? undefined : applyImageOverrides(rawImage, imageOverrides);
  const wantImage = str(t.data, 'deployment.image');
  mismatch('deployment.image', wantImage, image, where);
  const rule = IMAGE_RULES[t.id];
  const ruleImage = rule ? rule(input.workspace) : undefined;
  if (ruleImage !== undefined && wantImage !== undefined && ruleImage !== wantImage) {
    out.push(
      problem(
        t.file,
        'deployment.image',
        `'${wantImage}' but workspace.toml [registry]/[versions] give '${ruleImage}'`,
      ),
    );
  }
  mismatch(
    'deployment.replicas',
    num(t.data, 'deployment.replicas'),
    overlayNumber(res.doc, patches, 'spec.replicas'),
    where,
  );

  const ports = containerPorts(res.doc);
  for (const key of ['deployment.port', 'deployment.monitor_port', 'deployment.cluster_port']) {
    const port = num(t.data, key);
    if (port !== undefined && !ports.includes(port))
      out.push(problem(t.file, key, `${port} is not a container port of ${where} (${ports.join(', ')})`));
  }
  mismatch('health.liveness', str(t.data, 'health.liveness'), probePath(res.doc, 'livenessProbe'), where);
  mismatch('health.readiness', str(t.data, 'health.readiness'), probePath(res.doc, 'readinessProbe'), where);
  out.push(...checkScaling(input, t, name, patches));
  out.push(...checkKcl(input, t, name));
  return out;
}

/** [scaling] of a taskserv against the KEDA ScaledObject targeting the same workload. */
function checkScaling(
  input: AgreementInput,
  t: Taskserv,
  name: string,
  patches: readonly K8sDoc[],
): DeployProblem[] {
  if (num(t.data, 'scaling.min_replicas') === undefined && num(t.data, 'scaling.max_replicas') === undefined)
    return [];
  const so = input.resources.find(
    (r) => r.doc.kind === 'ScaledObject' && str(r.doc, 'spec.scaleTargetRef.name') === name,
  );
  if (!so) return [problem(t.file, 'scaling', `no ScaledObject targets '${name}' under k8s/`)];
  const out: DeployProblem[] = [];
  const pairs: [string, string][] = [
    ['scaling.min_replicas', 'spec.minReplicaCount'],
    ['scaling.max_replicas', 'spec.maxReplicaCount'],
  ];
  for (const [key, field] of pairs) {
    const want = num(t.data, key);
    const got = overlayNumber(so.doc, patches, field);
    if (want !== undefined && want !== got)
      out.push(problem(t.file, key, `${want} but ${so.file} (ScaledObject) has ${got ?? 'none'}`));
  }
  const consumers = arr(so.doc, 'spec.triggers').map((tr) => str(tr, 'metadata.consumer'));
  for (const c of strings(t.data, 'scaling.consumers')) {
    if (!consumers.includes(c))
      out.push(problem(t.file, 'scaling.consumers', `no KEDA trigger watches consumer '${c}'`));
  }
  return out;
}

// KCL schema field -> taskserv key it mirrors.
const KCL_FIELDS: Record<string, string> = {
  namespace: 'service.namespace',
  image: 'deployment.image',
  replicas: 'deployment.replicas',
  port: 'deployment.port',
  clientPort: 'deployment.port',
  livenessPath: 'health.liveness',
  readinessPath: 'health.readiness',
};

/** The KCL schema whose `name` default is the service name must carry the same defaults. */
function checkKcl(input: AgreementInput, t: Taskserv, name: string): DeployProblem[] {
  const out: DeployProblem[] = [];
  for (const { file, schemas } of input.kcl) {
    for (const s of schemas) {
      const nameField = s.fields.find((f) => f.name === 'name');
      if (literal(nameField?.default) !== name) continue;
      for (const f of s.fields) {
        const key = KCL_FIELDS[f.name];
        if (!key || f.default === undefined) continue;
        const want = str(t.data, key) ?? num(t.data, key);
        const got = literal(f.default);
        if (want !== undefined && got !== want) {
          out.push(
            problem(
              file,
              `${s.name}.${f.name}`,
              `default ${f.default} but ${t.file} ${key} is ${JSON.stringify(want)}`,
            ),
          );
        }
      }
    }
  }
  return out;
}

function literal(expr: string | undefined): string | number | undefined {
  if (expr === undefined) return undefined;
  const e = expr.trim();
  if (/^-?\d+$/.test(e)) return Number(e);
  const m = /^"((?:[^"\\]|\\.)*)"$/.exec(e);
  return m ? m[1] : undefined;
}
