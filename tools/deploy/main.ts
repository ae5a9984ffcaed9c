/**
 * `npm run validate:deploy [rootDir]` (and `vapora-learning validate deploy` from a source checkout): exit 1 when any
 * problem is found. A development tool, not runtime: it lives outside src/ so neither dist/ nor the package's
 * dependencies carry it or its libraries (kubernetes-models, yaml, smol-toml).
 */
import { pathToFileURL } from 'node:url';
import { formatProblems } from './problem.js';
import { validateDeployReport } from './validate-deploy.js';

export async function runValidateDeploy(rootDir: string): Promise<number> {
  const report = await validateDeployReport(rootDir);
  for (const note of report.notes) console.log(`note: ${note}`);
  if (report.problems.length > 0) {
    console.error(formatProblems(report.problems));
    console.error(`validate deploy: ${report.problems.length} problem(s)`);
    return 1;
  }
  const { files, k8sDocs, rendered } = report.counts;
  console.log(
    `validate deploy: OK (${files} files, ${k8sDocs} Kubernetes documents, ${rendered} kustomizations rendered)`,
  );
  return 0;
}

// Run only when executed directly (tsx tools/deploy/main.ts [rootDir]), not when imported by the CLI.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runValidateDeploy(process.argv[2] ?? process.cwd()).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(err);
      process.exitCode = 2;
    },
  );
}
