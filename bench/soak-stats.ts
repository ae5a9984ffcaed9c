/** Pure helpers of the soak test (bench/soak.ts): durations, Prometheus text, histogram quantiles, checks. */

/** `90s`, `10m`, `1h`, `1500ms` or a bare number of milliseconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) throw new Error(`not a duration: ${JSON.stringify(text)} (e.g. 90s, 10m, 600000)`);
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[match[2] ?? 'ms'] ?? 1;
  return Math.round(Number(match[1]) * unit);
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text exposition format (no timestamps, as prom-client writes it). */
export function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      if (key !== undefined && value !== undefined) labels[key] = value;
    }
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** Sum of every series of `name` (all label values). */
export function total(samples: readonly Sample[], name: string): number {
  return samples.filter((s) => s.name === name).reduce((sum, s) => sum + s.value, 0);
}

/** Cumulative bucket counts of histogram `name`, by upper bound (Infinity for +Inf), ascending. */
export function histogramBuckets(samples: readonly Sample[], name: string): Map<number, number> {
  const buckets = samples
    .filter((s) => s.name === `${name}_bucket` && s.labels.le !== undefined)
    .map((s) => [s.labels.le === '+Inf' ? Infinity : Number(s.labels.le), s.value] as const)
    .sort((a, b) => a[0] - b[0]);
  return new Map(buckets);
}

/**
 * Quantile q of the observations made between two scrapes of one histogram, interpolating linearly inside the
 * bucket as Prometheus' histogram_quantile does. NaN when nothing was observed in between.
 */
export function quantileBetween(
  before: ReadonlyMap<number, number>,
  after: ReadonlyMap<number, number>,
  q: number,
): number {
  const deltas = [...after].map(([le, count]) => [le, count - (before.get(le) ?? 0)] as const);
  const count = deltas.at(-1)?.[1] ?? 0;
  if (count <= 0) return NaN;
  const rank = q * count;
  let lower = 0;
  let below = 0;
  for (const [le, cumulative] of deltas) {
    if (cumulative >= rank) {
      if (le === Infinity) return lower; // beyond the largest finite bound: report that bound
      const inBucket = cumulative - below;
      return inBucket > 0 ? lower + ((le - lower) * (rank - below)) / inBucket : le;
    }
    lower = le;
    below = cumulative;
  }
  return lower;
}

/** Growth of `final` over `baseline`, in percent. */
export const growthPercent = (baseline: number, final: number): number =>
  ((final - baseline) / baseline) * 100;

export const mean = (values: readonly number[]): number =>
  values.length === 0 ? NaN : values.reduce((sum, v) => sum + v, 0) / values.length;

/** The demo's seeded PRNG, so runs draw the same agent skills. */
export { prng } from '../src/demo/simulation.js';
