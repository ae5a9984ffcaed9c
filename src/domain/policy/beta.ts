/**
 * Beta posteriors: sampling with an injected uniform source, and the probability that each of several shifted
 * Beta variables is the largest — the propensity of Thompson sampling, computed rather than guessed.
 *
 * P(i wins) = ∫ f_i(θ) · Π_{j≠i} F_j(θ − d_i + d_j) dθ, where candidate j's score is θ_j − d_j (d: the load and
 * price penalties). Each posterior gets its own grid of GRID_CELLS equal cells in s = logit θ, over the range where
 * its log-density is within TAIL_DROP of its peak (clipped to ±LOGIT_LIMIT): in s the density θ^α(1 − θ)^β is
 * smooth and bounded for every α, β > 0, so a Beta unbounded at 0 or 1 (α or β below 1) is as well resolved as a
 * peaked one. What lies beyond the range is an exponential tail, integrated in closed form. Each CDF is piecewise
 * linear in s between its cell edges. Candidate i's cells are integrated by the trapezoid rule; a cell over which
 * another candidate's CDF rises by more than MAX_CDF_STEP (a much narrower rival) is integrated in as many pieces.
 * Against 10⁶-draw Monte Carlo the error stays around 10⁻³ (a property test checks random posteriors with α, β in
 * [0.3, 500]). Below about 0.3 a Beta puts real mass within 10⁻¹⁶ of 0 or 1, where doubles (and sampleBeta, whose
 * draws round to exactly 0 or 1 and tie) no longer tell candidates apart.
 */
export const GRID_CELLS = 128;
/** Log-density below the peak at which a grid ends; the mass beyond is integrated as an exponential tail. */
const TAIL_DROP = 18;
/** |logit θ| beyond which θ is 0 or 1 to double precision (1 − e⁻³⁶ rounds near 1). */
const LOGIT_LIMIT = 36;
/** Largest rise of a rival's CDF over one integration piece. */
const MAX_CDF_STEP = 0.02;
/** Newton steps allowed for a grid's end (it converges in a handful). */
const NEWTON_STEPS = 60;

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

const sigmoid = (s: number): number => 1 / (1 + Math.exp(-s));

/** log(1 + eˢ) without overflow. */
const softplus = (s: number): number => (s > 0 ? s + Math.log1p(Math.exp(-s)) : Math.log1p(Math.exp(s)));

/** One posterior discretised in s = logit θ, and the score shift its candidate carries. */
interface Grid {
  low: number;
  high: number;
  width: number;
  /** Mass per cell; the tails' masses below `low` and above `high` are apart. */
  masses: Float64Array;
  /** CDF at the GRID_CELLS + 1 cell edges (cdf[0] is the left tail's mass). */
  cdf: Float64Array;
  leftTail: number;
  rightTail: number;
  /** The log-density's slopes at the ends: each tail decays as exp(slope · distance). */
  leftSlope: number;
  rightSlope: number;
  shift: number;
}

/** A posterior's grid without its shift: it depends on (α, β) only, so decisions share it (see shapeOf). */
type Shape = Omit<Grid, 'shift'>;

/**
 * Discretised posteriors by (α, β). A posterior changes only when a result reaches its profile, and every decision
 * in between discretises the same ones again: with many candidates that was the larger part of a decision's cost.
 * Bounded; the oldest entry goes first.
 */
const shapes = new Map<string, Shape>();
const SHAPE_CACHE_SIZE = 2048; // ≈ 2 KB each

function shapeOf(params: BetaParams): Shape {
  const key = `${params.alpha}:${params.beta}`;
  let shape = shapes.get(key);
  if (shape === undefined) {
    shape = discretise(params);
    if (shapes.size >= SHAPE_CACHE_SIZE) shapes.delete(shapes.keys().next().value!);
    shapes.set(key, shape);
  }
  return shape;
}

/**
 * Where the concave log-density `logDensity` (slope `slope`) falls to `floor` between `limit` and the mode (`limit`
 * itself when the density there is still above `floor`). Newton's method from the limit: on a concave function, started outside the
 * crossing, it moves monotonically inwards and never overshoots.
 */
function crossing(
  logDensity: (s: number) => number,
  slope: (s: number) => number,
  limit: number,
  floor: number,
): number {
  let s = limit;
  for (let step = 0; step < NEWTON_STEPS; step += 1) {
    const gap = logDensity(s) - floor;
    if (gap >= -1e-6) return s;
    s -= gap / slope(s);
  }
  return s;
}

