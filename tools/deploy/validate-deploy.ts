// Orchestrates the deploy checks: loads files once, runs the pure checks, runs kubectl if present.
import path from 'node:path';
import { checkAgreement } from './agreement-check.js';
import { checkAuthRoster } from './auth-roster-check.js';
import { listFiles, readText } from './files.js';
import { AUTH_CONF, checkJetStreamLimits, NATS_CONF } from './jetstream-limits-check.js';
import { checkKcl, declaredSchemas, type KclSchema } from './kcl-check.js';
import type { K8sDoc } from './k8s-lookup.js';
import { validateK8sDoc } from './k8s-schema.js';
import { findKubectl, renderKustomization } from './kustomize-render.js';
import {
  checkReferences,
  kustomizationDir,
  KUSTOMIZATION_NAMES,
  patchFiles,
  type Kustomization,
} from './kustomization-refs.js';
import { checkLayout, WORKSPACE_DIR } from './layout-check.js';
import {
  checkGrafanaDashboard,
  checkPrometheusRule,
  PROMETHEUS_RULE_API,
  workerMetricNames,
} from './monitoring-check.js';
import { renderComponent } from './component-render.js';
import { parseToml, parseYaml } from './parse.js';
import { problem, type DeployProblem } from './problem.js';
import { checkStreamReplicas, PROD_STREAM_REPLICAS } from './stream-replicas-check.js';
import { checkRequires, checkTaskservKeys, type Taskserv } from './taskserv-check.js';
import { checkWorkflow } from './workflow-check.js';
import { isObj, num, str } from './values.js';
import { checkWorkloadPolicy } from './workload-policy.js';

export interface ValidateOptions {
  /** Path to kubectl; `false` skips rendering; default: look it up on PATH. */
  kubectl?: string | false;
}

export interface DeployReport {
  problems: DeployProblem[];
  /** Things not checked and why (never failures). */
  notes: string[];
  counts: { files: number; k8sDocs: number; rendered: number };
}

export async function validateDeploy(
  rootDir: string,
  options: ValidateOptions = {},
): Promise<DeployProblem[]> {
  return (await validateDeployReport(rootDir, options)).problems;
}

