// Taskserv definitions: required keys, and a `requires` graph that names real taskservs and has no cycle.
import { problem, type DeployProblem } from './problem.js';
import { at, isObj, str, strings } from './values.js';

export interface Taskserv {
  /** Id used by workflows and `requires`: the file name without `.toml`. */
  id: string;
  file: string;
  data: Record<string, unknown>;
}

/** Types that run pods, and therefore need an image and a replica count. */
const WORKLOAD_TYPES = new Set(['deployment', 'statefulset']);
const SERVICE_TYPES = new Set(['namespace', ...WORKLOAD_TYPES]);

export function requiresOf(t: Taskserv): string[] {
  return strings(t.data, 'dependencies.requires');
}

export function checkTaskservKeys(t: Taskserv): DeployProblem[] {
  const out: DeployProblem[] = [];
  const need = (key: string, kind: 'string' | 'number' | 'array' | 'table'): void => {
    const v = at(t.data, key);
    const ok =
      kind === 'array' ? Array.isArray(v) : kind === 'table' ? isObj(v) : typeof v === kind && v !== '';
    if (!ok)
      out.push(problem(t.file, key, v === undefined ? 'required key is missing' : `must be a ${kind}`));
  };
  need('service.name', 'string');
  need('service.type', 'string');
  need('service.namespace', 'string');
  need('service.actions', 'array');
  need('health', 'table');
  need('dependencies.requires', 'array');
  const type = str(t.data, 'service.type');
  if (type !== undefined && !SERVICE_TYPES.has(type)) {
    out.push(problem(t.file, 'service.type', `unknown type '${type}' (${[...SERVICE_TYPES].join(', ')})`));
  }
  if (type !== undefined && WORKLOAD_TYPES.has(type)) {
    need('deployment.image', 'string');
    need('deployment.replicas', 'number');
  }
  return out;
}

/** `requires` entries must name taskservs; the graph must be acyclic. */
export function checkRequires(taskservs: readonly Taskserv[]): DeployProblem[] {
  const byId = new Map(taskservs.map((t) => [t.id, t]));
  const out: DeployProblem[] = [];
  for (const t of taskservs) {
    for (const dep of requiresOf(t)) {
      if (!byId.has(dep)) out.push(problem(t.file, 'dependencies.requires', `unknown taskserv '${dep}'`));
      if (dep === t.id)
        out.push(problem(t.file, 'dependencies.requires', 'a taskserv cannot require itself'));
    }
  }
  // Reported on every member, so each file in the loop points at the others.
  for (const cycle of findCycles(taskservs)) {
    for (const id of new Set(cycle)) {
      const t = byId.get(id);
      if (t) out.push(problem(t.file, 'dependencies.requires', `dependency cycle: ${cycle.join(' -> ')}`));
    }
  }
  return out;
}

/** Each cycle once, as a closed path (a -> b -> a). */
export function findCycles(taskservs: readonly Taskserv[]): string[][] {
  const graph = new Map(taskservs.map((t) => [t.id, requiresOf(t).filter((d) => d !== t.id)]));
  const state = new Map<string, 'visiting' | 'done'>();
  const cycles: string[][] = [];
  const visit = (id: string, pathSoFar: string[]): void => {
    state.set(id, 'visiting');
    for (const dep of graph.get(id) ?? []) {
      if (!graph.has(dep)) continue;
      if (state.get(dep) === 'visiting') cycles.push([...pathSoFar.slice(pathSoFar.indexOf(dep)), id, dep]);
      else if (!state.has(dep)) visit(dep, [...pathSoFar, id]);
    }
    state.set(id, 'done');
  };
  for (const id of graph.keys()) if (!state.has(id)) visit(id, []);
  return cycles;
}

/** All transitive dependencies of a taskserv (cycle-safe). */
export function transitiveRequires(id: string, taskservs: readonly Taskserv[]): Set<string> {
  const graph = new Map(taskservs.map((t) => [t.id, requiresOf(t)]));
  const seen = new Set<string>();
  const stack = [...(graph.get(id) ?? [])];
  while (stack.length > 0) {
    const next = stack.pop() as string;
    if (seen.has(next)) continue;
    seen.add(next);
    stack.push(...(graph.get(next) ?? []));
  }
  seen.delete(id);
  return seen;
}
