/** Terminal rendering: tables, progress bars and charts. Pure string functions, no colour codes required. */

export function table(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cells = [header, ...rows].map((row) => row.map((cell) => String(cell)));
  const widths = header.map((_, col) => Math.max(...cells.map((row) => (row[col] ?? '').length)));
  const line = (row: readonly string[]) =>
    row
      .map((cell, col) => (isNumeric(cell) ? cell.padStart(widths[col]!) : cell.padEnd(widths[col]!)))
      .join('  ');
  return [line(cells[0]!), widths.map((w) => '─'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join(
    '\n',
  );
}

function isNumeric(text: string): boolean {
  return /^[-+]?[\d,.]+%?$/.test(text);
}

export function progressBar(done: number, total: number, width = 30): string {
  const ratio = total > 0 ? Math.min(1, done / total) : 1;
  const filled = Math.round(ratio * width);
  return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${String(done).padStart(String(total).length)}/${total} ${(ratio * 100).toFixed(0).padStart(3)}%`;
}

export const percent = (value: number): string => `${(value * 100).toFixed(1)}%`;

export interface ChartPoint {
  label: string;
  value: number;
  /** Shown after the bar, e.g. the sample size. */
  note?: string;
}

/** Horizontal bar chart of values in [0, 1], one row per point. */
export function barChart(points: readonly ChartPoint[], width = 40): string {
  const labelWidth = Math.max(0, ...points.map((p) => p.label.length));
  return points
    .map((p) => {
      const v = Math.max(0, Math.min(1, p.value));
      const full = Math.floor(v * width);
      const partial = ' ▏▎▍▌▋▊▉'[Math.floor((v * width - full) * 8)] ?? '';
      const bar = `${'█'.repeat(full)}${full < width ? partial.trim() : ''}`;
      return `${p.label.padEnd(labelWidth)} │${bar.padEnd(width)}│ ${percent(v).padStart(6)}${p.note ? `  ${p.note}` : ''}`;
    })
    .join('\n');
}
