// Each case copies the shipped tree, breaks one thing, and expects the matching `file: key: problem`.
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { findKubectl } from '../../tools/deploy/kustomize-render.js';
import { formatProblems, type DeployProblem } from '../../tools/deploy/problem.js';
import { validateDeploy } from '../../tools/deploy/validate-deploy.js';
import { copyDeployTree, edit, removeTree, replaceIn } from './helpers.js';

const TIMEOUT = 60_000;

const WS = 'provisioning/vapora-wrksp';

interface Case {
  name: string;
  breakIt: (root: string) => Promise<void>;
  file: string;
  key: string | RegExp;
  problem: RegExp;
}

const cases: Case[] = [
  // --- workspace layout and parsing
  {
    name: 'workspace missing',
    breakIt: (r) => rm(path.join(r, WS), { recursive: true }),
    file: WS,
    key: 'workspace',
    problem: /does not exist/,
  },
  {
    name: 'a part of the workspace missing',
    breakIt: (r) => rm(path.join(r, WS, 'workflows'), { recursive: true }),
    file: `${WS}/workflows`,
    key: 'workflows',
    problem: /missing/,
  },
  {
    name: 'TOML that does not parse',
    breakIt: (r) => edit(r, `${WS}/taskservs/nats.toml`, (t) => `${t}\nbroken = = 1\n`),
    file: `${WS}/taskservs/nats.toml`,
    key: 'toml',
    problem: /does not parse/,
  },
  {
    name: 'workflow YAML that does not parse',
    breakIt: (r) => edit(r, `${WS}/workflows/health-check.yaml`, (t) => `${t}\n  - [unclosed\n`),
    file: `${WS}/workflows/health-check.yaml`,
    key: 'yaml',
    problem: /does not parse/,
  },
  {
    name: 'k8s YAML that does not parse',
    breakIt: (r) => edit(r, 'k8s/base/worker/service.yaml', (t) => `${t}\n  bad: [\n`),
    file: 'k8s/base/worker/service.yaml',
    key: 'yaml',
    problem: /does not parse/,
  },
  // --- KCL structure
  {
    name: 'KCL unbalanced bracket',
    breakIt: (r) => replaceIn(r, `${WS}/kcl/agents.k`, '["coding", "refactoring", "testing"]', '["coding"'),
    file: `${WS}/kcl/agents.k`,
    key: /^line \d+$/,
    problem: /unclosed '\['/,
  },
  {
    name: 'KCL field without a type',
    breakIt: (r) => replaceIn(r, `${WS}/kcl/surrealdb.k`, 'port: int = 8000', 'port = 8000'),
    file: `${WS}/kcl/surrealdb.k`,
    key: 'SurrealDB.port',
    problem: /no type annotation/,
  },
  {
    name: 'KCL default of the wrong type',
    breakIt: (r) => replaceIn(r, `${WS}/kcl/nats.k`, 'replicas: int = 3', 'replicas: int = "3"'),
    file: `${WS}/kcl/nats.k`,
    key: 'Nats.replicas',
    problem: /default "3" is not of type int/,
  },
  {
    name: 'KCL unknown schema type',
    breakIt: (r) => replaceIn(r, `${WS}/kcl/worker.k`, 'scaling: WorkerScaling', 'scaling: Scaling'),
    file: `${WS}/kcl/worker.k`,
    key: 'LearningWorker.scaling',
    problem: /unknown type 'Scaling'/,
  },
  // --- taskservs
  {
    name: 'taskserv without [health]',
    breakIt: (r) => replaceIn(r, `${WS}/taskservs/surrealdb.toml`, '[health]', '[checks]'),
    file: `${WS}/taskservs/surrealdb.toml`,
    key: 'health',
    problem: /required key is missing/,
  },
  {
    name: 'requires an unknown taskserv',
    breakIt: (r) =>
      replaceIn(r, `${WS}/taskservs/agents.toml`, '"learning-worker"]', '"learning-worker", "redis"]'),
    file: `${WS}/taskservs/agents.toml`,
    key: 'dependencies.requires',
    problem: /unknown taskserv 'redis'/,
  },
  {
    name: 'requires cycle',
    breakIt: (r) =>
      replaceIn(r, `${WS}/taskservs/nats.toml`, 'requires = ["namespace"]', 'requires = ["agents"]'),
    file: `${WS}/taskservs/nats.toml`,
    key: 'dependencies.requires',
    problem: /dependency cycle: .*nats.*agents|dependency cycle: .*agents.*nats/,
  },
  // --- workflows
  {
    name: 'workflow step with an unknown taskserv',
    breakIt: (r) =>
      replaceIn(r, `${WS}/workflows/scale-workers.yaml`, 'taskserv: learning-worker', 'taskserv: workers'),
    file: `${WS}/workflows/scale-workers.yaml`,
    key: 'steps[0] (scale-worker)',
    problem: /unknown taskserv 'workers'/,
  },
  {
    name: 'workflow step with an unknown action',
    breakIt: (r) => replaceIn(r, `${WS}/workflows/scale-workers.yaml`, 'action: scale', 'action: resize'),
    file: `${WS}/workflows/scale-workers.yaml`,
    key: 'steps[0] (scale-worker)',
    problem: /has no action 'resize'/,
  },
  {
    name: 'workflow order against requires',
    breakIt: (r) =>
      edit(r, `${WS}/workflows/deploy-services.yaml`, (t) =>
        t
          .replace('taskserv: learning-worker', 'taskserv: TMP')
          .replace('taskserv: agents', 'taskserv: learning-worker')
          .replace('taskserv: TMP', 'taskserv: agents'),
      ),
    file: `${WS}/workflows/deploy-services.yaml`,
    key: 'steps[0] (deploy-worker)',
    problem: /'agents' requires 'learning-worker', which runs later/,
  },
  {
    name: 'parallel group holding a dependency pair',
    breakIt: (r) =>
      replaceIn(r, `${WS}/workflows/deploy-infra.yaml`, 'taskserv: surrealdb', 'taskserv: learning-worker'),
    file: `${WS}/workflows/deploy-infra.yaml`,
    key: /steps\[1\] \(deploy-backing-services\)\.tasks\[1\]/,
    problem: /parallel group holds 'learning-worker' and its dependency 'nats'/,
  },
  // --- provisioning and k8s agree
  {
    name: 'image disagreement',
    // (the tag alone would be pinned back to 0.1.0 by the prod overlay's `images:`)
    breakIt: (r) =>
      replaceIn(r, 'k8s/base/worker/deployment.yaml', 'vapora/vapora-learning:', 'vapora/learning:'),
    file: `${WS}/taskservs/learning-worker.toml`,
    key: 'deployment.image',
    problem: /"ghcr.io\/vapora\/vapora-learning:0.1.0" but .*has "ghcr.io\/vapora\/learning:0.1.0"/,
  },
  {
    name: 'image not following workspace versions',
    breakIt: (r) =>
      replaceIn(r, `${WS}/workspace.toml`, 'vapora_learning = "0.1.0"', 'vapora_learning = "0.2.0"'),
    file: `${WS}/taskservs/learning-worker.toml`,
    key: 'deployment.image',
    problem: /workspace.toml .* give 'ghcr.io\/vapora\/vapora-learning:0.2.0'/,
  },
  {
    name: 'replicas disagreement with the prod overlay',
    breakIt: (r) => replaceIn(r, 'k8s/overlays/prod/worker-deployment.yaml', 'replicas: 2', 'replicas: 3'),
    file: `${WS}/taskservs/learning-worker.toml`,
    key: 'deployment.replicas',
    problem: /2 but .* has 3/,
  },
  {
    name: 'port disagreement',
    breakIt: (r) =>
      replaceIn(r, 'k8s/base/surrealdb/statefulset.yaml', 'containerPort: 8000', 'containerPort: 8001'),
    file: `${WS}/taskservs/surrealdb.toml`,
    key: 'deployment.port',
    problem: /8000 is not a container port/,
  },
  {
    name: 'health path disagreement',
    breakIt: (r) => replaceIn(r, 'k8s/base/worker/deployment.yaml', 'path: /readyz', 'path: /ready'),
    file: `${WS}/taskservs/learning-worker.toml`,
    key: 'health.readiness',
    problem: /"\/readyz" but .* has "\/ready"/,
  },
  {
    name: 'namespace disagreement',
    breakIt: (r) => replaceIn(r, 'k8s/agents/kustomization.yaml', 'namespace: vapora', 'namespace: agents'),
    file: 'k8s/agents/kustomization.yaml',
    key: 'namespace',
    problem: /'agents' but workspace says 'vapora'/,
  },
  {
    name: 'KCL default disagreeing with the taskserv',
    breakIt: (r) => replaceIn(r, `${WS}/kcl/worker.k`, 'replicas: int = 2', 'replicas: int = 3'),
    file: `${WS}/kcl/worker.k`,
    key: 'LearningWorker.replicas',
    problem: /default 3 but .*learning-worker.toml deployment.replicas is 2/,
  },
  {
    name: 'KEDA bounds disagreeing with [scaling]',
    breakIt: (r) =>
      replaceIn(r, 'k8s/overlays/prod/worker-scaledobject.yaml', 'maxReplicaCount: 10', 'maxReplicaCount: 8'),
    file: `${WS}/taskservs/learning-worker.toml`,
    key: 'scaling.max_replicas',
    problem: /10 but .*ScaledObject.* has 8/,
  },
  // --- Kubernetes schemas and kustomizations
  {
    name: 'resource failing its schema',
    breakIt: (r) => replaceIn(r, 'k8s/base/nats/statefulset.yaml', 'replicas: 3', 'replicas: three'),
    file: 'k8s/base/nats/statefulset.yaml',
    key: 'StatefulSet/nats spec.replicas',
    problem: /must be integer/,
  },
  {
    name: 'patch failing its schema',
    breakIt: (r) => replaceIn(r, 'k8s/overlays/dev/worker-deployment.yaml', 'replicas: 1', 'replicas: [1]'),
    file: 'k8s/overlays/dev/worker-deployment.yaml',
    key: 'Deployment/vapora-learning-worker spec.replicas',
    problem: /must be integer/,
  },
  {
    name: 'KEDA ScaledObject failing its CRD schema',
    breakIt: (r) => replaceIn(r, 'k8s/base/worker/scaledobject.yaml', 'scaleTargetRef:', 'scaleTarget:'),
    file: 'k8s/base/worker/scaledobject.yaml',
    key: 'ScaledObject/vapora-learning-worker spec',
    problem: /must have required property '?scaleTargetRef'?/,
  },
  {
    name: 'unknown kind',
    breakIt: (r) => replaceIn(r, 'k8s/base/worker/pdb.yaml', 'kind: PodDisruptionBudget', 'kind: PodBudget'),
    file: 'k8s/base/worker/pdb.yaml',
    key: 'PodBudget/vapora-learning-worker',
    problem: /no schema for kind 'PodBudget'/,
  },
  {
    name: 'kustomization naming a missing file',
    breakIt: (r) => replaceIn(r, 'k8s/base/kustomization.yaml', '- worker/pdb.yaml', '- worker/budget.yaml'),
    file: 'k8s/base/kustomization.yaml',
    key: /^resources\[\d+\]$/,
    problem: /'worker\/budget.yaml' does not exist/,
  },
  // --- workload policy
  {
    name: 'inlined secret',
    breakIt: (r) =>
      edit(r, 'k8s/agents/deployment.yaml', (t) =>
        t.replace(
          /- name: NATS_PASS\n(\s+)valueFrom:[\s\S]*?key: NATS_PASS/,
          '- name: NATS_PASS\n$1value: hunter2',
        ),
      ),
    file: 'k8s/agents/deployment.yaml',
    key: 'Deployment/vapora-agent-coder-1 env.NATS_PASS',
    problem: /secret inlined/,
  },
  {
    name: 'grace period shorter than the drain',
    breakIt: (r) =>
      replaceIn(
        r,
        'k8s/base/worker/deployment.yaml',
        'terminationGracePeriodSeconds: 45',
        'terminationGracePeriodSeconds: 20',
      ),
    file: 'k8s/base/worker/deployment.yaml',
    key: 'Deployment/vapora-learning-worker spec.template.spec.terminationGracePeriodSeconds',
    problem: /20s must exceed SHUTDOWN_GRACE_MS \(20000 ms\)/,
  },
  {
    name: 'writable root filesystem',
    breakIt: (r) =>
      replaceIn(
        r,
        'k8s/base/worker/deployment.yaml',
        'readOnlyRootFilesystem: true',
        'readOnlyRootFilesystem: false',
      ),
    file: 'k8s/base/worker/deployment.yaml',
    key: 'Deployment/vapora-learning-worker spec.template.spec.containers[0].securityContext',
    problem: /readOnlyRootFilesystem must be true/,
  },
  {
    name: 'example secrets pulled into a kustomization',
    breakIt: async (r) => {
      await writeFile(
        path.join(r, 'k8s/agents/secrets.yaml'),
        'apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n',
      );
      await replaceIn(
        r,
        'k8s/agents/kustomization.yaml',
        '- deployment.yaml',
        '- deployment.yaml\n  - secrets.yaml',
      );
    },
    file: 'k8s/agents/kustomization.yaml',
    key: 'resources[1]',
    problem: /holds a Secret/,
  },
  // --- production replication (issue 10: R3 streams and buckets)
  {
    name: 'prod overlay without STREAM_REPLICAS',
    breakIt: (r) => replaceIn(r, 'k8s/overlays/prod/kustomization.yaml', /^\s*- STREAM_REPLICAS=3\n/m, ''),
    file: 'k8s/overlays/prod/kustomization.yaml',
    key: 'configMapGenerator vapora-worker-config STREAM_REPLICAS',
    problem: /not set; production needs 3/,
  },
  {
    name: 'prod overlay with STREAM_REPLICAS=1',
    breakIt: (r) =>
      replaceIn(r, 'k8s/overlays/prod/kustomization.yaml', 'STREAM_REPLICAS=3', 'STREAM_REPLICAS=1'),
    file: 'k8s/overlays/prod/kustomization.yaml',
    key: 'configMapGenerator vapora-worker-config STREAM_REPLICAS',
    problem: /'1'; production needs 3/,
  },
  {
    name: 'taskserv env with STREAM_REPLICAS 1',
    breakIt: (r) =>
      replaceIn(r, `${WS}/taskservs/learning-worker.toml`, 'STREAM_REPLICAS = "3"', 'STREAM_REPLICAS = "1"'),
    file: `${WS}/taskservs/learning-worker.toml`,
    key: 'env.STREAM_REPLICAS',
    problem: /'1'; production needs "3"/,
  },
  {
    name: 'KCL worker env without STREAM_REPLICAS',
    breakIt: (r) => replaceIn(r, `${WS}/kcl/worker.k`, /^\s*"STREAM_REPLICAS": "3"\n/m, ''),
    file: `${WS}/kcl/worker.k`,
    key: 'LearningWorker.env.STREAM_REPLICAS',
    problem: /not set; production needs "3"/,
  },
  // --- NATS storage limits against streams/
  {
    name: 'a stream without max_bytes',
    breakIt: (r) => replaceIn(r, 'streams/streams.json', /"max_bytes": 268435456,\n\s*/, ''),
    file: 'streams',
    key: 'VAPORA_DLQ max_bytes',
    problem: /needs a byte bound/,
  },
  {
    name: 'account without JetStream limits',
    breakIt: (r) => replaceIn(r, 'k8s/base/nats/auth.conf', /jetstream: \{[^}]*\}/, 'jetstream: enabled'),
    file: 'k8s/base/nats/auth.conf',
    key: 'accounts jetstream',
    problem: /no limits/,
  },
  {
    name: 'account max_file below the R3 reservation',
    breakIt: (r) => replaceIn(r, 'k8s/base/nats/auth.conf', /max_file: \S+/, 'max_file: 8GB'),
    file: 'k8s/base/nats/auth.conf',
    key: 'accounts jetstream.max_file',
    problem: /8GB is less than .* × 3 replicas/,
  },
  {
    name: 'account without max_bytes_required',
    breakIt: (r) =>
      replaceIn(r, 'k8s/base/nats/auth.conf', /max_bytes_required: true/, 'max_bytes_required: false'),
    file: 'k8s/base/nats/auth.conf',
    key: 'accounts jetstream.max_bytes_required',
    problem: /must be true/,
  },
  {
    name: 'node file store below what the streams reserve',
    breakIt: (r) => replaceIn(r, 'k8s/base/nats/nats.conf', /max_file_store: \S+/, 'max_file_store: 2GB'),
    file: 'k8s/base/nats/nats.conf',
    key: 'jetstream.max_file_store',
    problem: /2GB is less than/,
  },
  // --- auth.conf is rendered from the roster the manifests configure (vapora-learning auth render)
  {
    name: 'auth.conf edited by hand (an agent given KV access)',
    breakIt: (r) =>
      replaceIn(
        r,
        'k8s/base/nats/auth.conf',
        '"vapora.results.coder-1"',
        '"vapora.results.coder-1"\n"$KV.>"',
      ),
    file: 'k8s/base/nats/auth.conf',
    key: /^line \d+$/,
    problem: /differs from what `vapora-learning auth render --agents coder-1:developer:4` renders/,
  },
  {
    name: 'roster grown in the worker config but auth.conf not rendered again',
    breakIt: (r) =>
      replaceIn(
        r,
        'k8s/base/kustomization.yaml',
        'AGENTS=coder-1:developer:4',
        'AGENTS=coder-1:developer:4,coder-2',
      ),
    file: 'k8s/base/nats/auth.conf',
    key: /^line \d+$/,
    problem: /auth render --agents coder-1:developer:4,coder-2/,
  },
  {
    name: 'worker roster not configured',
    breakIt: (r) => replaceIn(r, 'k8s/base/kustomization.yaml', /^\s*- AGENTS=.*\n/m, ''),
    file: 'k8s/base/kustomization.yaml',
    key: 'configMapGenerator vapora-worker-config AGENTS',
    problem: /not set/,
  },
  {
    name: 'Provisioning worker env with another roster',
    breakIt: (r) =>
      replaceIn(
        r,
        `${WS}/kcl/worker.k`,
        '"AGENTS": "coder-1:developer:4"',
        '"AGENTS": "coder-1:developer:40"',
      ),
    file: `${WS}/kcl/worker.k`,
    key: 'LearningWorker.env.AGENTS',
    problem: /'coder-1:developer:40'; the Kubernetes worker config says 'coder-1:developer:4'/,
  },
  {
    name: 'agent Deployment for an id outside the roster',
    breakIt: (r) => replaceIn(r, 'k8s/agents/deployment.yaml', /value: coder-1\n/, 'value: coder-9\n'),
    file: 'k8s/agents/deployment.yaml',
    key: 'Deployment/vapora-agent-coder-1 AGENT_ID',
    problem: /'coder-9' is not in the roster/,
  },
];

