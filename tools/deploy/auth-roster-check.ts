// One roster drives three things: the worker's AGENTS (role and capacity ceiling), the NATS users in auth.conf and
// the agent Deployments. auth.conf is generated (`vapora-learning auth render`); a hand edit, or a roster changed in
// one place only, would let an agent hold permissions or capacity the operator never configured.
import { agentUser, renderAuthConf } from '../../src/auth/render-auth.js';
import type { AgentSpec } from '../../src/domain/agent-roster.js';
import { parseAgentSpecs } from '../../src/domain/agent-roster.js';
import { firstContainer, generatorLiterals, type K8sDoc } from './k8s-lookup.js';
import type { KclSchema } from './kcl-check.js';
import { kustomizationDir, type Kustomization } from './kustomization-refs.js';
import { AUTH_CONF } from './jetstream-limits-check.js';
import { problem, type DeployProblem } from './problem.js';
import type { Taskserv } from './taskserv-check.js';
import { arr, at, isObj, str } from './values.js';

const WORKER_CONFIG = 'vapora-worker-config';
const WORKER_TASKSERV = 'learning-worker';

export interface AuthRosterInput {
  kustomizations: readonly Kustomization[];
  /** Text of k8s/base/nats/auth.conf, when present. */
  authConf?: string;
  /** Non-patch resource documents under k8s/ (agent Deployments are picked out here). */
  resources: readonly K8sDoc[];
  taskservs: readonly Taskserv[];
  kcl: readonly { file: string; schemas: readonly KclSchema[] }[];
}

export function checkAuthRoster(input: AuthRosterInput): DeployProblem[] {
  const base = input.kustomizations.find((k) => kustomizationDir(k) === 'k8s/base');
  if (!base) return [];
  const text = generatorLiterals([base.data], WORKER_CONFIG).get('AGENTS');
  const where = `configMapGenerator ${WORKER_CONFIG} AGENTS`;
  if (text === undefined)
    return [problem(base.file, where, 'not set: the manifests must configure the agent roster')];
  let roster: AgentSpec[];
  try {
    roster = parseAgentSpecs(text);
  } catch (err) {
    return [problem(base.file, where, (err as Error).message)];
  }
  const out: DeployProblem[] = [];

  // Every overlay that builds on base must leave the roster alone: auth.conf lives in base.
  for (const k of input.kustomizations) {
    if (k === base) continue;
    const got = generatorLiterals([base.data, k.data], WORKER_CONFIG).get('AGENTS');
    if (got !== undefined && got !== text)
      out.push(problem(k.file, where, `'${got}' differs from base '${text}' (auth.conf is rendered once)`));
  }

  if (input.authConf !== undefined) {
    let expected: string | undefined;
    try {
      expected = renderAuthConf(roster);
    } catch (err) {
      out.push(problem(base.file, where, (err as Error).message));
    }
    if (expected !== undefined && expected !== input.authConf) {
      out.push(
        problem(
          AUTH_CONF,
          firstDifference(expected, input.authConf),
          `differs from what \`vapora-learning auth render --agents ${text}\` renders for the roster of ${base.file}; ` +
            `render it again with --out ${AUTH_CONF}`,
        ),
      );
    }
  }

  out.push(...checkKclRoster(input, text), ...checkAgentDeployments(input.resources, roster));
  return out;
}

function firstDifference(expected: string, actual: string): string {
  const want = expected.split('\n');
  const got = actual.split('\n');
  for (let i = 0; i < Math.max(want.length, got.length); i++) {
    if (want[i] !== got[i]) return `line ${i + 1}`;
  }
  return 'line 1';
}

/** The Provisioning workspace sets the worker's env too: it must carry the same roster. */
function checkKclRoster(input: AuthRosterInput, text: string): DeployProblem[] {
  const worker = input.taskservs.find((t) => t.id === WORKER_TASKSERV);
  const name = worker ? str(worker.data, 'service.name') : undefined;
  if (name === undefined) return [];
  const out: DeployProblem[] = [];
  for (const { file, schemas } of input.kcl) {
    for (const s of schemas) {
      if (s.fields.find((f) => f.name === 'name')?.default?.trim() !== JSON.stringify(name)) continue;
      const env = s.fields.find((f) => f.name === 'env')?.default ?? '';
      const m = /"AGENTS"\s*:\s*"([^"]*)"/.exec(env);
      if (m?.[1] !== text)
        out.push(
          problem(
            file,
            `${s.name}.env.AGENTS`,
            `${m ? `'${m[1]}'` : 'not set'}; the Kubernetes worker config says '${text}'`,
          ),
        );
    }
  }
  return out;
}

/** Agent Deployments (component agent): a listed id, its own NATS user, a ceiling within the roster's. */
function checkAgentDeployments(resources: readonly K8sDoc[], roster: readonly AgentSpec[]): DeployProblem[] {
  const out: DeployProblem[] = [];
  for (const { file, doc } of resources) {
    const labels = at(doc, 'spec.template.metadata.labels');
    if (doc.kind !== 'Deployment' || !isObj(labels) || labels['app.kubernetes.io/component'] !== 'agent')
      continue;
    const env = new Map<string, string>();
    for (const e of arr(firstContainer(doc), 'env')) {
      const name = str(e, 'name');
      const value = str(e, 'value');
      if (name !== undefined && value !== undefined) env.set(name, value);
    }
    const id = env.get('AGENT_ID');
    const spec = roster.find((a) => a.agentId === id);
    const key = `Deployment/${str(doc, 'metadata.name') ?? '?'}`;
    if (id === undefined || spec === undefined) {
      out.push(problem(file, `${key} AGENT_ID`, `'${id ?? ''}' is not in the roster (AGENTS)`));
      continue;
    }
    if (env.get('NATS_USER') !== agentUser(id))
      out.push(problem(file, `${key} NATS_USER`, `must be ${agentUser(id)}`));
    const max = Number(env.get('AGENT_MAX_CONCURRENT'));
    if (env.has('AGENT_MAX_CONCURRENT') && !(max <= spec.maxConcurrent))
      out.push(
        problem(
          file,
          `${key} AGENT_MAX_CONCURRENT`,
          `${env.get('AGENT_MAX_CONCURRENT')} exceeds the roster's ${spec.maxConcurrent}`,
        ),
      );
  }
  return out;
}
