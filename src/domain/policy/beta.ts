/**
 * Beta posteriors: sampling with an injected uniform source, and the probability that each of several shifted
 * Beta variables is the largest — the propensity of Thompson sampling, computed rather than guessed.
 *
 * argmaxProbabilities integrates P(i wins) = ∫ f_i(θ) · Π_{j≠i} F_j(θ − d_i + d_j) dθ, where candidate j's score
 * is θ_j − d_j (d: the load and price penalties). The densities are discretised on GRID_CELLS equal cells of
 * [0, 1] (mass per cell from the log-density at the midpoint, renormalised), each CDF is piecewise linear between
 * cell edges. Two identical candidates get exactly 1/2 each; against a Monte Carlo reference of 10⁶ draws the
 * error stays within about 2·10⁻³ for posteriors with α + β ≤ 200 (a test checks 5·10⁻³ on random cases).
 */
export const GRID_CELLS = 128;

const MIDPOINTS = Array.from({ length: GRID_CELLS }, (_, g) => (g + 0.5) / GRID_CELLS);
const LN_X = Float64Array.from(MIDPOINTS, (x) => Math.log(x));
const LN_1MX = Float64Array.from(MIDPOINTS, (x) => Math.log(1 - x));
const LN_H = Math.log(1 / GRID_CELLS);
const LN_1M_HALF_H = Math.log(1 - 0.5 / GRID_CELLS);

export interface BetaParams {
  alpha: number;
  beta: number;
}

