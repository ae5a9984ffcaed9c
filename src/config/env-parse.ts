/**
 * Environment strings → typed values, checked against EnvSchema. Every problem is collected (an operator fixing a
 * manifest wants the whole list, not one error per restart), and each names the variable, the value it had and
 * what is allowed, in words derived from the schema.
 */
import type { TSchema } from '@sinclair/typebox';
import { KindGuard } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { EnvName, EnvValues, EnvVariableSchema } from './env-schema.js';
import { envVariable } from './env-schema.js';

export type EnvSource = Readonly<Record<string, string | undefined>>;

export interface ConfigProblem {
  variable: EnvName;
  /** The value as set (trimmed); absent when the problem is a missing partner. */
  value?: string;
  /** One line, e.g. `HTTP_PORT="http" must be an integer from 0 to 65535`. */
  message: string;
}

export type ParsedEnv<K extends EnvName> =
  { ok: true; values: Pick<EnvValues, K> } | { ok: false; problems: ConfigProblem[] };

const TRUE_WORDS = ['1', 'true', 'yes', 'on'];
const FALSE_WORDS = ['0', 'false', 'no', 'off'];

/**
 * Parses the named variables. Unset or blank means the schema default (or absent when there is none);
 * values are trimmed. Unknown variables in `source` are ignored: the process environment holds everything else.
 */
export function parseEnv<K extends EnvName>(names: readonly K[], source: EnvSource): ParsedEnv<K> {
  const values: Partial<Record<EnvName, unknown>> = {};
  const problems: ConfigProblem[] = [];
  for (const name of names) {
    const schema = envVariable(name);
    const raw = source[name]?.trim();
    if (raw === undefined || raw === '') {
      if (schema.default !== undefined) values[name] = schema.default;
      continue;
    }
    const value = coerce(schema, raw);
    if (value !== undefined && Value.Check(schema, value) && schemesAllowed(schema, raw)) {
      values[name] = value;
    } else {
      const shown = redactUserinfo(raw);
      problems.push({
        variable: name,
        value: shown,
        message: `${name}=${JSON.stringify(shown)} ${mustBe(schema)}`,
      });
    }
  }
  for (const name of names) {
    const partner = envVariable(name).together as K | undefined;
    if (partner === undefined || !names.includes(partner)) continue;
    if (
      ((source[name]?.trim() || undefined) === undefined) !==
      ((source[partner]?.trim() || undefined) === undefined)
    ) {
      problems.push({ variable: name, message: `${name} and ${partner} must be set together` });
    }
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, values: values as Pick<EnvValues, K> };
}

/** `nats://u:secret@h` → `nats://u:***@h`: a rejected URL is printed, and logs outlive the process. */
function redactUserinfo(value: string): string {
  return value.replace(/\/\/([^:/@\s]*):[^@/\s]*@/g, '//$1:***@');
}

/** The string as the schema's type, or undefined when it cannot be read as one. Range checks come after. */
function coerce(schema: EnvVariableSchema, raw: string): unknown {
  if (KindGuard.IsInteger(schema)) return /^[+-]?\d+$/.test(raw) ? Number(raw) : undefined;
  if (KindGuard.IsBoolean(schema)) {
    const word = raw.toLowerCase();
    return TRUE_WORDS.includes(word) ? true : FALSE_WORDS.includes(word) ? false : undefined;
  }
  if (isEnum(schema)) return raw.toLowerCase();
  return raw;
}

function schemesAllowed(schema: EnvVariableSchema, raw: string): boolean {
  if (schema.schemes === undefined) return true;
  const urls = schema.list ? raw.split(',').map((url) => url.trim()) : [raw];
  return urls.every((url) => {
    const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
    return scheme !== undefined && schema.schemes!.includes(scheme);
  });
}

/** What the schema allows, as the end of a sentence starting with the variable and its value. */
export function mustBe(schema: EnvVariableSchema): string {
  if (KindGuard.IsInteger(schema)) {
    const unit = schema.unit === 'ms' ? ' (milliseconds)' : '';
    return `must be an integer from ${schema.minimum} to ${schema.maximum}${unit}`;
  }
  if (KindGuard.IsBoolean(schema))
    return `must be true or false (also ${[...TRUE_WORDS, ...FALSE_WORDS].join(', ')})`;
  if (isEnum(schema)) return `must be one of ${enumValues(schema).join(', ')}`;
  if (schema.schemes !== undefined) {
    const schemes = schema.schemes.map((s) => `${s}://`).join(', ');
    return `must start with one of ${schemes}${schema.list ? ' (several separated by commas)' : ''}`;
  }
  return 'is not allowed';
}

function isEnum(schema: EnvVariableSchema): boolean {
  return (
    KindGuard.IsUnion(schema as unknown) && members(schema).every((member) => KindGuard.IsLiteral(member))
  );
}

/** The values of a union of literals (LOG_LEVEL). */
export function enumValues(schema: EnvVariableSchema): string[] {
  return members(schema).map((member) => String((member as { const?: unknown }).const));
}

function members(schema: EnvVariableSchema): readonly TSchema[] {
  return (schema as { anyOf?: readonly TSchema[] }).anyOf ?? [];
}
