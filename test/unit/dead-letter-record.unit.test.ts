import { describe, expect, it } from '@jest/globals';
import {
  dlqFilterOf,
  parseSince,
  replayHeaders,
  replayMsgId,
  toDeadLetterRecord,
} from '../../src/bus/dead-letter-record.js';

/** Headers as publishDeadLetter writes them for a result that carried a message id and an app header. */
const DEAD_LETTER_HEADERS: [string, string[]][] = [
  ['Vapora-Dlq-Original-Nats-Msg-Id', ['ex-1']],
  ['Vapora-Dlq-Original-Nats-Expected-Stream', ['VAPORA_RESULTS']],
  ['Vapora-Original-Msg-Id', ['ex-1']],
  ['Vapora-Reassign-Attempt', ['2']],
  ['Vapora-Dlq-Reason', ['unassigned result']],
  ['Vapora-Dlq-Error', ['no assignment on record']],
  ['Vapora-Dlq-Origin', ['vapora.results.agent-1']],
  ['Vapora-Dlq-Stream', ['VAPORA_RESULTS']],
  ['Vapora-Dlq-Sequence', ['42']],
  ['Vapora-Dlq-Deliveries', ['1']],
  ['Vapora-Dlq-Received-At', ['2026-01-02T03:04:05.000Z']],
];

describe('dead letter records', () => {
  it('reads reason, error, origin and the original stream position from the headers', () => {
    const record = toDeadLetterRecord(7, 'vapora.dlq.results.agent-1', DEAD_LETTER_HEADERS, 12, new Date(0));
    expect(record).toEqual({
      seq: 7,
      subject: 'vapora.dlq.results.agent-1',
      origin: 'vapora.results.agent-1',
      reason: 'unassigned result',
      error: 'no assignment on record',
      originStream: 'VAPORA_RESULTS',
      originSeq: 42,
      deliveries: 1,
      receivedAt: '2026-01-02T03:04:05.000Z',
      originalMsgId: 'ex-1',
      size: 12,
    });
  });

  it('derives the origin from the subject and the time from the store when headers are missing', () => {
    const record = toDeadLetterRecord(1, 'vapora.dlq.tasks.arrived', [], 3, new Date(86_400_000));
    expect(record.origin).toBe('vapora.tasks.arrived');
    expect(record.receivedAt).toBe('1970-01-02T00:00:00.000Z');
    expect(record.reason).toBe('(no reason recorded)');
  });
});

describe('replay headers', () => {
  it('keeps application headers, drops Dlq and Nats ones, and marks the replay', () => {
    expect(replayHeaders(DEAD_LETTER_HEADERS, 7)).toEqual([
      ['Vapora-Reassign-Attempt', '2'],
      ['Vapora-Replayed-From', 'VAPORA_DLQ:7'],
      ['Vapora-Replay-Original-Msg-Id', 'ex-1'],
    ]);
  });

  it('never re-applies a server header even when written as itself', () => {
    const names = replayHeaders(
      [
        ['Nats-Rollup', ['all']],
        ['Nats-TTL', ['1s']],
      ],
      3,
    ).map(([k]) => k);
    expect(names).toEqual(['Vapora-Replayed-From']);
  });

  it('gives each dead letter its own replay id', () => {
    expect(replayMsgId(7)).toBe('vapora-dlq-replay-7');
    expect(replayMsgId(8)).not.toBe(replayMsgId(7));
  });
});

describe('filters', () => {
  it('maps an origin subject or pattern onto the DLQ subject space', () => {
    expect(dlqFilterOf(undefined)).toBe('vapora.dlq.>');
    expect(dlqFilterOf('vapora.results.*')).toBe('vapora.dlq.results.*');
    expect(dlqFilterOf('tasks.arrived')).toBe('vapora.dlq.tasks.arrived');
  });

  it('reads --since as a duration back from now or as an ISO date', () => {
    const now = new Date('2026-01-02T00:00:00Z');
    expect(parseSince('2h', now)?.toISOString()).toBe('2026-01-01T22:00:00.000Z');
    expect(parseSince('7d', now)?.toISOString()).toBe('2025-12-26T00:00:00.000Z');
    expect(parseSince('2025-12-31T12:00:00Z', now)?.toISOString()).toBe('2025-12-31T12:00:00.000Z');
    expect(parseSince('yesterday', now)).toBeNull();
    expect(parseSince('5w', now)).toBeNull();
  });
});
