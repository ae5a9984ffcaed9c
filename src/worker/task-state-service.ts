/**
 * Task lifecycle records in `vapora_tasks`: read → decide (pure, src/domain/lifecycle) → evolve → compare-and-swap.
 * A lost compare-and-swap means the decision was made on a stale record: read again and decide again.
 */
import type { KV } from '@nats-io/kv';
import { isCasConflict } from '../bus/errors.js';
import { Buckets } from '../bus/subjects.js';
import { CasExhaustedError } from '../errors.js';
import type { Decision, TaskCommand, TaskStateRecord } from '../domain/index.js';
import { decide, fold } from '../domain/index.js';

export interface StoredTaskState {
  record: TaskStateRecord;
  revision: number;
}

export interface Executed {
  decision: Decision;
  /** The record after the decision (the current one when nothing changed or the command was refused). */
  state: StoredTaskState | null;
}

/** Compare-and-swap rounds before giving up on a record that keeps moving (each loss means real progress). */
const MAX_ROUNDS = 10;

export class TaskStateService {
  constructor(private readonly kv: KV) {}

  async get(taskId: string): Promise<StoredTaskState | null> {
    const entry = await this.kv.get(taskId);
    if (!entry || entry.operation !== 'PUT') return null;
    return { record: entry.json<TaskStateRecord>(), revision: entry.revision };
  }

  /**
   * Decides `command` on the task's record and writes what it changed. `known` is the record the caller already
   * holds (null: believed absent), which saves the first read; a stale belief costs one more round.
   */
  async execute(taskId: string, command: TaskCommand, known?: StoredTaskState | null): Promise<Executed> {
    let current = known === undefined ? await this.get(taskId) : known;
    for (let round = 0; round < MAX_ROUNDS; round += 1) {
      const decision = decide(current?.record ?? null, command);
      if (!decision.ok || decision.events.length === 0) return { decision, state: current };
      const record = fold(decision.events, current?.record ?? null)!;
      const revision = await this.write(record, current?.revision);
      if (revision !== null) return { decision, state: { record, revision } };
      current = await this.get(taskId);
    }
    // Still racing after this many rounds: a retryable error; the redelivery decides afresh.
    throw new CasExhaustedError(`${Buckets.tasks}.${taskId}`, MAX_ROUNDS);
  }

  /** Writes `record` if the key is still at `revision` (0 or undefined: must not exist); null when raced. */
  private async write(record: TaskStateRecord, revision?: number): Promise<number | null> {
    try {
      const data = JSON.stringify(record);
      return revision
        ? await this.kv.update(record.taskId, data, revision)
        : await this.kv.create(record.taskId, data);
    } catch (err) {
      if (isCasConflict(err)) return null;
      throw err;
    }
  }
}
