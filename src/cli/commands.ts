/** The `vapora-learning` commands other than worker and demo: small, read-mostly tools for operators. */
import { randomUUID } from 'node:crypto';
import { headers } from '@nats-io/transport-node';
import { applyTopology, loadTopology } from '../bus/topology.js';
import { Buckets, Subjects, parseProfileKey, profileKey } from '../bus/subjects.js';
import type {
  AgentRegistration,
  CapacityRecord,
  ProfileRecord,
  TaskArrived,
  TaskStateRecord,
} from '../domain/index.js';
import { TaskArrivedSchema, decodeValue, expertiseFromState, inFlightCount } from '../domain/index.js';
import { rebuildCachedProfile } from '../worker/profile-rebuild.js';
import { loadEnv } from '../config/config.js';
import { UsageError } from './command.js';
import { openBucket, openKg, openNats, readAll } from './context.js';
import { barChart, percent, progressBar, table } from './render.js';

type Out = (line: string) => void;

export async function streamsApply(out: Out): Promise<void> {
  const replicas = loadEnv(['STREAM_REPLICAS']).STREAM_REPLICAS;
  const ctx = await openNats('vapora-learning-cli');
  try {
    const reports = await applyTopology(ctx.nc, await loadTopology(), { replicas });
    out(
      table(
        ['kind', 'name', 'action'],
        reports.map((r) => [r.kind, r.name, r.action]),
      ),
    );
    for (const r of reports) if (r.changes.length > 0) out(`${r.kind} ${r.name}: ${r.changes.join(', ')}`);
  } finally {
    await ctx.close();
  }
}

export interface PublishTaskArgs {
  title: string;
  description?: string;
  type?: string;
  role?: string;
  candidates?: string[];
  id?: string;
}

export async function tasksPublish(args: PublishTaskArgs, out: Out): Promise<void> {
  const task: TaskArrived = {
    taskId: args.id ?? randomUUID(),
    title: args.title,
    ...(args.description ? { description: args.description } : {}),
    ...(args.type ? { taskType: args.type } : {}),
    ...(args.role ? { requiredRole: args.role } : {}),
    ...(args.candidates ? { candidates: args.candidates } : {}),
  };
  const checked = decodeValue(TaskArrivedSchema, task);
  if (!checked.ok) throw new UsageError(`invalid task: ${checked.reason}`);
  const ctx = await openNats('vapora-learning-cli', '_INBOX.producer');
  try {
    const h = headers();
    h.set('Nats-Msg-Id', task.taskId);
    const ack = await ctx.js.publish(Subjects.taskArrived, JSON.stringify(task), { headers: h });
    out(
      `published task ${task.taskId} (stream ${ack.stream} seq ${ack.seq}${ack.duplicate ? ', duplicate ignored' : ''})`,
    );
  } finally {
    await ctx.close();
  }
}

export async function agentsList(out: Out): Promise<void> {
  const ctx = await openNats('vapora-learning-cli');
  try {
    const agents = await readAll<AgentRegistration>(await openBucket(ctx, Buckets.agents));
    const capacity = await readAll<CapacityRecord>(await openBucket(ctx, Buckets.capacity));
    if (agents.size === 0) {
      out('no agents registered (agents register themselves through the SDK: startAgent)');
      return;
    }
    const now = Date.now();
    out(
      table(
        ['agent', 'role', 'task types', 'in flight', 'max', 'last heartbeat'],
        [...agents.values()].map((a) => [
          a.agentId,
          a.role,
          a.taskTypes?.join(',') ?? 'any',
          inFlightCount(capacity.get(a.agentId)),
          a.maxConcurrent,
          `${Math.round((now - Date.parse(a.heartbeatAt)) / 1000)}s ago`,
        ]),
      ),
    );
  } finally {
    await ctx.close();
  }
}

