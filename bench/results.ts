/**
 * Every benchmark row in one shape, and `bench/results.json`: the last run's figures, one entry per row. A run of
 * some sections (`npm run bench -- core`) replaces those sections' rows and keeps the others'.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';

export interface ResultRow {
  /** The `npm run bench` section that produced the row (`core`, `worker`). */
  section: string;
  metric: string;
  values: Record<string, number>;
  ratio: number | null;
  /** `≤ 1.2`, `≥ 0.5`: the bound on `ratio`; null when the project sets none. */
  goal: string | null;
  met: boolean | null;
}

export interface RunInfo {
  date: string;
  node: string;
  loadavg: number[];
}

export interface ResultsFile extends RunInfo {
  /** When each section's rows were measured (a partial run keeps the others' entries). */
  sections: Record<string, RunInfo>;
  rows: ResultRow[];
}

export interface Goal {
  op: '≤' | '≥';
  bound: number;
}

/** Parses `≤ 1.2` / `≥ 0.5` (also `<=` / `>=`); throws on anything else, so a typo cannot pass as met. */
export function parseGoal(goal: string): Goal {
  const match = /^\s*(≤|≥|<=|>=)\s*(\d+(?:\.\d+)?)\s*$/.exec(goal);
  if (!match) throw new Error(`bench goal "${goal}" is not "≤ n" or "≥ n"`);
  const op = match[1] === '≤' || match[1] === '<=' ? '≤' : '≥';
  return { op, bound: Number(match[2]) };
}

/** Whether `ratio` meets `goal`; null when there is no goal or no ratio. A NaN ratio misses. */
export function meetsGoal(ratio: number | null, goal: string | null): boolean | null {
  if (goal === null || ratio === null) return null;
  const { op, bound } = parseGoal(goal);
  return op === '≤' ? ratio <= bound : ratio >= bound;
}

export function resultRow(
  section: string,
  metric: string,
  values: Record<string, number>,
  ratio: number | null,
  goal: string | null,
): ResultRow {
  return { section, metric, values, ratio, goal, met: meetsGoal(ratio, goal) };
}

/** The two printed cells every table ends with: the goal (`—` without one) and `met` / `MISSED` (or blank). */
export function goalCells(row: Pick<ResultRow, 'goal' | 'met'>): [string, string] {
  return [row.goal ?? '—', row.met === null ? '' : row.met ? 'met' : 'MISSED'];
}

export function runInfo(now = new Date()): RunInfo {
  return { date: now.toISOString(), node: process.version, loadavg: loadavg() };
}

/**
 * This run's rows over the previous file: the sections that ran replace their rows (in place, keeping the file's
 * section order; new sections go last), the others are kept as they were.
 */
export function mergeResults(
  previous: ResultsFile | undefined,
  run: RunInfo,
  ranSections: readonly string[],
  rows: readonly ResultRow[],
): ResultsFile {
  const ran = new Set(ranSections);
  const order: string[] = [];
  for (const name of [...(previous?.rows.map((r) => r.section) ?? []), ...ranSections]) {
    if (!order.includes(name)) order.push(name);
  }
  const merged = order.flatMap((name) =>
    ran.has(name)
      ? rows.filter((r) => r.section === name)
      : (previous?.rows.filter((r) => r.section === name) ?? []),
  );
  const sections: Record<string, RunInfo> = {};
  for (const name of order) {
    const info = ran.has(name) ? run : previous?.sections[name];
    if (info) sections[name] = info;
  }
  return { ...run, sections, rows: merged };
}

export async function readResults(path: string): Promise<ResultsFile | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const parsed = JSON.parse(text) as Partial<ResultsFile>;
  return Array.isArray(parsed.rows)
    ? { ...runInfo(), sections: {}, ...parsed, rows: parsed.rows }
    : undefined;
}

export async function writeResults(path: string, results: ResultsFile): Promise<void> {
  await writeFile(path, `${JSON.stringify(results, null, 2)}\n`);
}
