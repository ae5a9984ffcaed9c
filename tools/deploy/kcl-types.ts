// KCL type annotations and whether a default value literal has the declared type.
import { splitTopLevel } from './kcl-text.js';

export type KclType =
  | { kind: 'basic'; name: 'str' | 'int' | 'float' | 'bool' | 'any' }
  | { kind: 'list'; item: KclType }
  | { kind: 'dict'; key: KclType; value: KclType }
  | { kind: 'literal'; text: string }
  | { kind: 'schema'; name: string }
  | { kind: 'union'; options: KclType[] };

const BASIC = new Set(['str', 'int', 'float', 'bool', 'any']);
const IDENT = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;
const STRING = /^(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')$/;
const INT = /^-?\d+$/;
const FLOAT = /^-?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?$/;

/** Parse a type annotation; returns an error message for malformed ones. */
export function parseKclType(text: string): KclType | string {
  const t = text.trim();
  const options = splitTopLevel(t, ['|']);
  if (options.length > 1) {
    const parsed = options.map(parseKclType);
    const bad = parsed.find((p): p is string => typeof p === 'string');
    return bad ?? { kind: 'union', options: parsed as KclType[] };
  }
  if (t === '') return 'empty type';
  if (BASIC.has(t)) return { kind: 'basic', name: t as 'str' };
  if (t.startsWith('[') && t.endsWith(']')) {
    const item = parseKclType(t.slice(1, -1));
    return typeof item === 'string' ? item : { kind: 'list', item };
  }
  if (t.startsWith('{') && t.endsWith('}')) {
    const kv = splitTopLevel(t.slice(1, -1), [':']);
    if (kv.length !== 2) return `malformed dict type '${t}'`;
    const key = parseKclType(kv[0] ?? '');
    const value = parseKclType(kv[1] ?? '');
    if (typeof key === 'string') return key;
    if (typeof value === 'string') return value;
    return { kind: 'dict', key, value };
  }
  if (STRING.test(t) || INT.test(t) || FLOAT.test(t) || t === 'True' || t === 'False') {
    return { kind: 'literal', text: t };
  }
  if (IDENT.test(t)) return { kind: 'schema', name: t };
  return `malformed type '${t}'`;
}

/** Schema names a type refers to (to check they are defined). */
export function schemaRefs(type: KclType): string[] {
  switch (type.kind) {
    case 'schema':
      return [type.name];
    case 'list':
      return schemaRefs(type.item);
    case 'dict':
      return [...schemaRefs(type.key), ...schemaRefs(type.value)];
    case 'union':
      return type.options.flatMap(schemaRefs);
    default:
      return [];
  }
}

export function typeToString(type: KclType): string {
  switch (type.kind) {
    case 'basic':
      return type.name;
    case 'list':
      return `[${typeToString(type.item)}]`;
    case 'dict':
      return `{${typeToString(type.key)}:${typeToString(type.value)}}`;
    case 'literal':
      return type.text;
    case 'schema':
      return type.name;
    case 'union':
      return type.options.map(typeToString).join(' | ');
  }
}

/**
 * Whether a default expression has the declared type. Literals are checked; other expressions
 * (references, calls, arithmetic) cannot be typed without KCL itself and are accepted.
 */
export function defaultMatches(type: KclType, expr: string): boolean {
  const e = expr.trim();
  if (e === 'None' || e === 'Undefined') return true;
  if (!isLiteral(e)) return true;
  switch (type.kind) {
    case 'basic':
      return basicMatches(type.name, e);
    case 'literal':
      return normalizeLiteral(type.text) === normalizeLiteral(e);
    case 'union':
      return type.options.some((o) => defaultMatches(o, e));
    case 'list':
      if (!(e.startsWith('[') && e.endsWith(']'))) return false;
      if (/\sfor\s/.test(e)) return true;
      return splitTopLevel(e.slice(1, -1), [',', '\n']).every((item) => defaultMatches(type.item, item));
    case 'dict':
      if (!(e.startsWith('{') && e.endsWith('}'))) return false;
      return splitTopLevel(e.slice(1, -1), [',', '\n']).every((entry) => {
        const kv = splitTopLevel(entry, [':']);
        return (
          kv.length === 2 && defaultMatches(type.key, kv[0] ?? '') && defaultMatches(type.value, kv[1] ?? '')
        );
      });
    case 'schema':
      return new RegExp(`^${type.name.replace(/\./g, '\\.')}\\s*(\\{[\\s\\S]*\\}|\\([\\s\\S]*\\))$`).test(e);
  }
}

function basicMatches(name: string, e: string): boolean {
  switch (name) {
    case 'str':
      return STRING.test(e);
    case 'int':
      return INT.test(e);
    case 'float':
      return FLOAT.test(e);
    case 'bool':
      return e === 'True' || e === 'False';
    default:
      return true;
  }
}

/** A literal whose type is evident: string, number, bool, list, dict or schema instance. */
function isLiteral(e: string): boolean {
  return (
    STRING.test(e) ||
    FLOAT.test(e) ||
    e === 'True' ||
    e === 'False' ||
    e.startsWith('[') ||
    e.startsWith('{') ||
    /^[A-Z][A-Za-z0-9_]*\s*\{/.test(e)
  );
}

function normalizeLiteral(text: string): string {
  return STRING.test(text) ? text.slice(1, -1) : text;
}
