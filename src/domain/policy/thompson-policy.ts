/**
 * Thompson sampling per (agent, task type) on the discounted Beta posterior of posterior.ts, and its cost-aware
 * variant. Each decision samples θ ~ Beta for every candidate with a free slot and picks the largest
 *   θ − loadWeight·load − λ·cost/budget
 * (λ = 0 without a budget). Load lowers preference, capacity excludes; an agent is explored in proportion to the
 * chance that it is in fact the best, so a new or unlucky agent is retried soon and a collapsed one dropped soon.
 *
 * Propensity: P(chosen | context) is computed by numerical integration over the posteriors (beta.ts), not by
 * Monte Carlo; it does not consume the random source. It is floored at MIN_PROPENSITY so it stays in (0, 1].
 *
 * Cost-aware pacing (primal–dual): λ starts at 0 and after each decision moves by
 *   λ ← max(0, λ + pacingRate · (ĉ_chosen − budget) / budget),
 * ĉ being the learned cost of the chosen agent. λ is the sum of past overspends, so the mean spend is steered back
 * to the budget: the running overspend per task is λ / (pacingRate · decisions). λ lives in the policy instance:
 * every worker replica paces its own decisions, and a restart starts again from 0.
 */
import { confidenceFor } from '../expertise.js';
import type { AgentScore } from '../scoring.js';
import type { BetaParams } from './beta.js';
import { argmaxProbabilities, sampleBeta, winProbabilityOf } from './beta.js';
import type { CandidateBelief, PosteriorOptions } from './posterior.js';
import { beliefsFor } from './posterior.js';
import type { PolicyCandidate, PolicyContext, PolicyDecision, ProbabilisticPolicy } from './types.js';
import { loadOf, withCapacity } from './types.js';

export const MIN_PROPENSITY = 1e-6;
/** Discounted executions at which a posterior is sharpened fully (see `sampling`). */
export const SHARPEN_FULL_AT = 20;

export interface ThompsonOptions extends PosteriorOptions {
  /** Score penalty at full load (load = inFlight / maxConcurrent). */
  loadWeight: number;
  /**
   * Variance scale of the sampled posterior of a well-known agent, (0, 1]: θ is drawn from Beta(α/e, β/e) — same
   * mean, variance about e times the posterior's — once the agent has SHARPEN_FULL_AT executions of evidence, and
   * from the posterior itself without evidence. 1 is textbook Thompson sampling; smaller explores less.
   */
  exploration: number;
  /**
   * Share of decisions made uniformly at random among the candidates with a free slot, [0, 1). Costs about
   * epsilon × the mean skill gap in success; buys every candidate a propensity of at least epsilon / candidates,
   * which off-policy evaluation of very different policies needs (docs/policies.md).
   */
  epsilon: number;
}

export interface PacingOptions {
  /** The mean spend per task to pace to, in cents. */
  budgetCentsPerTask: number;
  /** Step of the dual variable per decision. */
  pacingRate: number;
}

interface Evaluation {
  open: PolicyCandidate[];
  beliefs: CandidateBelief[];
  shifts: number[];
  fallback: boolean;
}

const fmt = (value: number): string => value.toFixed(3);

export class ThompsonPolicy implements ProbabilisticPolicy {
  readonly name: string;
  private readonly options: ThompsonOptions;
  private readonly pacing: PacingOptions | undefined;
  private lambda = 0;

  constructor(name: string, options: ThompsonOptions, pacing?: PacingOptions) {
    this.name = name;
    this.options = options;
    this.pacing = pacing;
  }

  /** The current price of a budget-sized cost in reward units (0 without pacing). */
  get dualPrice(): number {
    return this.lambda;
  }

  private evaluate(ctx: PolicyContext): Evaluation {
    const open = withCapacity(ctx.candidates);
    const beliefs = beliefsFor(ctx.taskType, open, ctx.profiles, this.options);
    const shifts = open.map((candidate, i) => this.penalty(candidate, beliefs[i]!));
    const first = beliefs[0];
    const fallback =
      first !== undefined && beliefs.every((b) => b.evidence === 0 && b.priorMean === first.priorMean);
    return { open, beliefs, shifts, fallback };
  }

  private penalty(candidate: PolicyCandidate, belief: CandidateBelief): number {
    const price =
      this.pacing && belief.costCents !== null
        ? (this.lambda * belief.costCents) / this.pacing.budgetCentsPerTask
        : 0;
    return this.options.loadWeight * loadOf(candidate) + price;
  }

  choose(ctx: PolicyContext): PolicyDecision | null {
    const evaluation = this.evaluate(ctx);
    const { open, beliefs, shifts } = evaluation;
    if (open.length === 0) return null;
    const random = ctx.random ?? Math.random;

    if (evaluation.fallback) return this.loadFallback(ctx, evaluation, random);

    const params = this.sampling(beliefs);
    const { epsilon } = this.options;
    const scores = params.map((p, i) => sampleBeta(p, random) - shifts[i]!);
    const uniform = epsilon > 0 && random() < epsilon;
    const chosenIndex = uniform
      ? Math.min(open.length - 1, Math.floor(random() * open.length))
      : argmax(scores);
    const bestIndex = argmax(beliefs.map((b, i) => b.mean - shifts[i]!));
    const ranking = this.ranking(open, beliefs, scores);
    const chosen = ranking.find((s) => s.agentId === open[chosenIndex]!.agentId)!;
    const explored = chosenIndex !== bestIndex;
    const priceText = this.pacing ? `, price λ=${fmt(this.lambda)} per budget` : '';
    const name = this.name;
    this.pace(beliefs[chosenIndex]!);
    // The propensity integral is the costliest part of a decision: computed on first read (the worker always reads
    // it; the simulator only when it logs), from inputs that no longer change.
    let propensity: number | undefined;
    const propensityOf = (): number =>
      (propensity ??= clampPropensity(
        epsilon / open.length + (1 - epsilon) * winProbabilityOf(params, shifts, chosenIndex),
      ));
    return {
      agentId: chosen.agentId,
      mode: 'learned',
      ranking,
      chosen,
      get reasoning(): string {
        return (
          `${name} for '${ctx.taskType}': ${uniform ? 'uniform pick' : 'sampled'} ${chosen.agentId} ` +
          `(P=${fmt(propensityOf())}` +
          `${explored ? `, exploring; best estimate ${open[bestIndex]!.agentId}` : ', the best estimate'}` +
          `${priceText}): ${chosen.reasoning}`
        );
      },
      policy: this.name,
      get propensity(): number {
        return propensityOf();
      },
      explored,
    };
  }