async function problemsOf(
  breakIt: (root: string) => Promise<void>,
  kubectl: string | false,
): Promise<DeployProblem[]> {
  const root = await copyDeployTree();
  try {
    await breakIt(root);
    return await validateDeploy(root, { kubectl });
  } finally {
    await removeTree(root);
  }
}

describe('a deliberately broken copy fails with the right message', () => {
  it.each(cases.map((c) => [c.name, c] as const))(
    '%s',
    async (_name, c) => {
      const problems = await problemsOf(c.breakIt, false);
      const match = problems.find(
        (p) =>
          p.file === c.file &&
          (typeof c.key === 'string' ? p.key === c.key : c.key.test(p.key)) &&
          c.problem.test(p.problem),
      );
      if (!match)
        throw new Error(
          `expected ${c.file}: ${String(c.key)}: ${String(c.problem)}\ngot:\n${formatProblems(problems)}`,
        );
      expect(match.file).toBe(c.file);
    },
    TIMEOUT,
  );
});

describe('kubectl kustomize of the overlays', () => {
  it(
    'reports an overlay that kubectl cannot build (a patch whose target does not exist)',
    async () => {
      const kubectl = await findKubectl();
      if (kubectl === undefined) {
        console.warn('skipped: kubectl is not installed, so overlays are not rendered');
        return;
      }
      const problems = await problemsOf(
        (r) =>
          replaceIn(
            r,
            'k8s/overlays/prod/worker-deployment.yaml',
            'name: vapora-learning-worker',
            'name: no-such-worker',
          ),
        kubectl,
      );
      expect(problems).toContainEqual({
        file: 'k8s/overlays/prod/kustomization.yaml',
        key: 'kustomize',
        problem: expect.stringMatching(/kubectl kustomize failed: .*no-such-worker/),
      });
    },
    TIMEOUT,
  );
});
