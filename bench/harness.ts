/**
 * A small benchmark harness: warm up, then take several timed samples and report the median, so one GC pause
 * or scheduler hiccup on a 2-core machine does not decide the figure.
 */
export interface Measurement {
  name: string;
  nsPerOp: number;
  opsPerSec: number;
}

export interface MeasureOptions {
  /** Operations per sample. */
  batch: number;
  samples?: number;
  warmupSamples?: number;
}

/** Runs `op(i)` `batch` times per sample; returns the median ns/op. */
export function measureSync(name: string, op: (i: number) => unknown, options: MeasureOptions): Measurement {
  const { batch, samples = 9, warmupSamples = 3 } = options;
  let sink: unknown;
  const timings: number[] = [];
  for (let s = 0; s < warmupSamples + samples; s += 1) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < batch; i += 1) sink = op(i);
    const elapsed = Number(process.hrtime.bigint() - start);
    if (s >= warmupSamples) timings.push(elapsed / batch);
  }
  if (sink === Symbol.for('never')) console.log(sink);
  const nsPerOp = median(timings);
  return { name, nsPerOp, opsPerSec: 1e9 / nsPerOp };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function printTable(title: string, header: string[], rows: (string | number)[][]): void {
  const cells = [
    header,
    ...rows.map((row) => row.map((cell) => (typeof cell === 'number' ? formatNumber(cell) : cell))),
  ];
  const widths = header.map((_, col) => Math.max(...cells.map((row) => String(row[col] ?? '').length)));
  console.log(`\n${title}`);
  for (const [index, row] of cells.entries()) {
    console.log(row.map((cell, col) => String(cell).padStart(widths[col]!)).join('  '));
    if (index === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
}

function formatNumber(value: number): string {
  if (Number.isInteger(value)) return value.toLocaleString('en-US');
  return value >= 100 ? value.toFixed(0) : value.toFixed(2);
}
