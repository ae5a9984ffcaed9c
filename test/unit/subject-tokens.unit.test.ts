/**
 * Ids become NATS subject tokens (`vapora.results.<agentId>`), so token validation is a safety property: an id
 * must never widen or shift a subject. The builders' check (src/bus/subjects.ts) and the wire schema
 * (SubjectToken in src/domain/messages.ts) must agree, or a message could pass one and break the other.
 */
import fc from 'fast-check';
import { Value } from '@sinclair/typebox/value';
import {
  Consumers,
  Subjects,
  agentIdOfResultSubject,
  parseProfileKey,
  profileKey,
  token,
} from '../../src/bus/subjects.js';
import { SubjectToken } from '../../src/domain/index.js';
import { InvalidInputError } from '../../src/errors.js';

const WIDENING = ['>', '*', 'a.b', 'a.>', '', ' ', 'a b', 'tab\there', 'line\nbreak', '\u00a0nbsp'];

describe('token', () => {
  it.each(WIDENING)('rejects %j, which would widen or split a subject', (bad) => {
    expect(() => token(bad)).toThrow(/^not a valid subject token: /);
  });

  it.each(['agent-1', 'coder_2', 'A', 'x-1-1', 'émile', '#tag'])('accepts %j unchanged', (ok) => {
    expect(token(ok)).toBe(ok);
  });

  it('guards every builder that puts an id into a subject, consumer name or key', () => {
    expect(() => Subjects.result('>')).toThrow(InvalidInputError);
    expect(() => Subjects.assignment('*')).toThrow(InvalidInputError);
    expect(() => Consumers.agent('a.b')).toThrow(InvalidInputError);
    expect(() => profileKey('a', 'x.y')).toThrow(InvalidInputError);
    expect(Subjects.result('a1')).toBe('vapora.results.a1');
    expect(Consumers.agent('a1')).toBe('agent-a1');
  });

  it('agrees with the SubjectToken wire schema on any string up to its 128 characters', () => {
    const char = fc.oneof(
      fc.constantFrom('.', '*', '>', ' ', '\t', '\n', '\u00a0', '\u2028', '\ufeff'),
      fc.string({ minLength: 1, maxLength: 1, unit: 'binary' }),
    );
    fc.assert(
      fc.property(fc.array(char, { maxLength: 128 }), (chars) => {
        const id = chars.join('');
        fc.pre(id.length <= 128);
        let builderAccepts = true;
        try {
          token(id);
        } catch {
          builderAccepts = false;
        }
        expect({ id, builderAccepts }).toEqual({ id, builderAccepts: Value.Check(SubjectToken, id) });
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('reading ids back out of subjects and keys', () => {
  it('round-trips a profile key and refuses keys that are not exactly two tokens', () => {
    expect(parseProfileKey(profileKey('agent-1', 'coding'))).toEqual({
      agentId: 'agent-1',
      taskType: 'coding',
    });
    for (const key of ['agent-1', '.coding', 'agent-1.', 'a.b.c', ''])
      expect(parseProfileKey(key)).toBeNull();
  });

  it('takes the agentId of a result subject only when it is exactly one token after vapora.results.', () => {
    expect(agentIdOfResultSubject('vapora.results.a1')).toBe('a1');
    expect(agentIdOfResultSubject(Subjects.result('coder-1'))).toBe('coder-1');
    for (const subject of [
      'vapora.results.',
      'vapora.results.a.b',
      'vapora.assignments.a1',
      'x.vapora.results.a1',
    ]) {
      expect(agentIdOfResultSubject(subject)).toBeNull();
    }
  });
});
