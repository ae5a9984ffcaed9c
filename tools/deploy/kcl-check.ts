// Structural check of a KCL file: schema blocks, typed fields, balanced brackets, typed defaults.
// Not a KCL compiler: it covers the subset the workspace uses and rejects anything else loudly.
import { problem, type DeployProblem } from './problem.js';
import { assignmentIndex, bracketIssues, depthDelta, stripComments } from './kcl-text.js';
import { defaultMatches, parseKclType, schemaRefs, typeToString, type KclType } from './kcl-types.js';

export interface KclField {
  name: string;
  optional: boolean;
  type: KclType;
  /** Default expression as written, if any. */
  default?: string;
  line: number;
}

export interface KclSchema {
  name: string;
  line: number;
  fields: KclField[];
}

interface LogicalLine {
  line: number;
  indent: number;
  text: string;
}

const SCHEMA_HEAD = /^schema\s+([A-Za-z_][A-Za-z0-9_]*)\s*(?:\(\s*[A-Za-z_][\w.]*\s*\))?\s*:$/;
const FIELD_HEAD = /^([A-Za-z_][A-Za-z0-9_]*)(\?)?\s*:\s*([\s\S]+)$/;
const IMPORT = /^import\s+[A-Za-z_][\w.]*(\s+as\s+[A-Za-z_]\w*)?$/;
const TOP_ASSIGN = /^[A-Za-z_][A-Za-z0-9_]*(\s*:\s*[\w.]+)?\s*=\s*\S/;

/** Schemas declared in a file (used to resolve schema-typed fields across files). */
export function declaredSchemas(text: string): string[] {
  return [...stripComments(text).matchAll(/^schema\s+([A-Za-z_][A-Za-z0-9_]*)/gm)].map((m) => m[1] ?? '');
}

/**
 * Check one KCL file. `known` is every schema name declared in the workspace.
 */
export function checkKcl(
  file: string,
  text: string,
  known: ReadonlySet<string>,
): { schemas: KclSchema[]; problems: DeployProblem[] } {
  const problems: DeployProblem[] = bracketIssues(text).map((b) =>
    problem(file, `line ${b.line}`, b.problem),
  );
  // Unbalanced brackets make the line structure meaningless; stop at the first class of error.
  if (problems.length > 0) return { schemas: [], problems };

  const schemas: KclSchema[] = [];
  let current: KclSchema | undefined;
  let fieldIndent = -1;
  let inCheck = false;
  for (const l of logicalLines(text)) {
    if (l.indent === 0) {
      current = undefined;
      inCheck = false;
      const head = SCHEMA_HEAD.exec(l.text);
      if (head) {
        current = { name: head[1] ?? '', line: l.line, fields: [] };
        schemas.push(current);
        fieldIndent = -1;
      } else if (!IMPORT.test(l.text) && !TOP_ASSIGN.test(l.text)) {
        problems.push(problem(file, `line ${l.line}`, `unexpected top-level statement '${clip(l.text)}'`));
      }
      continue;
    }
    if (!current) {
      problems.push(problem(file, `line ${l.line}`, 'indented line outside a schema block'));
      continue;
    }
    if (fieldIndent < 0) fieldIndent = l.indent;
    if (l.indent > fieldIndent) {
      if (!inCheck) problems.push(problem(file, `line ${l.line}`, 'unexpected indentation'));
      continue;
    }
    if (l.indent < fieldIndent) {
      problems.push(problem(file, `line ${l.line}`, 'inconsistent indentation in schema body'));
      continue;
    }
    inCheck = l.text === 'check:';
    if (inCheck || isDocString(l.text)) continue;
    const field = parseField(file, current.name, l, known, problems);
    if (field) current.fields.push(field);
  }
  for (const s of schemas) {
    if (s.fields.length === 0) problems.push(problem(file, `schema ${s.name}`, 'schema declares no fields'));
  }
  return { schemas, problems };
}

function parseField(
  file: string,
  schema: string,
  l: LogicalLine,
  known: ReadonlySet<string>,
  problems: DeployProblem[],
): KclField | undefined {
  const key = `${schema}.${l.text.split(/[?:=\s]/)[0] ?? ''}`;
  const m = FIELD_HEAD.exec(l.text);
  if (!m) {
    problems.push(problem(file, key, `field has no type annotation (line ${l.line})`));
    return undefined;
  }
  const rest = m[3] ?? '';
  const eq = assignmentIndex(rest);
  const typeText = eq >= 0 ? rest.slice(0, eq) : rest;
  const def = eq >= 0 ? rest.slice(eq + 1).trim() : undefined;
  const type = parseKclType(typeText);
  if (typeof type === 'string') {
    problems.push(problem(file, key, `${type} (line ${l.line})`));
    return undefined;
  }
  for (const ref of schemaRefs(type)) {
    if (!known.has(ref)) problems.push(problem(file, key, `unknown type '${ref}' (line ${l.line})`));
  }
  if (def !== undefined && def === '') {
    problems.push(problem(file, key, `empty default (line ${l.line})`));
  } else if (def !== undefined && !defaultMatches(type, def)) {
    problems.push(
      problem(file, key, `default ${clip(def)} is not of type ${typeToString(type)} (line ${l.line})`),
    );
  }
  const field: KclField = { name: m[1] ?? '', optional: m[2] === '?', type, line: l.line };
  if (def !== undefined) field.default = def;
  return field;
}

/** Non-blank lines without comments, joined while brackets are open. */
function logicalLines(text: string): LogicalLine[] {
  const out: LogicalLine[] = [];
  const lines = stripComments(text).split('\n');
  let pending: LogicalLine | undefined;
  let depth = 0;
  lines.forEach((raw, i) => {
    if (pending) {
      pending.text += '\n' + raw.trim();
    } else {
      if (raw.trim() === '') return;
      pending = { line: i + 1, indent: raw.length - raw.trimStart().length, text: raw.trim() };
    }
    depth += depthDelta(raw);
    if (depth <= 0 && !openTripleQuote(pending.text)) {
      pending.text = pending.text.trim();
      out.push(pending);
      pending = undefined;
      depth = 0;
    }
  });
  if (pending) out.push(pending);
  return out;
}

function openTripleQuote(text: string): boolean {
  return (text.match(/"""/g) ?? []).length % 2 === 1;
}

function isDocString(text: string): boolean {
  return /^("""[\s\S]*"""|"[^"]*")$/.test(text);
}

function clip(text: string): string {
  const one = text.replace(/\s+/g, ' ');
  return one.length > 60 ? `${one.slice(0, 57)}...` : one;
}