/** Standard normal by Box–Muller (one of the pair; simplicity over speed). */
function sampleNormal(random: () => number): number {
  let u = random();
  while (u <= Number.MIN_VALUE) u = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/** Gamma(shape, 1) by Marsaglia–Tsang; shapes below 1 via the boost Γ(k) = Γ(k+1)·U^(1/k). */
export function sampleGamma(shape: number, random: () => number): number {
  if (shape < 1) {
    let u = random();
    while (u <= Number.MIN_VALUE) u = random();
    return sampleGamma(shape + 1, random) * Math.pow(u, 1 / shape);
  }
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = sampleNormal(random);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = random();
    if (u < 1 - 0.0331 * x * x * x * x) return d * v;
    if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

export function sampleBeta({ alpha, beta }: BetaParams, random: () => number): number {
  const x = sampleGamma(alpha, random);
  const y = sampleGamma(beta, random);
  const sum = x + y;
  return sum > 0 ? x / sum : alpha >= beta ? 1 : 0;
}

export function betaMean({ alpha, beta }: BetaParams): number {
  return alpha / (alpha + beta);
}

/**
 * Scratch buffers reused across calls (the functions are synchronous, so no call can observe another's): a
 * decision over many candidates would otherwise allocate two arrays per candidate.
 */
const scratch: { masses: Float64Array; cdf: Float64Array }[] = [];

function buffersFor(count: number): { masses: Float64Array; cdf: Float64Array }[] {
  while (scratch.length < count)
    scratch.push({ masses: new Float64Array(GRID_CELLS), cdf: new Float64Array(GRID_CELLS + 1) });
  return scratch;
}

/** Fills `masses` (per cell, summing to 1) and `cdf` (at the GRID_CELLS + 1 edges). */
function discretise({ alpha, beta }: BetaParams, masses: Float64Array, cdf: Float64Array): void {
  let max = -Infinity;
  for (let g = 0; g < GRID_CELLS; g += 1) {
    let value: number;
    // The end cells integrate the density's power-law end exactly: with α or β below 1 (a wide prior whose mean is
    // near 0 or 1) the density is unbounded there and its midpoint value would misstate the cell's mass.
    if (g === 0) value = alpha * LN_H - Math.log(alpha) - LN_H + (beta - 1) * LN_1M_HALF_H;
    else if (g === GRID_CELLS - 1) value = beta * LN_H - Math.log(beta) - LN_H + (alpha - 1) * LN_1M_HALF_H;
    else value = (alpha - 1) * LN_X[g]! + (beta - 1) * LN_1MX[g]!;
    masses[g] = value;
    if (value > max) max = value;
  }
  let total = 0;
  for (let g = 0; g < GRID_CELLS; g += 1) {
    const mass = Math.exp(masses[g]! - max);
    masses[g] = mass;
    total += mass;
  }
  cdf[0] = 0;
  for (let g = 0; g < GRID_CELLS; g += 1) {
    const mass = masses[g]! / total;
    masses[g] = mass;
    cdf[g + 1] = cdf[g]! + mass;
  }
  cdf[GRID_CELLS] = 1;
}

function cdfAt(cdf: Float64Array, x: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const position = x * GRID_CELLS;
  const cell = Math.floor(position);
  const low = cdf[cell]!;
  return low + (cdf[cell + 1]! - low) * (position - cell);
}

interface Prepared {
  masses: Float64Array;
  cdf: Float64Array;
  shift: number;
}

function prepare(params: readonly BetaParams[], shifts: readonly number[]): Prepared[] {
  const buffers = buffersFor(params.length);
  return params.map((p, i) => {
    const { masses, cdf } = buffers[i]!;
    discretise(p, masses, cdf);
    return { masses, cdf, shift: shifts[i] ?? 0 };
  });
}

function winProbability(prepared: readonly Prepared[], i: number): number {
  const own = prepared[i]!;
  let total = 0;
  for (let g = 0; g < GRID_CELLS; g += 1) {
    const mass = own.masses[g]!;
    if (mass < 1e-15) continue;
    let product = mass;
    for (let j = 0; j < prepared.length && product > 0; j += 1) {
      if (j === i) continue;
      const other = prepared[j]!;
      product *= cdfAt(other.cdf, MIDPOINTS[g]! - own.shift + other.shift);
    }
    total += product;
  }
  return total;
}

/**
 * P(candidate i has the largest θ_i − shifts[i]) for every i, θ_i ~ Beta(params[i]); renormalised to sum to 1.
 * Cost O(K²·GRID_CELLS); use winProbabilityOf for one candidate (O(K·GRID_CELLS)).
 */
export function argmaxProbabilities(params: readonly BetaParams[], shifts: readonly number[]): number[] {
  if (params.length === 0) return [];
  if (params.length === 1) return [1];
  const prepared = prepare(params, shifts);
  const raw = prepared.map((_, i) => winProbability(prepared, i));
  const sum = raw.reduce((a, b) => a + b, 0);
  return sum > 0 ? raw.map((p) => p / sum) : raw.map(() => 1 / raw.length);
}

/**
 * A range holding all but a negligible tail of Beta(α, β): mean ± (10 standard deviations + 4/(α + β)). The extra
 * 4/(α + β) covers the long tail of skewed posteriors (α or β below 1), which a few standard deviations miss.
 */
function effectiveRange({ alpha, beta }: BetaParams): { low: number; high: number } {
  const n = alpha + beta;
  const mean = alpha / n;
  const pad = 10 * Math.sqrt((mean * (1 - mean)) / (n + 1)) + 4 / n;
  return { low: Math.max(0, mean - pad), high: Math.min(1, mean + pad) };
}

/**
 * P(candidate `index` wins), unnormalised (the grid error is the normalisation's size, ~10⁻³). Candidates that
 * cannot beat it (their whole effective range lies below its own, after the shifts) contribute a factor of 1 and
 * are skipped: with a clear leader among many candidates, most of them. O(K·GRID_CELLS) at worst.
 */
export function winProbabilityOf(
  params: readonly BetaParams[],
  shifts: readonly number[],
  index: number,
): number {
  if (params.length === 1) return 1;
  const own = params[index]!;
  const ownShift = shifts[index] ?? 0;
  const floor = effectiveRange(own).low - ownShift;
  const relevantParams: BetaParams[] = [own];
  const relevantShifts: number[] = [ownShift];
  params.forEach((p, j) => {
    if (j === index) return;
    const shift = shifts[j] ?? 0;
    if (effectiveRange(p).high - shift <= floor) return;
    relevantParams.push(p);
    relevantShifts.push(shift);
  });
  if (relevantParams.length === 1) return 1;
  return winProbability(prepare(relevantParams, relevantShifts), 0);
}
