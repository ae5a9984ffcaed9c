/**
 * Recency weight of an execution `ageDays` old: the last 7 days weigh 3× more, and everything decays
 * exponentially on a 7-day scale: 3·e^(−age/7) when age < 7, e^(−age/7) otherwise. Negative ages (clock skew)
 * count as 0. Note the step at exactly 7 days, where the weight drops from 3/e to 1/e: this is the seed's rule.
 */
export const RECENCY_BOOST = 3;
export const RECENCY_BOOST_DAYS = 7;
export const RECENCY_SCALE_DAYS = 7;

export function recencyWeight(ageDays: number): number {
  const age = Number.isNaN(ageDays) ? 0 : Math.max(0, ageDays);
  const decay = Math.exp(-age / RECENCY_SCALE_DAYS);
  return age < RECENCY_BOOST_DAYS ? RECENCY_BOOST * decay : decay;
}