function discretise({ alpha, beta }: BetaParams): Shape {
  const n = alpha + beta;
  // In s the unnormalised log-density is α·s − (α + β)·log(1 + eˢ): concave, peaked at s = log(α/β).
  const logDensity = (s: number): number => alpha * s - n * softplus(s);
  const slope = (s: number): number => alpha - n * sigmoid(s);
  const mode = Math.min(LOGIT_LIMIT, Math.max(-LOGIT_LIMIT, Math.log(alpha / beta)));
  const peak = logDensity(mode);
  const floor = peak - TAIL_DROP;
  const low = crossing(logDensity, slope, -LOGIT_LIMIT, floor);
  const high = crossing(logDensity, slope, LOGIT_LIMIT, floor);
  const width = (high - low) / GRID_CELLS;
  const masses = new Float64Array(GRID_CELLS);
  const cdf = new Float64Array(GRID_CELLS + 1);
  // Concavity bounds each tail by the exponential with the end's slope; far out the slope tends to α (left) and
  // −β (right), which also keeps it away from 0 when the range is clipped.
  const leftSlope = Math.max(slope(low), alpha * 1e-3);
  const rightSlope = Math.min(slope(high), -beta * 1e-3);
  const leftTail = Math.exp(logDensity(low) - peak) / leftSlope;
  const rightTail = Math.exp(logDensity(high) - peak) / -rightSlope;
  let total = leftTail + rightTail;
  // eˢ at the cell midpoints by one multiplication each: s steps by `width`.
  const ratio = Math.exp(width);
  let odds = Math.exp(low + 0.5 * width);
  for (let g = 0; g < GRID_CELLS; g += 1) {
    const s = low + (g + 0.5) * width;
    const mass = Math.exp(alpha * s - n * Math.log1p(odds) - peak) * width;
    odds *= ratio;
    masses[g] = mass;
    total += mass;
  }
  cdf[0] = leftTail / total;
  for (let g = 0; g < GRID_CELLS; g += 1) {
    masses[g] = masses[g]! / total;
    cdf[g + 1] = cdf[g]! + masses[g]!;
  }
  return {
    low,
    high,
    width,
    masses,
    cdf,
    leftTail: leftTail / total,
    rightTail: rightTail / total,
    leftSlope,
    rightSlope,
  };
}

/** P(logit θ ≤ s) for the grid's posterior. */
function cdfAtLogit(grid: Grid, s: number): number {
  if (s <= grid.low) return grid.leftTail * Math.exp(grid.leftSlope * (s - grid.low));
  if (s >= grid.high) return 1 - grid.rightTail * Math.exp(grid.rightSlope * (s - grid.high));
  const position = (s - grid.low) / grid.width;
  const cell = Math.min(GRID_CELLS - 1, Math.floor(position));
  const from = grid.cdf[cell]!;
  return from + (grid.cdf[cell + 1]! - from) * (position - cell);
}

/** Every field spelled out in one order: one hidden class for all grids keeps the integration loops monomorphic. */
function withShift(shape: Shape, shift: number): Grid {
  return {
    low: shape.low,
    high: shape.high,
    width: shape.width,
    masses: shape.masses,
    cdf: shape.cdf,
    leftTail: shape.leftTail,
    rightTail: shape.rightTail,
    leftSlope: shape.leftSlope,
    rightSlope: shape.rightSlope,
    shift,
  };
}

function prepare(params: readonly BetaParams[], shifts: readonly number[]): Grid[] {
  // A fresh object per candidate (the arrays are shared): two candidates may share a shape but not a shift.
  return params.map((p, i) => withShift(shapeOf(p), shifts[i] ?? 0));
}

/** Rivals' CDFs at one of candidate i's scores, per rival; reused across calls like the grids. */
let lowerEdge = new Float64Array(8);
let upperEdge = new Float64Array(8);

/**
 * Candidate i's rivals, with their shifts relative to i's grouped: F_j is read at logit(θ + d_j − d_i), and agents
 * with equal loads share a shift, so one logarithm per distinct shift (not per rival) serves each point.
 */
interface Rivals {
  grids: Grid[];
  /** Distinct values of d_j − d_i. */
  offsets: number[];
  /** Index into `offsets` per rival. */
  offsetOf: Int32Array;
  /** logit(θ + offset) per offset at the current point (scratch). */
  logits: Float64Array;
}

