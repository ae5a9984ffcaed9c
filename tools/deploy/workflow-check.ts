// Workflows: steps name real taskservs and actions, follow `requires`, and parallel groups are independent.
import { problem, type DeployProblem } from './problem.js';
import { transitiveRequires, type Taskserv } from './taskserv-check.js';
import { arr, isObj, str, strings } from './values.js';

export interface Workflow {
  file: string;
  data: unknown;
}

interface Task {
  taskserv: string;
  action: string;
  key: string;
}

/** The flattened tasks of each step, in order; a parallel group is one step. */
function stepsOf(wf: Workflow, out: DeployProblem[]): Task[][] {
  if (!isObj(wf.data)) {
    out.push(problem(wf.file, 'workflow', 'must be a mapping'));
    return [];
  }
  if (typeof wf.data.name !== 'string') out.push(problem(wf.file, 'name', 'required key is missing'));
  const steps = arr(wf.data, 'steps');
  if (steps.length === 0) out.push(problem(wf.file, 'steps', 'a workflow needs at least one step'));
  return steps.map((step, i) => {
    const key = `steps[${i}]${typeof str(step, 'name') === 'string' ? ` (${str(step, 'name')})` : ''}`;
    if (!isObj(step)) {
      out.push(problem(wf.file, key, 'a step must be a mapping'));
      return [];
    }
    if (step.parallel === true) {
      const tasks = arr(step, 'tasks');
      if (tasks.length === 0) out.push(problem(wf.file, key, 'a parallel step needs tasks'));
      return tasks.map((t, j) => taskOf(t, `${key}.tasks[${j}]`, wf.file, out));
    }
    return [taskOf(step, key, wf.file, out)];
  });
}

function taskOf(raw: unknown, key: string, file: string, out: DeployProblem[]): Task {
  const taskserv = str(raw, 'taskserv') ?? '';
  const action = str(raw, 'action') ?? '';
  if (taskserv === '') out.push(problem(file, key, 'step names no taskserv'));
  if (action === '') out.push(problem(file, key, 'step names no action'));
  return { taskserv, action, key };
}

export function checkWorkflow(wf: Workflow, taskservs: readonly Taskserv[]): DeployProblem[] {
  const out: DeployProblem[] = [];
  const byId = new Map(taskservs.map((t) => [t.id, t]));
  const steps = stepsOf(wf, out);

  // Known taskserv and an action it declares.
  for (const task of steps.flat()) {
    const ts = byId.get(task.taskserv);
    if (task.taskserv !== '' && !ts) {
      out.push(problem(wf.file, task.key, `unknown taskserv '${task.taskserv}'`));
    } else if (ts && task.action !== '') {
      const actions = strings(ts.data, 'service.actions');
      if (!actions.includes(task.action)) {
        const list = actions.join(', ');
        out.push(
          problem(wf.file, task.key, `taskserv '${task.taskserv}' has no action '${task.action}' (${list})`),
        );
      }
    }
  }

  // A dependency that appears in this workflow must first appear in an earlier step.
  // Dependencies absent from the workflow are assumed to be in place (another workflow's job).
  const firstStep = new Map<string, number>();
  steps.forEach((tasks, i) =>
    tasks.forEach((t) => firstStep.has(t.taskserv) || firstStep.set(t.taskserv, i)),
  );
  steps.forEach((tasks, i) => {
    for (const task of tasks) {
      if (firstStep.get(task.taskserv) !== i) continue;
      for (const dep of transitiveRequires(task.taskserv, taskservs)) {
        const depStep = firstStep.get(dep);
        // Same step is a parallel group: reported by the check below.
        if (depStep !== undefined && depStep > i) {
          out.push(problem(wf.file, task.key, `'${task.taskserv}' requires '${dep}', which runs later`));
        }
      }
    }
  });

  // Tasks of one parallel group must be independent of each other.
  for (const tasks of steps) {
    for (const a of tasks) {
      const deps = transitiveRequires(a.taskserv, taskservs);
      for (const b of tasks) {
        if (a !== b && deps.has(b.taskserv)) {
          out.push(
            problem(
              wf.file,
              a.key,
              `parallel group holds '${a.taskserv}' and its dependency '${b.taskserv}'`,
            ),
          );
        }
      }
    }
  }
  return dedupe(out);
}

function dedupe(problems: DeployProblem[]): DeployProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const k = `${p.file}|${p.key}|${p.problem}`;
    return seen.has(k) ? false : (seen.add(k), true);
  });
}
