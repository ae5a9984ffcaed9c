/**
 * The assigner's "no eligible agent" path: wait with backoff while the task is younger than `unassignableAfterMs`
 * (measured from when it entered the stream, the same for every replica) or while some live agent able to take it
 * is only full; then give it up: publish vapora.tasks.unassignable and move the record to `unassignable`.
 */
import type { JetStreamClient, JsMsg } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import type { Outcome } from '../bus/outcome.js';
import { ack, backoffMs, retry } from '../bus/outcome.js';
import { Subjects } from '../bus/subjects.js';
import type { Ineligibility, TaskArrived, Unassignable } from '../domain/index.js';
import { decide } from '../domain/index.js';
import type { WorkerMetrics } from './metrics.js';
import type { StoredTaskState, TaskStateService } from './task-state-service.js';

interface GiveUpDeps {
  js: JetStreamClient;
  tasks: TaskStateService;
  metrics: WorkerMetrics;
  unassignableAfterMs: number;
}

/** Longest pause between two looks for an eligible agent. */
const MAX_WAIT_RETRY_MS = 5_000;

export function createGiveUp(
  deps: GiveUpDeps,
  clock: () => Date,
  settleDecided: (current: StoredTaskState | null, log: Logger) => Promise<Outcome>,
) {
  /**
   * Gives the task up now: decide before publishing (a task decided meanwhile is not announced), publish before
   * writing (a failed publish is retried by the redelivery, which still finds the task undecided).
   */
  async function abandon(
    msg: JsMsg,
    task: TaskArrived,
    taskType: string,
    reason: string,
    known: StoredTaskState | null,
    log: Logger,
  ): Promise<Outcome> {
    const now = clock();
    const seen = new Date(Math.floor(msg.info.timestampNanos / 1e6));
    const current = known ?? (await deps.tasks.get(task.taskId));
    const command = { type: 'give-up' as const, taskId: task.taskId, reason, firstSeenAt: seen, at: now };
    if (!decide(current?.record ?? null, command).ok) return settleDecided(current, log);
    const event: Unassignable = {
      taskId: task.taskId,
      reason,
      taskType,
      firstSeenAt: current?.record.firstSeenAt ?? seen.toISOString(),
      givenUpAt: now.toISOString(),
      task,
    };
    await deps.js.publish(Subjects.tasksUnassignable, JSON.stringify(event), {
      msgID: `unassignable-${task.taskId}`,
    });
    const written = await deps.tasks.execute(task.taskId, command, current);
    if (!written.decision.ok) return settleDecided(written.state, log);
    deps.metrics.unassignable.inc();
    log.warn({ reason }, 'unassignable');
    return ack();
  }

  async function noEligibleAgent(
    msg: JsMsg,
    task: TaskArrived,
    taskType: string,
    rejected: readonly Ineligibility[],
    known: StoredTaskState | null,
    log: Logger,
  ): Promise<Outcome> {
    const now = clock();
    const seen = new Date(Math.floor(msg.info.timestampNanos / 1e6));
    const why = describeRejections(rejected);
    // An agent able to take the task but full is backpressure: the task waits for a slot however long that takes
    // (a backlog, or a capacity mirror catching up after an outage). Only a task no live agent could take is
    // given up.
    const someoneBusy = rejected.some((r) => r.busy === true);
    if (someoneBusy || now.getTime() - seen.getTime() < deps.unassignableAfterMs) {
      return retry(Math.min(MAX_WAIT_RETRY_MS, backoffMs(msg.info.deliveryCount)), why);
    }
    const reason = `${why}; gave up after ${Math.round(deps.unassignableAfterMs / 1000)}s`;
    return abandon(msg, task, taskType, reason, known, log);
  }

  return { noEligibleAgent, abandon };
}

function describeRejections(rejected: readonly Ineligibility[]): string {
  if (rejected.length === 0) return 'no agent is registered';
  const listed = rejected
    .slice(0, 10)
    .map((r) => `${r.agentId} (${r.why})`)
    .join(', ');
  return `no eligible agent among ${rejected.length}: ${listed}`;
}
