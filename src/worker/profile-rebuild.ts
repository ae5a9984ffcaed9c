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
  const record = toProfileRecord(agentId, await rebuildExpertiseState(kg, agentId, taskType), now);
  const result = await casUpdate<ProfileRecord>(kv, profileKey(agentId, taskType), () => record, {
    ...(onConflict ? { onConflict } : {}),
  });
  return { ...result, record };
}
