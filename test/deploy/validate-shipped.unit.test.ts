import { findKubectl } from '../../tools/deploy/kustomize-render.js';
import { formatProblems } from '../../tools/deploy/problem.js';
import { validateDeployReport } from '../../tools/deploy/validate-deploy.js';
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
        // base, overlays/dev, overlays/prod, agents, and the components monitoring, dashboard and
        // dashboard-ingress (each rendered onto overlays/prod)
        expect(report.counts.rendered).toBe(7);
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
});
