/** Task assignment state in `vapora_tasks`: read, and compare-and-swap transitions. */
import type { KV } from '@nats-io/kv';
import { isCasConflict } from '../bus/errors.js';
import type { TaskStateRecord } from '../domain/index.js';

export interface StoredTaskState {
  record: TaskStateRecord;
  revision: number;
}

export class TaskStateService {
  constructor(private readonly kv: KV) {}

  async get(taskId: string): Promise<StoredTaskState | null> {
    const entry = await this.kv.get(taskId);
    if (!entry || entry.operation !== 'PUT') return null;
    return { record: entry.json<TaskStateRecord>(), revision: entry.revision };
  }

  /**
   * Writes `record` if the key is still at `revision` (0 or undefined: must not exist). Returns the new revision,
   * or null when another writer got there first.
   */
  async write(record: TaskStateRecord, revision?: number): Promise<number | null> {
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
