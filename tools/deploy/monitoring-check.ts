// The optional monitoring component: PrometheusRule structure (no CRD schema ships with kubernetes-models) and
// Grafana dashboards, and that every vapora_* metric they query is one the worker exports.
import { createMetrics } from '../../src/worker/metrics.js';
import { problem, type DeployProblem } from './problem.js';
import { arr, isObj, str } from './values.js';

export const PROMETHEUS_RULE_API = 'monitoring.coreos.com/v1';

const DURATION = /^(\d+(ms|s|m|h|d|w|y))+$/;
const SEVERITIES = ['critical', 'warning', 'info'];

/** Series names the worker exports, with the `_bucket`/`_sum`/`_count` series of its histograms. */
export async function workerMetricNames(): Promise<Set<string>> {
  const metrics = await createMetrics().registry.getMetricsAsJSON();
  const names = new Set<string>();
  for (const m of metrics) {
    names.add(m.name);
    if (String(m.type) === 'histogram')
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${m.name}${suffix}`);
  }
  return names;
}

/** Every `vapora_…` series named in a PromQL expression. */
export function vaporaMetricsIn(expr: string): string[] {
  return [...expr.matchAll(/\bvapora_[a-zA-Z0-9_]+/g)].map((m) => m[0]);
}

function checkExpr(file: string, key: string, expr: unknown, known: ReadonlySet<string>): DeployProblem[] {
  if (typeof expr !== 'string' || expr.trim() === '')
    return [problem(file, key, 'expr must be a non-empty string')];
  const out: DeployProblem[] = [];
  let depth = 0;
  for (const ch of expr) {
    depth += ch === '(' ? 1 : ch === ')' ? -1 : 0;
    if (depth < 0) break;
  }
  if (depth !== 0) out.push(problem(file, key, 'unbalanced parentheses'));
  for (const name of vaporaMetricsIn(expr))
    if (!known.has(name)) out.push(problem(file, key, `${name} is not a metric the worker exports`));
  return out;
}

export function checkPrometheusRule(file: string, doc: unknown, known: ReadonlySet<string>): DeployProblem[] {
  const id = `PrometheusRule/${str(doc, 'metadata.name') ?? '?'}`;
  const out: DeployProblem[] = [];
  if (str(doc, 'metadata.name') === undefined) out.push(problem(file, id, 'metadata.name is required'));
  const groups = arr(doc, 'spec.groups');
  if (groups.length === 0) return [...out, problem(file, `${id} spec.groups`, 'needs at least one group')];
  const alerts = new Set<string>();
  groups.forEach((group, g) => {
    const gk = `${id} spec.groups[${g}]`;
    if (str(group, 'name') === undefined) out.push(problem(file, `${gk}.name`, 'required'));
    const rules = arr(group, 'rules');
    if (rules.length === 0) out.push(problem(file, `${gk}.rules`, 'needs at least one rule'));
    rules.forEach((rule, r) => {
      const rk = `${gk}.rules[${r}]`;
      const alert = str(rule, 'alert');
      const record = str(rule, 'record');
      if ((alert === undefined) === (record === undefined)) {
        out.push(problem(file, rk, 'needs exactly one of alert or record'));
      }
      out.push(...checkExpr(file, `${rk}.expr`, isObj(rule) ? rule.expr : undefined, known));
      const forValue = isObj(rule) ? rule.for : undefined;
      if (forValue !== undefined && (typeof forValue !== 'string' || !DURATION.test(forValue)))
        out.push(problem(file, `${rk}.for`, `not a Prometheus duration: ${JSON.stringify(forValue)}`));
      if (alert === undefined) return;
      if (alerts.has(alert)) out.push(problem(file, rk, `alert ${alert} is defined twice`));
      alerts.add(alert);
      const severity = str(rule, 'labels.severity');
      if (severity === undefined || !SEVERITIES.includes(severity))
        out.push(problem(file, `${rk}.labels.severity`, `must be one of ${SEVERITIES.join(', ')}`));
      if (str(rule, 'annotations.summary') === undefined)
        out.push(problem(file, `${rk}.annotations.summary`, 'required (what the page says)'));
    });
  });
  return out;
}

/** A Grafana dashboard JSON (a file under k8s/ with `panels`): ids, titles, queries and their metrics. */
export function checkGrafanaDashboard(
  file: string,
  text: string,
  known: ReadonlySet<string>,
): DeployProblem[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    return [problem(file, 'json', `does not parse: ${err instanceof Error ? err.message : String(err)}`)];
  }
  const out: DeployProblem[] = [];
  for (const key of ['title', 'uid'])
    if (str(data, key) === undefined) out.push(problem(file, key, 'required'));
  const panels = arr(data, 'panels');
  if (panels.length === 0) out.push(problem(file, 'panels', 'a dashboard needs panels'));
  const ids = new Set<unknown>();
  panels.forEach((panel, i) => {
    const pk = `panels[${i}]`;
    const id = isObj(panel) ? panel.id : undefined;
    if (typeof id !== 'number' || ids.has(id)) out.push(problem(file, `${pk}.id`, 'must be a unique number'));
    ids.add(id);
    if (str(panel, 'title') === undefined) out.push(problem(file, `${pk}.title`, 'required'));
    if (!isObj(isObj(panel) ? panel.gridPos : undefined))
      out.push(problem(file, `${pk}.gridPos`, 'required'));
    if (str(panel, 'type') === 'row') return;
    const targets = arr(panel, 'targets');
    if (targets.length === 0) out.push(problem(file, `${pk}.targets`, 'a panel needs a query'));
    targets.forEach((t, j) =>
      out.push(...checkExpr(file, `${pk}.targets[${j}].expr`, isObj(t) ? t.expr : undefined, known)),
    );
  });
  return out;
}
