// Parsers that never throw: a syntax error becomes a problem, not a crash.
import { parse as parseTomlText } from 'smol-toml';
import { parseAllDocuments } from 'yaml';
import { problem, type DeployProblem } from './problem.js';

export type Parsed<T> = { ok: true; value: T } | { ok: false; problem: DeployProblem };

export function parseToml(file: string, text: string): Parsed<Record<string, unknown>> {
  try {
    return { ok: true, value: parseTomlText(text) as Record<string, unknown> };
  } catch (err) {
    return { ok: false, problem: problem(file, 'toml', `does not parse: ${firstLine(err)}`) };
  }
}

/** Every non-empty document of a YAML stream. */
export function parseYaml(file: string, text: string): Parsed<unknown[]> {
  const docs = parseAllDocuments(text, { prettyErrors: false });
  if (!Array.isArray(docs)) return { ok: true, value: [] };
  for (const doc of docs) {
    const err = doc.errors[0];
    if (err) return { ok: false, problem: problem(file, 'yaml', `does not parse: ${firstLine(err)}`) };
  }
  return {
    ok: true,
    value: docs.map((d) => d.toJS() as unknown).filter((v) => v !== null && v !== undefined),
  };
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0] ?? text;
}