function rivalsOf(grids: readonly Grid[], i: number): Rivals {
  const own = grids[i]!;
  const rivals = grids.filter((_, j) => j !== i);
  const offsets: number[] = [];
  const index = new Map<number, number>();
  const offsetOf = new Int32Array(rivals.length);
  rivals.forEach((rival, k) => {
    const offset = rival.shift - own.shift;
    let at = index.get(offset);
    if (at === undefined) {
      at = offsets.push(offset) - 1;
      index.set(offset, at);
    }
    offsetOf[k] = at;
  });
  return { grids: rivals, offsets, offsetOf, logits: new Float64Array(offsets.length) };
}

/** Sets each offset's logit(θ + offset) for logit θ = s (±∞ where θ + offset leaves (0, 1)). */
function placeAt(r: Rivals, s: number): void {
  const theta = sigmoid(s);
  for (let o = 0; o < r.offsets.length; o += 1) {
    const offset = r.offsets[o]!;
    const x = theta + offset;
    r.logits[o] = offset === 0 ? s : x <= 0 ? -Infinity : x >= 1 ? Infinity : Math.log(x / (1 - x));
  }
}

/** Fills `into` with F_j at logit θ = s for every rival j and returns their product: P(i at θ beats them all). */
function rivalsAt(r: Rivals, s: number, into: Float64Array): number {
  placeAt(r, s);
  let product = 1;
  for (let k = 0; k < r.grids.length; k += 1) {
    const value = cdfAtLogit(r.grids[k]!, r.logits[r.offsetOf[k]!]!);
    into[k] = value;
    product *= value;
  }
  return product;
}

function productAt(r: Rivals, s: number): number {
  placeAt(r, s);
  let product = 1;
  for (let k = 0; k < r.grids.length; k += 1) {
    product *= cdfAtLogit(r.grids[k]!, r.logits[r.offsetOf[k]!]!);
    if (product === 0) return 0;
  }
  return product;
}

/**
 * ∫ f_i · Π F_j by the trapezoid rule over candidate i's cells; a cell over which some rival's CDF rises by more
 * than MAX_CDF_STEP (a narrower rival) is split into as many pieces. The rivals' values at a cell edge serve both
 * cells that share it.
 */
function winProbability(grids: readonly Grid[], i: number): number {
  const own = grids[i]!;
  const r = rivalsOf(grids, i);
  const rivals = r.grids;
  if (lowerEdge.length < rivals.length) {
    lowerEdge = new Float64Array(rivals.length * 2);
    upperEdge = new Float64Array(rivals.length * 2);
  }
  let lower = lowerEdge;
  let upper = upperEdge;
  let lowerProduct = rivalsAt(r, own.low, lower);
  let total = own.leftTail * lowerProduct;
  for (let g = 0; g < GRID_CELLS; g += 1) {
    const upperProduct = rivalsAt(r, own.low + (g + 1) * own.width, upper);
    const mass = own.masses[g]!;
    // Every CDF rises with θ, so a product of 0 at the cell's upper edge is 0 over the whole cell.
    if (mass >= 1e-15 && upperProduct > 0) {
      let rise = 0;
      for (let k = 0; k < rivals.length; k += 1) rise = Math.max(rise, upper[k]! - lower[k]!);
      const pieces = Math.ceil(rise / MAX_CDF_STEP);
      if (pieces <= 1) total += (mass * (lowerProduct + upperProduct)) / 2;
      else {
        let previous = lowerProduct;
        for (let p = 1; p <= pieces; p += 1) {
          const next = p === pieces ? upperProduct : productAt(r, own.low + (g + p / pieces) * own.width);
          total += (mass * (previous + next)) / (2 * pieces);
          previous = next;
        }
      }
    }
    [lower, upper] = [upper, lower];
    lowerProduct = upperProduct;
  }
  return total + own.rightTail * lowerProduct;
}

/**
 * P(candidate i has the largest θ_i − shifts[i]) for every i, θ_i ~ Beta(params[i]); renormalised to sum to 1.
 * Cost O(K²·GRID_CELLS); use winProbabilityOf for one candidate (O(K·GRID_CELLS)).
 */
export function argmaxProbabilities(params: readonly BetaParams[], shifts: readonly number[]): number[] {
  if (params.length === 0) return [];
  if (params.length === 1) return [1];
  const grids = prepare(params, shifts);
  const raw = grids.map((_, i) => winProbability(grids, i));
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
 * P(candidate `index` wins), unnormalised (the error is the normalisation's size, ~10⁻³). Candidates that cannot
 * beat it (their whole effective range lies below its own, after the shifts) contribute a factor of 1 and are
 * skipped: with a clear leader among many candidates, most of them. O(K·GRID_CELLS) at worst.
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
