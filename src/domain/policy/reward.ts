/**
 * The reward every learning policy optimises, defined once:
 *   reward = 0                      when the execution failed,
 *          = qualityScore (0..1)    when it succeeded and reported a quality score,
 *          = 1                      when it succeeded without one.
 * So a success counts in full unless the agent's own result says it was of lower quality; a failure never counts,
 * whatever quality it claims. Quality is clamped to [0, 1] (the result schema already bounds it).
 */
export interface RewardInput {
  success: boolean;
  qualityScore?: number;
}

export function rewardOf(outcome: RewardInput): number {
  if (!outcome.success) return 0;
  const quality = outcome.qualityScore;
  if (typeof quality !== 'number' || !Number.isFinite(quality)) return 1;
  return Math.min(1, Math.max(0, quality));
}
