/**
 * The environment schema as text: the `Environment:` block of each command's `--help`, and the README's table
 * (`npm run docs:env` writes it; a unit test fails when the README and the schema disagree).
 */
import { KindGuard } from '@sinclair/typebox';
import { enumValues } from './env-parse.js';
import type { EnvName, EnvVariableSchema } from './env-schema.js';
import { ENV_NAMES, envVariable } from './env-schema.js';
import { ErrorCodes, VaporaError } from '../errors.js';

export const ENV_TABLE_BEGIN = '<!-- env-table:begin -->';
export const ENV_TABLE_END = '<!-- env-table:end -->';

export interface EnvDoc {
  name: EnvName;
  /** `integer`, `boolean`, `string`, `URL`, `one of`. */
  type: string;
  unit?: string;
  /** The default as an operator would write it; undefined when unset means "not used". */
  default?: string;
  /** Allowed values in words; undefined for free text. */
  allowed?: string;
  description: string;
}

export function describeEnv(name: EnvName): EnvDoc {
  const schema = envVariable(name);
  const doc: EnvDoc = { name, type: typeName(schema), description: schema.description };
  if (schema.unit !== undefined) doc.unit = schema.unit;
  if (schema.default !== undefined) doc.default = String(schema.default);
  const allowed = allowedValues(schema);
  if (allowed !== undefined) doc.allowed = allowed;
  return doc;
}

function typeName(schema: EnvVariableSchema): string {
  if (KindGuard.IsInteger(schema)) return 'integer';
  if (KindGuard.IsBoolean(schema)) return 'boolean';
  if (schema.schemes !== undefined) return schema.list ? 'URL list' : 'URL';
  if (enumValues(schema).length > 0) return 'enum';
  return 'string';
}

function allowedValues(schema: EnvVariableSchema): string | undefined {
  if (KindGuard.IsInteger(schema)) return `${schema.minimum} to ${schema.maximum}`;
  if (KindGuard.IsBoolean(schema)) return 'true, false';
  if (schema.schemes !== undefined) return schema.schemes.map((s) => `${s}://`).join(', ');
  const values = enumValues(schema);
  if (values.length > 0) return values.join(', ');
  if (schema.together !== undefined) return `set together with ${schema.together}`;
  return undefined;
}

/** "5 min" for 300000 ms: milliseconds are exact in the config and readable in the docs. */
function readableMs(value: string, unit: string | undefined): string | undefined {
  const ms = Number(value);
  if (unit !== 'ms' || !Number.isFinite(ms) || ms < 1000) return undefined;
  for (const [size, label] of [
    [86_400_000, 'd'],
    [3_600_000, 'h'],
    [60_000, 'min'],
    [1000, 's'],
  ] as const) {
    if (ms % size === 0) return `${ms / size} ${label}`;
  }
  return undefined;
}

function withReadableMs(value: string, unit: string | undefined, code = (v: string) => v): string {
  const readable = readableMs(value, unit);
  return readable === undefined ? code(value) : `${code(value)} (${readable})`;
}

const cell = (text: string) => text.replaceAll('|', '\\|');

/** The README table, markers excluded. */
export function renderEnvTable(names: readonly EnvName[] = ENV_NAMES): string {
  const rows = names.map((name) => {
    const d = describeEnv(name);
    const type = d.unit !== undefined ? `${d.type} (${d.unit})` : d.type;
    const def = d.default !== undefined ? withReadableMs(d.default, d.unit, (v) => `\`${v}\``) : '—';
    return `| \`${d.name}\` | ${type} | ${def} | ${cell(d.allowed ?? '—')} | ${cell(d.description)} |`;
  });
  return [
    '| variable | type | default | allowed | meaning |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

/** The README with its table replaced; throws when the markers are missing. */
export function replaceEnvTable(readme: string, table: string = renderEnvTable()): string {
  const begin = readme.indexOf(ENV_TABLE_BEGIN);
  const end = readme.indexOf(ENV_TABLE_END);
  if (begin < 0 || end < begin) {
    throw new VaporaError(ErrorCodes.Internal, `README has no ${ENV_TABLE_BEGIN} … ${ENV_TABLE_END} markers`);
  }
  return `${readme.slice(0, begin + ENV_TABLE_BEGIN.length)}\n${table}\n${readme.slice(end)}`;
}

/** The table currently between the markers, or undefined when they are missing. */
export function extractEnvTable(readme: string): string | undefined {
  const begin = readme.indexOf(ENV_TABLE_BEGIN);
  const end = readme.indexOf(ENV_TABLE_END);
  if (begin < 0 || end < begin) return undefined;
  return readme.slice(begin + ENV_TABLE_BEGIN.length, end).trim();
}

/**
 * The `Environment:` block of a command's help: one entry per variable, wrapped to `width` columns.
 * Backticks are dropped: they are markdown, not terminal.
 */
export function renderEnvHelp(names: readonly EnvName[], width = 110): string {
  if (names.length === 0) return '';
  const nameWidth = Math.max(...names.map((n) => n.length));
  const indent = ' '.repeat(2 + nameWidth + 2);
  const lines = ['Environment:'];
  for (const name of names) {
    const d = describeEnv(name);
    const facts = [
      d.default !== undefined ? `default ${withReadableMs(d.default, d.unit)}` : undefined,
      d.allowed !== undefined
        ? `${d.type === 'integer' && d.unit ? `${d.allowed} ${d.unit}` : d.allowed}`
        : undefined,
    ].filter((f) => f !== undefined);
    const text = `${d.description.replaceAll('`', '')}${facts.length > 0 ? ` [${facts.join('; ')}]` : ''}`;
    const wrapped = wrap(text, width - indent.length);
    lines.push(
      `  ${name.padEnd(nameWidth)}  ${wrapped[0] ?? ''}`,
      ...wrapped.slice(1).map((l) => indent + l),
    );
  }
  return lines.join('\n');
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines;
}
