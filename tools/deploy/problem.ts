/** One finding of the deploy validator, reported as `file: key: problem`. */
export interface DeployProblem {
  /** Path relative to the repository root, with `/` separators. */
  file: string;
  /** Where in the file: a dotted key, a resource id, a step name or a line. */
  key: string;
  problem: string;
}

export function formatProblem(p: DeployProblem): string {
  return `${p.file}: ${p.key}: ${p.problem}`;
}

export function formatProblems(problems: readonly DeployProblem[]): string {
  return problems.map(formatProblem).join('\n');
}

export function problem(file: string, key: string, text: string): DeployProblem {
  return { file, key, problem: text };
}
