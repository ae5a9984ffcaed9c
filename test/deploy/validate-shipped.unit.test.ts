import path from 'node:path';
import { parseYaml } from '../../tools/deploy/parse.js';
import { findKubectl, renderKustomization } from '../../tools/deploy/kustomize-render.js';
import { formatProblem, formatProblems } from '../../tools/deploy/problem.js';
import { validateDeployReport } from '../../tools/deploy/validate-deploy.js';
import { arr, at, str, strings } from '../../tools/deploy/values.js';
import { REPO_ROOT } from './helpers.js';

const TIMEOUT = 60_000;

describe('shipped k8s/ and provisioning/', () => {
  it(
    'pass every check with zero problems',
    async () => {
      const report = await validateDeployReport(REPO_ROOT);
      expect(formatProblems(report.problems)).toBe('');
      expect(report.counts.k8sDocs).toBeGreaterThan(15);
    },
    TIMEOUT,
  );

  it(
    'render every kustomization with kubectl when it is installed',
    async () => {
      const kubectl = await findKubectl();
      const report = await validateDeployReport(REPO_ROOT);
      if (kubectl === undefined) {
        expect(report.notes.join('\n')).toMatch(/kubectl not found/);
      } else {
        // base, overlays/dev, overlays/prod, overlays/tikv, agents, and the components monitoring, dashboard
        // and dashboard-ingress (each rendered onto overlays/prod)
        expect(report.counts.rendered).toBe(8);
        expect(report.notes).toEqual([]);
      }
    },
    TIMEOUT,
  );

  it(
    'skip rendering, and say so, when kubectl is absent',
    async () => {
      const report = await validateDeployReport(REPO_ROOT, { kubectl: false });
      expect(report.problems).toEqual([]);
      expect(report.counts.rendered).toBe(0);
      expect(report.notes).toEqual([expect.stringMatching(/kubectl not found: skipped .*not a failure/)]);
    },
    TIMEOUT,
  );

  it(
    'overlays/tikv runs SurrealDB as stateless servers on TiKV, and the worker still reaches it over ws://',
    async () => {
      const kubectl = await findKubectl();
      if (kubectl === undefined) return; // rendering is covered by the note test above
      const out = await renderKustomization(kubectl, path.join(REPO_ROOT, 'k8s/overlays/tikv'));
      if (!out.ok) throw new Error(out.error);
      const parsed = parseYaml('k8s/overlays/tikv', out.yaml);
      if (!parsed.ok) throw new Error(formatProblem(parsed.problem));
      const docs = parsed.value;
      const surreal = docs.find(
        (d) => str(d, 'kind') === 'StatefulSet' && str(d, 'metadata.name') === 'surrealdb',
      );
      expect(at(surreal, 'spec.replicas')).toBe(3);
      expect(at(surreal, 'spec.volumeClaimTemplates')).toBeUndefined();
      expect(strings(arr(surreal, 'spec.template.spec.containers')[0], 'args')).toContainEqual(
        expect.stringMatching(/^tikv:\/\/[^/]+:2379$/),
      );
      const config = docs.find(
        (d) =>
          str(d, 'kind') === 'ConfigMap' &&
          (str(d, 'metadata.name') ?? '').startsWith('vapora-worker-config'),
      );
      expect(str(config, 'data.SURREAL_URL')).toBe('ws://surrealdb:8000/rpc');
      expect(str(config, 'data.STREAM_REPLICAS')).toBe('3');
    },
    TIMEOUT,
  );
});
