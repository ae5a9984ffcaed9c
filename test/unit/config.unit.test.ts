/** Configuration from the environment: defaults, coercion, every kind of bad value, all problems at once. */
import { describe, expect, it } from '@jest/globals';
import {
  DEFAULT_NATS_URL,
  DEFAULT_SURREAL_URL,
  loadEnv,
  loadKgConfig,
  loadNatsConfig,
  loadWorkerConfig,
} from '../../src/config/config.js';
import { parseEnv } from '../../src/config/env-parse.js';
import { ENV_NAMES, envVariable } from '../../src/config/env-schema.js';
import { DEFAULT_POLICY } from '../../src/domain/index.js';
import type { ConfigError } from '../../src/errors.js';
import { ErrorCodes, isConfigError } from '../../src/errors.js';

/** The ConfigError a load throws, so a test can read its message (fails the test when nothing is thrown). */
function configErrorOf(load: () => unknown): ConfigError {
  try {
    load();
  } catch (err) {
    expect(isConfigError(err)).toBe(true);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

describe('defaults (the contract with deployments)', () => {
  it('an empty environment gives the documented worker configuration', () => {
    expect(loadWorkerConfig({})).toEqual({
      nats: { url: 'nats://127.0.0.1:4222' },
      kg: { url: 'surrealkv://.vapora/kg', namespace: 'vapora', database: 'kg' },
      httpPort: 8080,
      logLevel: 'info',
      concurrency: 16,
      shutdownGraceMs: 20_000,
      applyStreams: true,
      unassignableAfterMs: 300_000,
      useRecency: false,
      policy: { arms: [{ policy: DEFAULT_POLICY, weight: 1 }], options: {} },
      streamReplicas: 1,
      assignmentTimeoutMs: 600_000,
      timeoutCountsAsFailure: true,
      sweepIntervalMs: 1000,
      kgRetentionMs: 90 * 86_400_000,
    });
    expect(DEFAULT_NATS_URL).toBe('nats://127.0.0.1:4222');
    expect(DEFAULT_SURREAL_URL).toBe('surrealkv://.vapora/kg');
  });

  it('blank values count as unset', () => {
    const config = loadWorkerConfig({ HTTP_PORT: '  ', LOG_LEVEL: '', NATS_USER: ' ', NATS_PASS: '' });
    expect(config.httpPort).toBe(8080);
    expect(config.logLevel).toBe('info');
    expect(config.nats).toEqual({ url: DEFAULT_NATS_URL });
  });

  it('every variable with a default passes its own schema (no default outside its range)', () => {
    const defaults = Object.fromEntries(
      ENV_NAMES.filter((n) => envVariable(n).default !== undefined).map((n) => [
        n,
        String(envVariable(n).default),
      ]),
    );
    expect(parseEnv(ENV_NAMES, defaults).ok).toBe(true);
  });
});

describe('parsing', () => {
  it('reads every worker variable, trimmed, with units normalised to milliseconds', () => {
    const config = loadWorkerConfig({
      NATS_URL: ' tls://a:4222, tls://b:4222 ',
      NATS_USER: 'worker',
      NATS_PASS: 'secret',
      NATS_TLS_CA: '/ca.pem',
      SURREAL_URL: 'wss://kg:8000/rpc',
      SURREAL_NS: 'ns',
      SURREAL_DB: 'db',
      SURREAL_USER: 'root',
      SURREAL_PASS: 'pw',
      HTTP_PORT: '0',
      LOG_LEVEL: 'DEBUG',
      WORKER_CONCURRENCY: '4',
      SHUTDOWN_GRACE_MS: '5000',
      APPLY_STREAMS: 'no',
      UNASSIGNABLE_AFTER_MS: '0',
      USE_RECENCY: 'ON',
      STREAM_REPLICAS: '3',
      ASSIGNMENT_TIMEOUT_MS: '100',
      TIMEOUT_COUNTS_AS_FAILURE: '0',
      SWEEP_INTERVAL_MS: '50',
      KG_RETENTION: '2m',
    });
    expect(config).toEqual({
      nats: { url: 'tls://a:4222, tls://b:4222', user: 'worker', pass: 'secret', tls: { caFile: '/ca.pem' } },
      kg: { url: 'wss://kg:8000/rpc', namespace: 'ns', database: 'db', username: 'root', password: 'pw' },
      httpPort: 0,
      logLevel: 'debug',
      concurrency: 4,
      shutdownGraceMs: 5000,
      applyStreams: false,
      unassignableAfterMs: 0,
      useRecency: true,
      // USE_RECENCY without POLICY keeps its old meaning.
      policy: { arms: [{ policy: 'seed-recency', weight: 1 }], options: {} },
      streamReplicas: 3,
      assignmentTimeoutMs: 100,
      timeoutCountsAsFailure: false,
      sweepIntervalMs: 50,
      kgRetentionMs: 120_000,
    });
  });

  it('returns a deeply frozen object', () => {
    const config = loadWorkerConfig({ NATS_TLS_CA: '/ca.pem' });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.nats)).toBe(true);
    expect(Object.isFrozen(config.nats.tls)).toBe(true);
    expect(Object.isFrozen(config.kg)).toBe(true);
  });

  it('loadNatsConfig and loadKgConfig read only their own variables', () => {
    // A bad worker variable does not stop a CLI command that only needs NATS or the KG.
    const env = { HTTP_PORT: 'nope', NATS_TOKEN: 't', NATS_CREDS: '/x.creds', SURREAL_URL: 'mem://' };
    expect(loadNatsConfig(env)).toEqual({ url: DEFAULT_NATS_URL, token: 't', credsFile: '/x.creds' });
    expect(loadKgConfig(env)).toEqual({ url: 'mem://', namespace: 'vapora', database: 'kg' });
  });

  it('client certificate and key give a tls block without a CA', () => {
    expect(loadNatsConfig({ NATS_TLS_CERT: '/c.pem', NATS_TLS_KEY: '/k.pem' }).tls).toEqual({
      certFile: '/c.pem',
      keyFile: '/k.pem',
    });
  });

  it('loadEnv reads single variables for commands (streams apply: STREAM_REPLICAS)', () => {
    expect(loadEnv(['STREAM_REPLICAS'], {}).STREAM_REPLICAS).toBe(1);
    expect(loadEnv(['STREAM_REPLICAS'], { STREAM_REPLICAS: '3' }).STREAM_REPLICAS).toBe(3);
    expect(() => loadEnv(['STREAM_REPLICAS'], { STREAM_REPLICAS: 'three' })).toThrow(
      'STREAM_REPLICAS="three" must be an integer from 1 to 5',
    );
  });
});

