/**
 * Rule-based task-type inference. Rules are data so callers can pass their own; the default set is documented in
 * the README. Matching is case-insensitive and on word boundaries ("contest" is not "test"); a keyword ending in
 * `*` also matches longer words that start with it ("deploy*" matches "deployment").
 *
 * Score per type = 3 × distinct keywords found in the title + 1 × distinct keywords found in the description.
 * The highest score wins; ties go to the type listed first (the priority order). No match → `general`.
 */
export interface TaskTypeRule {
  taskType: string;
  keywords: readonly string[];
}

export const GENERAL_TASK_TYPE = 'general';

/** Weight of a keyword found in the title relative to one found in the description. */
export const TITLE_WEIGHT = 3;

/**
 * Priority order, most specific intent first: a task that says "fix the flaky test" is debugging before testing,
 * and a "security review" is security before review. `coding` is the broadest and comes last.
 */
export const DEFAULT_TASK_TYPE_RULES: readonly TaskTypeRule[] = Object.freeze([
  {
    taskType: 'security',
    keywords: [
      'security',
      'vulnerability',
      'vulnerabilities',
      'cve',
      'xss',
      'csrf',
      'sql injection',
      'exploit*',
      'auth bypass',
      'penetration',
      'pentest',
      'secrets',
      'encrypt*',
      'threat model',
      'sanitize',
      'owasp',
    ],
  },
  {
    taskType: 'debugging',
    keywords: [
      'bug',
      'bugs',
      'debug*',
      'fix',
      'fixes',
      'fixing',
      'crash*',
      'error',
      'errors',
      'exception',
      'broken',
      'regression',
      'failing',
      'fails',
      'stack trace',
      'hotfix',
      'investigate',
      'root cause',
      'flaky',
    ],
  },
  {
    taskType: 'testing',
    keywords: [
      'test',
      'tests',
      'testing',
      'tested',
      'unit test*',
      'integration test*',
      'e2e',
      'end-to-end',
      'coverage',
      'test case*',
      'test suite',
      'qa',
      'assertion*',
      'fuzz*',
      'property-based',
    ],
  },
  {
    taskType: 'review',
    keywords: [
      'review',
      'reviews',
      'reviewing',
      'code review',
      'pull request',
      'pr',
      'audit',
      'feedback',
      'approve',
      'critique',
      'inspect',
    ],
  },
  {
    taskType: 'refactoring',
    keywords: [
      'refactor*',
      'clean up',
      'cleanup',
      'restructure',
      'simplify',
      'rename',
      'extract',
      'tech debt',
      'technical debt',
      'deduplicate',
      'modernize',
      'reorganize',
    ],
  },
  {
    taskType: 'deployment',
    keywords: [
      'deploy*',
      'release',
      'rollout',
      'rollback',
      'kubernetes',
      'k8s',
      'helm',
      'docker*',
      'ci/cd',
      'pipeline',
      'provision*',
      'infrastructure',
      'terraform',
      'ship to production',
    ],
  },
  {
    taskType: 'architecture',
    keywords: [
      'architecture',
      'architect',
      'design',
      'system design',
      'scalab*',
      'microservice*',
      'schema',
      'data model',
      'adr',
      'component diagram',
      'blueprint',
    ],
  },
  {
    taskType: 'documentation',
    keywords: [
      'document',
      'documentation',
      'docs',
      'readme',
      'guide',
      'tutorial',
      'changelog',
      'docstring*',
      'comments',
      'api reference',
      'write-up',
      'manual',
    ],
  },
  {
    taskType: 'research',
    keywords: [
      'research',
      'investigation',
      'explore',
      'evaluate',
      'compare',
      'comparison',
      'survey',
      'spike',
      'prototype',
      'benchmark*',
      'feasibility',
      'analyze',
      'analyse',
      'study',
    ],
  },
  {
    taskType: 'coding',
    keywords: [
      'implement*',
      'code',
      'coding',
      'feature',
      'add',
      'build',
      'create',
      'write',
      'endpoint',
      'function',
      'develop*',
      'integrate',
      'support for',
      'program',
    ],
  },
]);

interface CompiledRule {
  taskType: string;
  patterns: RegExp[];
}

const compiledCache = new WeakMap<readonly TaskTypeRule[], CompiledRule[]>();

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function compileKeyword(keyword: string): RegExp {
  const prefix = keyword.endsWith('*');
  const body = escapeRegExp((prefix ? keyword.slice(0, -1) : keyword).trim().toLowerCase()).replace(
    /\s+/g,
    '\\s+',
  );
  // Lookarounds instead of \b: \b is ASCII-only and treats "ci/cd" or "end-to-end" oddly.
  return new RegExp(`(?<![\\p{L}\\p{N}_])${body}${prefix ? '[\\p{L}\\p{N}]*' : ''}(?![\\p{L}\\p{N}_])`, 'iu');
}

function compile(rules: readonly TaskTypeRule[]): CompiledRule[] {
  let compiled = compiledCache.get(rules);
  if (!compiled) {
    compiled = rules.map((rule) => ({
      taskType: rule.taskType,
      patterns: rule.keywords.map(compileKeyword),
    }));
    compiledCache.set(rules, compiled);
  }
  return compiled;
}

function countMatches(patterns: readonly RegExp[], text: string): number {
  let count = 0;
  for (const pattern of patterns) if (pattern.test(text)) count += 1;
  return count;
}

/** Infers the task type of a task from its title and optional description. Deterministic. */
export function extractTaskType(
  title: string,
  description?: string,
  rules: readonly TaskTypeRule[] = DEFAULT_TASK_TYPE_RULES,
): string {
  let best = GENERAL_TASK_TYPE;
  let bestScore = 0;
  for (const rule of compile(rules)) {
    const score =
      TITLE_WEIGHT * countMatches(rule.patterns, title) +
      (description ? countMatches(rule.patterns, description) : 0);
    // Strictly greater: on a tie the earlier (higher-priority) rule keeps the win.
    if (score > bestScore) {
      best = rule.taskType;
      bestScore = score;
    }
  }
  return best;
}

/** The task types the default rules can produce, in priority order, plus `general`. */
export const DEFAULT_TASK_TYPES: readonly string[] = Object.freeze([
  ...DEFAULT_TASK_TYPE_RULES.map((rule) => rule.taskType),
  GENERAL_TASK_TYPE,
]);
