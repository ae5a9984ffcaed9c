// Rules every workload follows, whatever its taskserv says: secrets only by reference, the worker
// hardened and given time to drain before it is killed.
import { generatorLiterals, type K8sDoc } from './k8s-lookup.js';
import { resourceId } from './k8s-schema.js';
import { kustomizationDir, referencedPaths, type Kustomization } from './kustomization-refs.js';
import { problem, type DeployProblem } from './problem.js';
import { arr, at, isObj, num, str } from './values.js';
import path from 'node:path';

const SECRET_NAME = /PASS|PASSWORD|TOKEN|SECRET/i;
const WORKLOADS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job']);

export function checkWorkloadPolicy(
  resources: readonly K8sDoc[],
  kustomizations: readonly Kustomization[],
): DeployProblem[] {
  const out: DeployProblem[] = [];
  for (const r of resources) {
    if (!WORKLOADS.has(String(r.doc.kind))) continue;
    for (const c of arr(r.doc, 'spec.template.spec.containers')) {
      for (const e of arr(c, 'env')) {
        const name = str(e, 'name') ?? '';
        if (SECRET_NAME.test(name) && at(e, 'value') !== undefined) {
          out.push(
            problem(r.file, `${resourceId(r.doc)} env.${name}`, 'secret inlined; use valueFrom.secretKeyRef'),
          );
        }
      }
    }
    const labels = at(r.doc, 'spec.template.metadata.labels');
    if (r.doc.kind === 'Deployment' && isObj(labels) && labels['app.kubernetes.io/component'] === 'worker') {
      out.push(...checkWorker(r, kustomizations));
    }
  }
  out.push(...checkNoSecretsInKustomizations(resources, kustomizations));
  return out;
}

function checkWorker(r: K8sDoc, kustomizations: readonly Kustomization[]): DeployProblem[] {
  const out: DeployProblem[] = [];
  const id = resourceId(r.doc);
  const pod = at(r.doc, 'spec.template.spec');
  const containers = arr(pod, 'containers');
  const grace = num(pod, 'terminationGracePeriodSeconds') ?? 30;
  const drainMs = Number(
    generatorLiterals(
      kustomizations.map((k) => k.data),
      'vapora-worker-config',
    ).get('SHUTDOWN_GRACE_MS') ?? 20000,
  );
  if (grace * 1000 <= drainMs) {
    out.push(
      problem(
        r.file,
        `${id} spec.template.spec.terminationGracePeriodSeconds`,
        `${grace}s must exceed SHUTDOWN_GRACE_MS (${drainMs} ms)`,
      ),
    );
  }
  const podNonRoot = at(pod, 'securityContext.runAsNonRoot') === true;
  containers.forEach((c, i) => {
    const key = `${id} spec.template.spec.containers[${i}].securityContext`;
    if (!podNonRoot && at(c, 'securityContext.runAsNonRoot') !== true)
      out.push(problem(r.file, key, 'runAsNonRoot must be true'));
    if (at(c, 'securityContext.readOnlyRootFilesystem') !== true)
      out.push(problem(r.file, key, 'readOnlyRootFilesystem must be true'));
    if (at(c, 'securityContext.allowPrivilegeEscalation') !== false)
      out.push(problem(r.file, key, 'allowPrivilegeEscalation must be false'));
  });
  return out;
}

/** Secrets are created out of band; a kustomization that ships one would apply example values. */
function checkNoSecretsInKustomizations(
  resources: readonly K8sDoc[],
  kustomizations: readonly Kustomization[],
): DeployProblem[] {
  const out: DeployProblem[] = [];
  for (const k of kustomizations) {
    for (const ref of referencedPaths(k).filter((r) => r.key.startsWith('resources'))) {
      const target = path.posix.normalize(path.posix.join(kustomizationDir(k), ref.path));
      if (resources.some((r) => r.file === target && r.doc.kind === 'Secret')) {
        out.push(
          problem(k.file, ref.key, `'${ref.path}' holds a Secret; secrets are never part of a kustomization`),
        );
      }
    }
  }
  return out;
}