  probabilities(ctx: PolicyContext): ReadonlyMap<string, number> {
    const { open, beliefs, shifts, fallback } = this.evaluate(ctx);
    if (fallback) {
      const least = leastLoaded(open);
      return new Map(open.map((c) => [c.agentId, least.includes(c) ? 1 / least.length : 0]));
    }
    const { epsilon } = this.options;
    const probabilities = argmaxProbabilities(this.sampling(beliefs), shifts);
    return new Map(
      open.map((c, i) => [c.agentId, epsilon / open.length + (1 - epsilon) * probabilities[i]!]),
    );
  }

  /**
   * The distributions θ is drawn from: each posterior sharpened by up to 1/exploration, in proportion to its own
   * evidence (full at SHARPEN_FULL_AT discounted executions). The discount keeps a long-known agent's posterior
   * about as wide as 1/(1 − discount) executions allow, so plain Thompson sampling would go on re-testing agents it
   * knows well; an agent with little evidence (new, or unlucky in its first tries) is still sampled as widely as
   * its posterior says.
   */
  private sampling(beliefs: readonly CandidateBelief[]): BetaParams[] {
    const e = this.options.exploration;
    return beliefs.map(({ posterior, evidence }) => {
      if (e === 1) return posterior;
      const scale = 1 + (1 / e - 1) * Math.min(1, evidence / SHARPEN_FULL_AT);
      return { alpha: posterior.alpha * scale, beta: posterior.beta * scale };
    });
  }

  private pace(belief: CandidateBelief): void {
    if (!this.pacing || belief.costCents === null) return;
    const { budgetCentsPerTask, pacingRate } = this.pacing;
    this.lambda = Math.max(
      0,
      this.lambda + (pacingRate * (belief.costCents - budgetCentsPerTask)) / budgetCentsPerTask,
    );
  }

  /** Nobody knows anything: least loaded, uniformly among equals (the seed's fallback, made fair). */
  private loadFallback(ctx: PolicyContext, evaluation: Evaluation, random: () => number): PolicyDecision {
    const { open, beliefs } = evaluation;
    const least = leastLoaded(open);
    const picked = least[Math.min(least.length - 1, Math.floor(random() * least.length))]!;
    const scores = open.map((c) => (c === picked ? 1 : 0) - loadOf(c));
    const ranking = this.ranking(open, beliefs, scores);
    const chosen = ranking[0]!;
    return {
      agentId: chosen.agentId,
      mode: 'load-fallback',
      ranking,
      chosen,
      reasoning:
        `no evidence for '${ctx.taskType}' nor about any candidate: ${chosen.agentId} picked uniformly among ` +
        `${least.length} least-loaded candidate(s) at load ${fmt(loadOf(picked))}`,
      policy: this.name,
      propensity: 1 / least.length,
      explored: false,
    };
  }

  private ranking(
    open: readonly PolicyCandidate[],
    beliefs: readonly CandidateBelief[],
    scores: readonly number[],
  ): AgentScore[] {
    const scored = open.map((candidate, i): { index: number; score: AgentScore } => {
      const belief = beliefs[i]!;
      const load = loadOf(candidate);
      const successRate = Number.isFinite(candidate.successRate)
        ? Math.min(1, Math.max(0, candidate.successRate))
        : 0;
      const score = scores[i]!;
      return {
        index: i,
        score: {
          agentId: candidate.agentId,
          baseScore: successRate / (1 + load),
          expertiseScore: belief.mean,
          confidence: confidenceFor(belief.totalExecutions),
          finalScore: score,
          load,
          hasData: belief.hasData,
          // Formatted on first read: a decision over many candidates rarely has every line read.
          get reasoning(): string {
            const cost = belief.costCents === null ? 'unknown cost' : `cost ~${belief.costCents.toFixed(1)}¢`;
            return (
              `${candidate.agentId}: sample ${fmt(score)} from Beta(${fmt(belief.posterior.alpha)}, ` +
              `${fmt(belief.posterior.beta)}) mean ${fmt(belief.mean)} (prior ${fmt(belief.priorMean)}, ` +
              `evidence ${belief.evidence.toFixed(1)} of ${belief.totalExecutions} executions), ` +
              `load ${fmt(load)}, ${cost}`
            );
          },
        },
      };
    });
    scored.sort((a, b) => b.score.finalScore - a.score.finalScore || a.index - b.index);
    return scored.map((entry) => entry.score);
  }
}

function argmax(values: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i += 1) if (values[i]! > values[best]!) best = i;
  return best;
}

function leastLoaded(open: readonly PolicyCandidate[]): PolicyCandidate[] {
  const min = Math.min(...open.map(loadOf));
  return open.filter((c) => loadOf(c) === min);
}

function clampPropensity(p: number): number {
  return Number.isFinite(p) ? Math.min(1, Math.max(MIN_PROPENSITY, p)) : MIN_PROPENSITY;
}