export async function profilesShow(agentId: string | undefined, out: Out): Promise<void> {
  const ctx = await openNats('vapora-learning-cli');
  try {
    const all = await readAll<ProfileRecord>(await openBucket(ctx, Buckets.profiles));
    const now = new Date();
    const rows = [...all.entries()]
      .filter(([key]) => agentId === undefined || parseProfileKey(key)?.agentId === agentId)
      .map(([, record]) => {
        const e = expertiseFromState(record.state, now);
        return [
          record.agentId,
          e.taskType,
          e.totalExecutions,
          percent(e.successRate),
          percent(e.recentSuccessRate),
          e.confidence.toFixed(2),
          Math.round(e.avgDurationMs),
          e.trend,
        ];
      });
    if (rows.length === 0) {
      out(
        agentId
          ? `no profiles for agent ${agentId}`
          : 'no profiles yet (they appear after the first results)',
      );
      return;
    }
    out(
      table(['agent', 'task type', 'executions', 'success', 'recent', 'confidence', 'avg ms', 'trend'], rows),
    );
  } finally {
    await ctx.close();
  }
}

export async function profilesRebuild(out: Out, isTty: boolean): Promise<void> {
  const ctx = await openNats('vapora-learning-cli');
  let kg: Awaited<ReturnType<typeof openKg>> | undefined;
  try {
    const kv = await openBucket(ctx, Buckets.profiles);
    kg = await openKg(); // after NATS and the bucket: a failure there must not leave the embedded store open
    const keys = await kg.listProfileKeys();
    const now = new Date();
    let done = 0;
    for (const { agentId, taskType } of keys) {
      await rebuildCachedProfile(kv, kg, agentId, taskType, now);
      done += 1;
      if (isTty)
        process.stdout.write(
          `\r${progressBar(done, keys.length)} ${profileKey(agentId, taskType).padEnd(40)}`,
        );
    }
    if (isTty) process.stdout.write('\n');
    out(`rebuilt ${done} profile(s) from the knowledge graph`);
  } finally {
    await kg?.close();
    await ctx.close();
  }
}

export async function curve(agentId: string, taskType: string, out: Out): Promise<void> {
  const ctx = await openNats('vapora-learning-cli');
  try {
    const kv = await openBucket(ctx, Buckets.profiles);
    const entry = await kv.get(profileKey(agentId, taskType));
    if (!entry || entry.operation !== 'PUT') {
      out(`no profile for ${agentId} / ${taskType} (see 'vapora-learning profiles show')`);
      return;
    }
    out(renderCurve(entry.json<ProfileRecord>(), new Date()));
  } finally {
    await ctx.close();
  }
}

export function renderCurve(record: ProfileRecord, now: Date): string {
  const e = expertiseFromState(record.state, now);
  if (e.learningCurve.length === 0)
    return `${record.agentId} / ${e.taskType}: no executions in the last 30 days`;
  return [
    `Learning curve of ${record.agentId} on ${e.taskType} (daily success rate, last 30 days; trend ${e.trend})`,
    barChart(e.learningCurve.map((p) => ({ label: p.day, value: p.successRate, note: `n=${p.executions}` }))),
  ].join('\n');
}

export async function tasksShow(taskId: string, out: Out): Promise<boolean> {
  const ctx = await openNats('vapora-learning-cli');
  try {
    const entry = await (await openBucket(ctx, Buckets.tasks)).get(taskId);
    if (!entry || entry.operation !== 'PUT') {
      out(`no state for task ${taskId} (never seen, or older than the bucket's 7-day history)`);
      return false;
    }
    const record = entry.json<TaskStateRecord>();
    out(
      `task ${record.taskId}: ${record.status}${record.agentId ? ` (agent ${record.agentId}, attempt ${record.attempt})` : ''}`,
    );
    out(`first seen ${record.firstSeenAt}, last change ${record.updatedAt}`);
    if (record.assignment) out(`decision: ${record.assignment.reasoning}`);
    out('');
    out(
      table(
        ['time', 'status', 'agent', 'note'],
        record.history.map((h) => [h.at, h.status, h.agentId ?? '', h.note ?? '']),
      ),
    );
    return true;
  } finally {
    await ctx.close();
  }
}
