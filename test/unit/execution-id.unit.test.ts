/**
 * executionIdFor: one execution id per (task, attempt), so a re-run after redelivery reports the same id and is
 * counted once, while a reassignment (next attempt) is a new execution. The id must itself be a valid wire id.
 */
import fc from 'fast-check';
import { Value } from '@sinclair/typebox/value';
import { executionIdFor } from '../../src/agent/agent.js';
import { SubjectToken } from '../../src/domain/index.js';

const taskIdArb = fc
  .string({ minLength: 1, maxLength: 128, unit: 'grapheme-ascii' })
  .filter((s) => Value.Check(SubjectToken, s));
const attemptArb = fc.integer({ min: 1, max: 1_000_000 });

describe('executionIdFor', () => {
  it('is <taskId>-<attempt> while that fits in an id', () => {
    expect(executionIdFor({ taskId: 't-42', attempt: 1, agentId: 'a1' })).toBe('t-42-1');
    expect(executionIdFor({ taskId: 't-42', attempt: 2, agentId: 'a1' })).toBe('t-42-2');
  });

  it('depends only on the task and the attempt: a redelivered assignment reports the same id', () => {
    const a = { taskId: 't-42', attempt: 3, agentId: 'a1' };
    expect(executionIdFor(a)).toBe(executionIdFor({ ...a }));
  });

  it('switches to a digest exactly when the plain form would exceed 128 characters', () => {
    const fits = 'x'.repeat(126); // "x…x-1" is 128
    expect(executionIdFor({ taskId: fits, attempt: 1, agentId: 'a1' })).toBe(`${fits}-1`);
    const long = executionIdFor({ taskId: fits, attempt: 10, agentId: 'a1' }); // 129
    expect(long).toMatch(/^x-[0-9a-f]{40}$/);
  });

  it('always yields a valid wire id (SubjectToken), whatever valid task id and attempt it gets', () => {
    fc.assert(
      fc.property(taskIdArb, attemptArb, (taskId, attempt) => {
        const id = executionIdFor({ taskId, attempt, agentId: 'a1' });
        expect(Value.Check(SubjectToken, id)).toBe(true);
      }),
    );
  });

  it('gives different (task, attempt) pairs different ids, in the plain and in the digest form', () => {
    fc.assert(
      fc.property(taskIdArb, attemptArb, taskIdArb, attemptArb, (t1, n1, t2, n2) => {
        fc.pre(t1 !== t2 || n1 !== n2);
        expect(executionIdFor({ taskId: t1, attempt: n1, agentId: 'a' })).not.toBe(
          executionIdFor({ taskId: t2, attempt: n2, agentId: 'a' }),
        );
      }),
      { numRuns: 2_000 },
    );
    // Random ids are rarely long enough for the digest form: long ids one attempt apart, explicitly.
    const long = 'y'.repeat(128);
    const ids = [
      executionIdFor({ taskId: long.slice(1), attempt: 1, agentId: 'a' }),
      executionIdFor({ taskId: long, attempt: 1, agentId: 'a' }),
      executionIdFor({ taskId: long, attempt: 2, agentId: 'a' }),
    ];
    expect(new Set(ids).size).toBe(ids.length);
  });
});