export async function validateDeployReport(
  rootDir: string,
  options: ValidateOptions = {},
): Promise<DeployReport> {
  const root = path.resolve(rootDir);
  const files = [...(await listFiles(root, WORKSPACE_DIR)), ...(await listFiles(root, 'k8s'))];
  const fileSet = new Set(files);
  const problems: DeployProblem[] = [...checkLayout(fileSet)];
  const notes: string[] = [];
  const texts = new Map<string, string>();
  for (const f of files) texts.set(f, await readText(root, f));

  // --- parse everything
  const tomls = new Map<string, Record<string, unknown>>();
  const yamls = new Map<string, unknown[]>();
  for (const [f, text] of texts) {
    if (f.endsWith('.toml')) {
      const r = parseToml(f, text);
      if (r.ok) tomls.set(f, r.value);
      else problems.push(r.problem);
    } else if (/\.ya?ml$/.test(f)) {
      const r = parseYaml(f, text);
      if (r.ok) yamls.set(f, r.value);
      else problems.push(r.problem);
    }
  }

  // --- provisioning workspace
  const kclFiles = files.filter((f) => f.startsWith(`${WORKSPACE_DIR}/kcl/`) && f.endsWith('.k'));
  const known = new Set(kclFiles.flatMap((f) => declaredSchemas(texts.get(f) ?? '')));
  const kcl: { file: string; schemas: KclSchema[] }[] = [];
  for (const f of kclFiles) {
    const r = checkKcl(f, texts.get(f) ?? '', known);
    problems.push(...r.problems);
    kcl.push({ file: f, schemas: r.schemas });
  }
  const taskservs: Taskserv[] = [...tomls]
    .filter(([f]) => f.startsWith(`${WORKSPACE_DIR}/taskservs/`))
    .map(([file, data]) => ({ id: path.posix.basename(file, '.toml'), file, data }));
  for (const t of taskservs) problems.push(...checkTaskservKeys(t));
  problems.push(...checkRequires(taskservs));
  for (const [file, docs] of yamls) {
    if (!file.startsWith(`${WORKSPACE_DIR}/workflows/`)) continue;
    problems.push(...checkWorkflow({ file, data: docs[0] }, taskservs));
  }

  // --- k8s sources
  const kustomizations: Kustomization[] = [...yamls]
    .filter(([f]) => f.startsWith('k8s/') && KUSTOMIZATION_NAMES.includes(path.posix.basename(f)))
    .map(([file, docs]) => ({ file, data: docs[0] }));
  const patches = new Set(kustomizations.flatMap(patchFiles));
  const resources: K8sDoc[] = [];
  const patchDocs: K8sDoc[] = [];
  let k8sDocs = 0;
  for (const k of kustomizations) {
    problems.push(...checkReferences(k, fileSet));
    // A Component (k8s/components/*) is an optional part an overlay may add; it is rendered onto one below.
    if (str(k.data, 'kind') !== 'Kustomization' && !isComponent(k))
      problems.push(problem(k.file, 'kind', 'must be Kustomization (or Component under k8s/components/)'));
  }
  const metrics = await workerMetricNames();
  for (const f of files) {
    if (f.startsWith('k8s/') && f.endsWith('.json'))
      problems.push(...checkGrafanaDashboard(f, texts.get(f) ?? '', metrics));
  }
  for (const [file, docs] of yamls) {
    if (!file.startsWith('k8s/') || kustomizations.some((k) => k.file === file)) continue;
    for (const doc of docs) {
      k8sDocs++;
      if (str(doc, 'apiVersion') === PROMETHEUS_RULE_API && str(doc, 'kind') === 'PrometheusRule') {
        // No CRD schema in kubernetes-models: checked structurally, and against the worker's metrics.
        problems.push(...checkPrometheusRule(file, doc, metrics));
        continue;
      }
      problems.push(...(await validateK8sDoc(file, doc, patches.has(file))));
      if (isObj(doc)) (patches.has(file) ? patchDocs : resources).push({ file, doc });
    }
  }

  // --- rendered overlays (kubectl's kustomize, never a hand-written renderer)
  let rendered = 0;
  const kubectl = options.kubectl === undefined ? await findKubectl() : options.kubectl;
  if (kubectl === false || kubectl === undefined) {
    notes.push('kubectl not found: skipped `kubectl kustomize` of the overlays (not a failure)');
  } else {
    for (const k of kustomizations) {
      const dir = kustomizationDir(k);
      const out = isComponent(k)
        ? await renderComponent(kubectl, root, dir, COMPONENT_HOST)
        : await renderKustomization(kubectl, path.join(root, dir));
      const where = `${dir} (kubectl kustomize)`;
      if (!out.ok) {
        problems.push(problem(k.file, 'kustomize', `kubectl kustomize failed: ${out.error}`));
        continue;
      }
      rendered++;
      const docs = parseYaml(where, out.yaml);
      if (!docs.ok) problems.push(docs.problem);
      else
        for (const doc of docs.value) {
          const rule =
            str(doc, 'apiVersion') === PROMETHEUS_RULE_API && str(doc, 'kind') === 'PrometheusRule';
          problems.push(
            ...(rule ? checkPrometheusRule(where, doc, metrics) : await validateK8sDoc(where, doc, false)),
          );
        }
    }
  }

  // --- cross-checks
  const wsFile = `${WORKSPACE_DIR}/workspace.toml`;
  const workspace = tomls.get(wsFile);
  if (workspace) {
    const overlayName = str(workspace, 'kubernetes.overlay');
    const overlayK = kustomizations.find((k) => kustomizationDir(k) === `k8s/overlays/${overlayName}`);
    if (overlayName !== undefined && !overlayK) {
      problems.push(problem(wsFile, 'kubernetes.overlay', `no kustomization in k8s/overlays/${overlayName}`));
    }
    const overlay = overlayK
      ? {
          kustomization: overlayK,
          patches: patchDocs.filter((p) => p.file.startsWith(`${kustomizationDir(overlayK)}/`)),
        }
      : undefined;
    problems.push(
      ...checkAgreement({
        workspaceFile: wsFile,
        workspace,
        taskservs,
        kcl,
        resources,
        kustomizations,
        ...(overlay ? { overlay } : {}),
      }),
    );
  }
  problems.push(...checkWorkloadPolicy(resources, kustomizations));
  problems.push(...checkStreamReplicas({ kustomizations, resources, patches: patchDocs, taskservs, kcl }));
  const authConf = texts.get(AUTH_CONF);
  problems.push(
    ...checkAuthRoster({
      kustomizations,
      resources,
      taskservs,
      kcl,
      ...(authConf !== undefined ? { authConf } : {}),
    }),
  );

  // --- NATS storage limits against streams/ (outside k8s/ and provisioning/, so it may be absent in a copy)
  const declared = await declaredStreamBytes(root);
  if (declared === undefined) notes.push('streams/ not found: skipped the JetStream limits check');
  else {
    problems.push(
      ...checkJetStreamLimits({
        natsConf: texts.get(NATS_CONF),
        authConf: texts.get(AUTH_CONF),
        declared,
        replicas: PROD_STREAM_REPLICAS,
      }),
    );
  }

  return { problems, notes, counts: { files: files.length, k8sDocs, rendered } };
}

/** The overlay a component is rendered onto, to check that it composes with a real deployment. */
const COMPONENT_HOST = 'k8s/overlays/prod';

function isComponent(k: Kustomization): boolean {
  return str(k.data, 'kind') === 'Component' && k.file.startsWith('k8s/components/');
}

/** max_bytes of every stream (streams.json) and KV bucket (buckets.json), or undefined when streams/ is absent. */
async function declaredStreamBytes(
  root: string,
): Promise<{ name: string; maxBytes: number | undefined }[] | undefined> {
  // Absent: undefined (a copy of the deploy trees only). Unparseable: thrown (loadTopology would fail too).
  const read = async (file: string): Promise<unknown[] | undefined> => {
    const text = await readText(root, `streams/${file}`).catch(() => undefined);
    if (text === undefined) return undefined;
    const data: unknown = JSON.parse(text);
    return Array.isArray(data) ? data : [];
  };
  const streams = await read('streams.json');
  const buckets = await read('buckets.json');
  if (streams === undefined || buckets === undefined) return undefined;
  return [...streams, ...buckets].map((s) => ({
    name: str(s, 'name') ?? '(unnamed)',
    maxBytes: num(s, 'max_bytes'),
  }));
}
