/** `auth render` and `agents add`: the NATS authorization and the onboarding steps, rendered from the roster. */
import { writeFile } from 'node:fs/promises';
import { planAgentAddition } from '../auth/agent-onboarding.js';
import { renderAuthConf } from '../auth/render-auth.js';
import type { AgentSpec } from '../domain/agent-roster.js';
import { parseAgentSpecs } from '../domain/agent-roster.js';
import { UsageError } from './command.js';

type Out = (line: string) => void;

/** A roster from an option or the AGENTS variable; a bad entry is a usage error naming it. */
export function rosterFrom(text: string | undefined, source: string): AgentSpec[] {
  try {
    return parseAgentSpecs(text ?? '');
  } catch (err) {
    throw new UsageError(`${source}: ${(err as Error).message}`);
  }
}

function usage<T>(render: () => T): T {
  try {
    return render();
  } catch (err) {
    if (err instanceof RangeError) throw new UsageError(err.message);
    throw err;
  }
}

export async function authRender(agents: string, outFile: string | undefined, out: Out): Promise<void> {
  const roster = rosterFrom(agents, '--agents');
  const text = usage(() => renderAuthConf(roster));
  if (outFile === undefined) {
    out(text.trimEnd());
    return;
  }
  await writeFile(outFile, text);
  out(`wrote ${outFile} (${roster.length} agent user${roster.length === 1 ? '' : 's'})`);
}

export async function agentsAdd(
  spec: string,
  current: { text: string | undefined; source: string },
  outFile: string | undefined,
  out: Out,
): Promise<void> {
  const [agent, ...more] = rosterFrom(spec, 'agent');
  if (agent === undefined || more.length > 0) throw new UsageError('agents add takes one id[:role[:max]]');
  const plan = usage(() => planAgentAddition(rosterFrom(current.text, current.source), agent));
  if (outFile === undefined) {
    out(`# --- k8s/base/nats/auth.conf (roster: ${current.source} + ${agent.agentId}) ---`);
    out(plan.authConf.trimEnd());
    out('# --- end of auth.conf ---');
  } else {
    await writeFile(outFile, plan.authConf);
    out(`wrote ${outFile}`);
  }
  out('');
  out(plan.steps.trimEnd());
}
