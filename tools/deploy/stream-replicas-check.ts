// Production keeps every stream and KV bucket on all three NATS nodes. The worker applies STREAM_REPLICAS at start,
// so the prod overlay and the Provisioning workspace (taskserv [env], KCL worker env) must all say 3, and the NATS
// StatefulSet must have at least that many nodes to place them.
import { findResource, generatorLiterals, overlayNumber, type K8sDoc } from './k8s-lookup.js';
import type { KclSchema } from './kcl-check.js';
import { kustomizationDir, type Kustomization } from './kustomization-refs.js';
import { problem, type DeployProblem } from './problem.js';
import type { Taskserv } from './taskserv-check.js';
import { str } from './values.js';

export const PROD_STREAM_REPLICAS = 3;
const PROD_OVERLAY = 'k8s/overlays/prod';
const WORKER_CONFIG = 'vapora-worker-config';
const WORKER_TASKSERV = 'learning-worker';

export interface StreamReplicasInput {
  kustomizations: readonly Kustomization[];
  /** Non-patch resource documents under k8s/. */
  resources: readonly K8sDoc[];
  /** Patch documents under k8s/ (the prod overlay's are picked out here). */
  patches: readonly K8sDoc[];
  taskservs: readonly Taskserv[];
  kcl: readonly { file: string; schemas: readonly KclSchema[] }[];
}

export function checkStreamReplicas(input: StreamReplicasInput): DeployProblem[] {
  const want = String(PROD_STREAM_REPLICAS);
  const out: DeployProblem[] = [];
  const prod = input.kustomizations.find((k) => kustomizationDir(k) === PROD_OVERLAY);
  if (prod) {
    const base = input.kustomizations.find((k) => kustomizationDir(k) === 'k8s/base');
    // Base first, then the overlay's merge: the value the prod pods get.
    const got = generatorLiterals([base?.data, prod.data], WORKER_CONFIG).get('STREAM_REPLICAS');
    if (got !== want)
      out.push(
        problem(
          prod.file,
          `configMapGenerator ${WORKER_CONFIG} STREAM_REPLICAS`,
          `${got === undefined ? 'not set' : `'${got}'`}; production needs ${want} (one replica per NATS node)`,
        ),
      );
    const nats = findResource(input.resources, 'StatefulSet', 'nats');
    const prodPatches = input.patches.filter((p) => p.file.startsWith(`${PROD_OVERLAY}/`));
    const nodes = nats ? overlayNumber(nats.doc, prodPatches, 'spec.replicas') : undefined;
    if (nats && (nodes ?? 1) < PROD_STREAM_REPLICAS)
      out.push(
        problem(
          nats.file,
          'StatefulSet/nats spec.replicas',
          `${nodes ?? 1} in the prod overlay, fewer than STREAM_REPLICAS=${want}`,
        ),
      );
  }

  const worker = input.taskservs.find((t) => t.id === WORKER_TASKSERV);
  if (worker) {
    const got = str(worker.data, 'env.STREAM_REPLICAS');
    if (got !== want)
      out.push(
        problem(
          worker.file,
          'env.STREAM_REPLICAS',
          `${got === undefined ? 'not set' : `'${got}'`}; production needs "${want}"`,
        ),
      );
    // The KCL schema of the same service (its `name` default) carries the worker's env.
    const name = str(worker.data, 'service.name');
    for (const { file, schemas } of input.kcl) {
      for (const s of schemas) {
        if (s.fields.find((f) => f.name === 'name')?.default?.trim() !== JSON.stringify(name)) continue;
        const env = s.fields.find((f) => f.name === 'env')?.default ?? '';
        const m = /"STREAM_REPLICAS"\s*:\s*"([^"]*)"/.exec(env);
        if (m?.[1] !== want)
          out.push(
            problem(
              file,
              `${s.name}.env.STREAM_REPLICAS`,
              `${m ? `'${m[1]}'` : 'not set'}; production needs "${want}"`,
            ),
          );
      }
    }
  }
  return out;
}
