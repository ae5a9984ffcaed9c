/**
 * What an operator must apply to add one agent, as text (no I/O): `vapora-learning agents add` prints it. The
 * roster is the single source: it renders the NATS users (auth.conf), sets the worker's AGENTS (role and capacity
 * ceiling) and names the agent's Secret and Deployment.
 */
import type { AgentSpec } from '../domain/agent-roster.js';
import {
  agentPasswordVariable,
  agentUser,
  checkRenderable,
  formatAgentSpecs,
  renderAuthConf,
} from './render-auth.js';

export interface OnboardingPlan {
  /** The roster after the addition (the worker's new AGENTS value). */
  roster: AgentSpec[];
  /** The complete k8s/base/nats/auth.conf for that roster. */
  authConf: string;
  /** The steps, with `authConf` referred to (not repeated). */
  steps: string;
}

/** Adds `agent` to `current`; an id already listed is an error (a role or ceiling change is an edit of AGENTS). */
export function planAgentAddition(current: readonly AgentSpec[], agent: AgentSpec): OnboardingPlan {
  if (current.some((a) => a.agentId === agent.agentId)) {
    throw new RangeError(`agent '${agent.agentId}' is already in the roster`);
  }
  const roster = [...current, agent];
  checkRenderable(roster);
  const id = agent.agentId;
  const variable = agentPasswordVariable(id);
  const agents = formatAgentSpecs(roster);
  const steps = `Adding agent ${id} (role ${agent.role}, at most ${agent.maxConcurrent} in flight).

1. NATS user ${agentUser(id)}: replace k8s/base/nats/auth.conf with the authorization above (or the --out file)
   (or: vapora-learning auth render --agents ${agents} --out k8s/base/nats/auth.conf).

2. Secrets: one new password, in two places.
     PASS=$(openssl rand -base64 32)
     kubectl -n vapora patch secret nats-auth --type merge -p "{\\"stringData\\":{\\"${variable}\\":\\"$PASS\\"}}"
     kubectl -n vapora create secret generic vapora-agent-${id}-nats --from-literal=NATS_PASS="$PASS"
   (k8s/secrets.example.yaml shows both.)

3. Worker roster: set AGENTS on every worker (the role and the capacity ceiling come from here; a heartbeat may
   only narrow them):
     AGENTS=${agents}
   in the vapora-worker-config literals of k8s/base/kustomization.yaml and in the env of
   provisioning/vapora-wrksp/kcl/worker.k. Then apply the platform:
     kubectl apply -k k8s/overlays/prod
   (the auth.conf hash rolls NATS in lame-duck mode; the workers restart with the new AGENTS and create the
   consumer agent-${id} on VAPORA_ASSIGNMENTS).

4. Agent Deployment: copy k8s/agents/deployment.yaml to a file of its own and set
     metadata.name vapora-agent-${id}, label app.kubernetes.io/instance ${id},
     AGENT_ID=${id}, AGENT_ROLE=${agent.role}, AGENT_MAX_CONCURRENT=${agent.maxConcurrent} (or less),
     AGENT_TASK_TYPES (what it can do), NATS_USER=${agentUser(id)},
     NATS_PASS from Secret vapora-agent-${id}-nats (key NATS_PASS);
   keep the label app.kubernetes.io/component: agent (the NetworkPolicy admits only that), list the file in
   k8s/agents/kustomization.yaml, and:
     kubectl apply -k k8s/agents

5. With Provisioning: add the agent to provisioning/vapora-wrksp/taskservs/agents.toml and kcl/agents.k.
   Check: npm run validate:deploy; vapora-learning agents list shows ${id} after its first heartbeat.
`;
  return { roster, authConf: renderAuthConf(roster), steps };
}
