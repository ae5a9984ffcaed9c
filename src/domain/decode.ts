/**
 * One decode path for every inbound message: bytes → JSON → schema → typed value, or a list of problems that
 * name the failing field. Used by the consumers to decide "dead-letter with reason" without throwing.
 */
import type { Static, TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { TypeCheck } from '@sinclair/typebox/compiler';

export interface DecodeProblem {
  /** JSON pointer of the failing value, `/` for the whole document. */
  path: string;
  message: string;
}

export type DecodeResult<T> =
  { ok: true; value: T } | { ok: false; problems: DecodeProblem[]; reason: string };

const compiled = new WeakMap<TSchema, TypeCheck<TSchema>>();

function checkerFor<T extends TSchema>(schema: T): TypeCheck<T> {
  let check = compiled.get(schema);
  if (!check) {
    check = TypeCompiler.Compile(schema);
    compiled.set(schema, check);
  }
  return check as TypeCheck<T>;
}

/** Decodes a JSON text or raw bytes (UTF-8) against a schema. Never throws. */
export function decode<T extends TSchema>(schema: T, input: Uint8Array | string): DecodeResult<Static<T>> {
  let text: string;
  try {
    text = typeof input === 'string' ? input : new TextDecoder('utf-8', { fatal: true }).decode(input);
  } catch {
    return failure([{ path: '/', message: 'payload is not valid UTF-8' }]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return failure([{ path: '/', message: `payload is not JSON (${(err as Error).message})` }]);
  }
  return decodeValue(schema, json);
}

/** Validates an already parsed value. Extra properties are kept (forward compatibility). */
export function decodeValue<T extends TSchema>(schema: T, value: unknown): DecodeResult<Static<T>> {
  const check = checkerFor(schema);
  if (check.Check(value)) return { ok: true, value };
  const problems: DecodeProblem[] = [];
  const seen = new Set<string>();
  for (const error of check.Errors(value)) {
    const path = error.path === '' ? '/' : error.path;
    // Report one problem per field: the first (most specific) message TypeBox gives for that path.
    if (seen.has(path)) continue;
    seen.add(path);
    problems.push({ path, message: describe(error.schema, error.message, error.value) });
  }
  return failure(problems);
}

function describe(schema: TSchema, message: string, value: unknown): string {
  if (value === undefined) return 'is required';
  const hint = typeof schema.description === 'string' ? `: ${schema.description}` : '';
  return `${message.charAt(0).toLowerCase()}${message.slice(1)}${hint}`;
}

function failure(problems: DecodeProblem[]): { ok: false; problems: DecodeProblem[]; reason: string } {
  return { ok: false, problems, reason: problems.map((p) => `${p.path} ${p.message}`).join('; ') };
}
