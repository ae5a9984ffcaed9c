// The optional monitoring component: its alerts and dashboard are checked structurally and against the metrics
// the worker really exports, both directly and through the whole validator on a broken copy of the tree.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import {
  checkGrafanaDashboard,
  checkPrometheusRule,
  vaporaMetricsIn,
  workerMetricNames,
} from '../../tools/deploy/monitoring-check.js';
import { parseYaml } from '../../tools/deploy/parse.js';
import { formatProblems } from '../../tools/deploy/problem.js';
import { validateDeploy } from '../../tools/deploy/validate-deploy.js';
import { copyDeployTree, removeTree, replaceIn, REPO_ROOT } from './helpers.js';

const DIR = 'k8s/components/monitoring';
const RULE = `${DIR}/prometheus-rule.yaml`;
const DASHBOARD = `${DIR}/grafana-dashboard.json`;

const read = (rel: string) => readFile(path.join(REPO_ROOT, rel), 'utf8');

async function shippedRule(): Promise<unknown> {
  const parsed = parseYaml(RULE, await read(RULE));
  if (!parsed.ok) throw new Error(formatProblems([parsed.problem]));
  return parsed.value[0];
}

describe('monitoring component', () => {
  it('ships the four alerts of the runbook, each with a severity and summary', async () => {
    const rule = (await shippedRule()) as { spec: { groups: { rules: { alert?: string }[] }[] } };
    const alerts = rule.spec.groups.flatMap((g) => g.rules.map((r) => r.alert));
    expect(alerts).toEqual(
      expect.arrayContaining([
        'VaporaConsumerLagGrowing',
        'VaporaDeadLettersRising',
        'VaporaNoAssignmentsWhileTasksArrive',
        'VaporaWorkerNotReady',
      ]),
    );
    expect(checkPrometheusRule(RULE, rule, await workerMetricNames())).toEqual([]);
  });

  it('the dashboard queries throughput, latency, lag, dead letters, reassignments and CAS retries', async () => {
    const text = await read(DASHBOARD);
    const known = await workerMetricNames();
    expect(checkGrafanaDashboard(DASHBOARD, text, known)).toEqual([]);
    const used = new Set(vaporaMetricsIn(text));
    for (const metric of [
      'vapora_assignments_total',
      'vapora_results_total',
      'vapora_decision_seconds_bucket',
      'vapora_dead_letters_total',
      'vapora_reassignments_total',
      'vapora_cas_retries_total',
    ])
      expect(used).toContain(metric);
    expect(text).toContain('jetstream_consumer_num_pending');
  });

  it('flags a rule without severity, a bad duration and a metric the worker does not export', async () => {
    const known = await workerMetricNames();
    const rule = {
      metadata: { name: 'r' },
      spec: {
        groups: [
          {
            name: 'g',
            rules: [{ alert: 'A', expr: 'sum(vapora_nope_total > 1', for: '5 minutes', annotations: {} }],
          },
        ],
      },
    };
    expect(formatProblems(checkPrometheusRule('f.yaml', rule, known))).toBe(
      [
        'f.yaml: PrometheusRule/r spec.groups[0].rules[0].expr: unbalanced parentheses',
        'f.yaml: PrometheusRule/r spec.groups[0].rules[0].expr: vapora_nope_total is not a metric the worker exports',
        'f.yaml: PrometheusRule/r spec.groups[0].rules[0].for: not a Prometheus duration: "5 minutes"',
        'f.yaml: PrometheusRule/r spec.groups[0].rules[0].labels.severity: must be one of critical, warning, info',
        'f.yaml: PrometheusRule/r spec.groups[0].rules[0].annotations.summary: required (what the page says)',
      ].join('\n'),
    );
  });

  it('the validator reports a renamed metric in the shipped dashboard and rule, by file and key', async () => {
    const root = await copyDeployTree();
    try {
      await replaceIn(root, DASHBOARD, /vapora_cas_retries_total/g, 'vapora_cas_retry_count');
      await replaceIn(root, RULE, 'vapora_dead_letters_total', 'vapora_deadletters_total');
      const report = formatProblems(await validateDeploy(root, { kubectl: false }));
      expect(report).toMatch(
        new RegExp(
          `^${DASHBOARD}: panels\\[\\d+\\]\\.targets\\[0\\]\\.expr: vapora_cas_retry_count is not a metric`,
          'm',
        ),
      );
      expect(report).toMatch(
        new RegExp(
          `^${RULE}: PrometheusRule/vapora-learning .*expr: vapora_deadletters_total is not a metric`,
          'm',
        ),
      );
    } finally {
      await removeTree(root);
    }
  }, 60_000);
});
