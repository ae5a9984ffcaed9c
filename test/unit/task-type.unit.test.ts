import type { TaskTypeRule } from '../../src/index.js';
import { DEFAULT_TASK_TYPES, extractTaskType } from '../../src/index.js';

const phrasings: Record<string, string[]> = {
  coding: ['Implement OAuth login', 'Add pagination to the orders endpoint', 'Build a CSV exporter'],
  review: ['Review PR #123', 'Code review for the payment module', 'Give feedback on the pull request'],
  testing: [
    'Write unit tests for the parser',
    'Increase coverage of auth module',
    'Add e2e tests for checkout',
  ],
  documentation: ['Update the README', 'Document the REST API', 'Write a tutorial for onboarding'],
  architecture: [
    'Design the event sourcing architecture',
    'Propose a data model for invoices',
    'System design for multi-region',
  ],
  debugging: ['Fix crash on startup', 'Investigate memory leak regression', 'Login fails with a 500 error'],
  refactoring: ['Refactor the billing service', 'Clean up legacy helpers', 'Simplify the config loader'],
  deployment: ['Deploy v2 to staging', 'Roll out the new Helm chart', 'Set up the CI/CD pipeline'],
  security: ['Patch the XSS vulnerability', 'Rotate leaked secrets', 'Threat model for the agent API'],
  research: ['Evaluate vector databases', 'Research options for caching', 'Spike: compare queue libraries'],
};

describe('extractTaskType', () => {
  it.each(Object.entries(phrasings).flatMap(([type, titles]) => titles.map((title) => [type, title])))(
    'infers %s from "%s"',
    (type, title) => {
      expect(extractTaskType(title)).toBe(type);
    },
  );

  it('returns general when nothing matches', () => {
    expect(extractTaskType('Weekly sync', 'Talk about things')).toBe('general');
    expect(extractTaskType('')).toBe('general');
  });

  it('matches on word boundaries, not substrings', () => {
    expect(extractTaskType('Contest results announcement')).toBe('general');
    expect(extractTaskType('Prefix handling')).not.toBe('debugging');
    expect(extractTaskType('Address book')).toBe('general');
  });

  it('is case-insensitive', () => {
    expect(extractTaskType('DEPLOY THE SERVICE')).toBe('deployment');
  });

  it('weighs the title more than the description', () => {
    expect(extractTaskType('Write tests', 'the docs mention the readme and guide')).toBe('testing');
    expect(extractTaskType('Weekly item', 'write the docs and update the readme')).toBe('documentation');
  });

  it('resolves mixed signals by the documented priority', () => {
    // "fix" (debugging) and "test" (testing) both match once in the title: debugging is listed first.
    expect(extractTaskType('Fix the test')).toBe('debugging');
    // security before review.
    expect(extractTaskType('Security review')).toBe('security');
  });

  it('lets callers pass their own rules', () => {
    const rules: TaskTypeRule[] = [{ taskType: 'translation', keywords: ['translate*', 'i18n'] }];
    expect(extractTaskType('Translate the UI to German', undefined, rules)).toBe('translation');
    expect(extractTaskType('Fix the bug', undefined, rules)).toBe('general');
  });

  it('documents every default type', () => {
    expect([...DEFAULT_TASK_TYPES].sort()).toEqual([...Object.keys(phrasings), 'general'].sort());
  });
});
