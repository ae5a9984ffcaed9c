// The Provisioning workspace must have its four parts, with the files this product defines.
import { problem, type DeployProblem } from './problem.js';

export const WORKSPACE_DIR = 'provisioning/vapora-wrksp';

const EXPECTED: Record<string, string[]> = {
  kcl: ['cluster.k', 'namespace.k', 'nats.k', 'surrealdb.k', 'worker.k', 'agents.k'],
  taskservs: ['surrealdb.toml', 'nats.toml', 'learning-worker.toml', 'agents.toml'],
  workflows: [
    'deploy-full-stack.yaml',
    'deploy-infra.yaml',
    'deploy-services.yaml',
    'health-check.yaml',
    'scale-workers.yaml',
  ],
};

/** `files`: every file under the root, relative, `/`-separated. */
export function checkLayout(files: ReadonlySet<string>): DeployProblem[] {
  const inWs = [...files].filter((f) => f.startsWith(`${WORKSPACE_DIR}/`));
  if (inWs.length === 0)
    return [problem(WORKSPACE_DIR, 'workspace', 'the Provisioning workspace does not exist')];
  const out: DeployProblem[] = [];
  if (!files.has(`${WORKSPACE_DIR}/workspace.toml`)) {
    out.push(problem(`${WORKSPACE_DIR}/workspace.toml`, 'workspace', 'missing'));
  }
  for (const [part, names] of Object.entries(EXPECTED)) {
    const dir = `${WORKSPACE_DIR}/${part}`;
    if (!inWs.some((f) => f.startsWith(`${dir}/`))) {
      out.push(
        problem(dir, part, 'missing (a workspace has workspace.toml, kcl/, taskservs/ and workflows/)'),
      );
      continue;
    }
    for (const name of names) {
      if (!files.has(`${dir}/${name}`)) out.push(problem(`${dir}/${name}`, part, 'missing'));
    }
  }
  return out;
}