describe('bad values: the message names the variable, the value and what is allowed', () => {
  it.each([
    ['HTTP_PORT', 'http', 'HTTP_PORT="http" must be an integer from 0 to 65535'],
    ['HTTP_PORT', '65536', 'HTTP_PORT="65536" must be an integer from 0 to 65535'],
    ['HTTP_PORT', '80.5', 'HTTP_PORT="80.5" must be an integer from 0 to 65535'],
    ['HTTP_PORT', '0x50', 'HTTP_PORT="0x50" must be an integer from 0 to 65535'],
    ['WORKER_CONCURRENCY', '0', 'WORKER_CONCURRENCY="0" must be an integer from 1 to 1024'],
    ['SHUTDOWN_GRACE_MS', '-1', 'SHUTDOWN_GRACE_MS="-1" must be an integer from 0 to 600000 (milliseconds)'],
    [
      'SWEEP_INTERVAL_MS',
      '10s',
      'SWEEP_INTERVAL_MS="10s" must be an integer from 50 to 600000 (milliseconds)',
    ],
    ['APPLY_STREAMS', 'maybe', 'APPLY_STREAMS="maybe" must be true or false'],
    [
      'LOG_LEVEL',
      'verbose',
      'LOG_LEVEL="verbose" must be one of fatal, error, warn, info, debug, trace, silent',
    ],
    [
      'NATS_URL',
      'http://x:4222',
      'NATS_URL="http://x:4222" must start with one of nats://, tls://, ws://, wss://',
    ],
    ['NATS_URL', 'nats://a:4222,b:4222', 'NATS_URL="nats://a:4222,b:4222" must start with one of nats://'],
    ['NATS_URL', '127.0.0.1:4222', 'NATS_URL="127.0.0.1:4222" must start with one of'],
    ['SURREAL_URL', 'bogus://x', 'SURREAL_URL="bogus://x" must start with one of mem://, surrealkv://'],
  ])('%s=%j', (variable, value, message) => {
    const err = configErrorOf(() => loadWorkerConfig({ [variable]: value }));
    expect(err.code).toBe(ErrorCodes.ConfigInvalid);
    expect(err.message).toContain(message);
    expect(err.message.startsWith('invalid configuration: ')).toBe(true);
  });

  it.each([
    [{ NATS_USER: 'u' }, 'NATS_USER and NATS_PASS must be set together'],
    [{ NATS_PASS: 'p' }, 'NATS_USER and NATS_PASS must be set together'],
    [{ NATS_TLS_KEY: '/k.pem' }, 'NATS_TLS_CERT and NATS_TLS_KEY must be set together'],
  ])('%j: pairs are set together', (env, message) => {
    expect(configErrorOf(() => loadNatsConfig(env)).message).toBe(`invalid configuration: ${message}`);
  });

  it('reports every problem at once, in schema order, on one line', () => {
    const err = configErrorOf(() =>
      loadWorkerConfig({
        SWEEP_INTERVAL_MS: '1',
        NATS_URL: 'http://x',
        HTTP_PORT: '-1',
        USE_RECENCY: 'sometimes',
        NATS_USER: 'only-user',
        SURREAL_URL: 'file:///kg',
      }),
    );
    expect(err.message).not.toContain('\n');
    const problems = err.message.replace('invalid configuration: ', '').split('; ');
    expect(problems.map((p) => p.split(/[= ]/)[0])).toEqual([
      'NATS_URL',
      'SURREAL_URL',
      'HTTP_PORT',
      'USE_RECENCY',
      'SWEEP_INTERVAL_MS',
      'NATS_USER',
    ]);
  });

  it('does not print the password of a rejected URL', () => {
    const err = configErrorOf(() => loadNatsConfig({ NATS_URL: 'http://worker:s3cret@nats:4222' }));
    expect(err.message).toContain('NATS_URL="http://worker:***@nats:4222" must start with one of nats://');
    expect(err.message).not.toContain('s3cret');
  });

  it('parseEnv gives the problems as data: variable, value, message', () => {
    const parsed = parseEnv(['HTTP_PORT', 'NATS_USER', 'NATS_PASS'], { HTTP_PORT: ' x ', NATS_PASS: 'p' });
    expect(parsed).toEqual({
      ok: false,
      problems: [
        { variable: 'HTTP_PORT', value: 'x', message: 'HTTP_PORT="x" must be an integer from 0 to 65535' },
        { variable: 'NATS_USER', message: 'NATS_USER and NATS_PASS must be set together' },
      ],
    });
  });
});
