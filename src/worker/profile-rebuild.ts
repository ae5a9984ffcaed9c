/** Rewrites one cached profile from the KG (used by the worker's cold start and `profiles rebuild`). */
import type { KV } from '@nats-io/kv';
import type { CasResult } from '../bus/kv-cas.js';
import { casUpdate } from '../bus/kv-cas.js';
import { profileKey } from '../bus/subjects.js';
import type { ProfileRecord } from '../domain/index.js';
import { toProfileRecord } from '../domain/index.js';
import type { KnowledgeGraph } from '../kg/knowledge-graph.js';
import { rebuildExpertiseState } from '../kg/rebuild.js';

export async function rebuildCachedProfile(
  kv: KV,
  kg: KnowledgeGraph,
  agentId: string,
  taskType: string,
  now: Date,
  onConflict?: () => void,
): Promise<CasResult<ProfileRecord> & { record: ProfileRecord }> {
  let record: ProfileRecord | undefined;
  // Read the KG inside the compare-and-swap: a result cached after the read moves the revision, so the rebuild
  // runs again and includes it instead of overwriting it.
  const result = await casUpdate<ProfileRecord>(
    kv,
    profileKey(agentId, taskType),
    async () => (record = toProfileRecord(agentId, await rebuildExpertiseState(kg, agentId, taskType), now)),
    { ...(onConflict ? { onConflict } : {}) },
  );
  return { ...result, record: record! };
}
