/** The README's environment table and the help text come from the schema; these tests catch a drifted copy. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import {
  ENV_TABLE_BEGIN,
  ENV_TABLE_END,
  extractEnvTable,
  renderEnvHelp,
  renderEnvTable,
  replaceEnvTable,
} from '../../src/config/env-docs.js';
import { ENV_NAMES, envNamesOf } from '../../src/config/env-schema.js';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('README environment table', () => {
  it('is the table generated from the schema (fix: npm run docs:env)', () => {
    const table = extractEnvTable(README);
    expect(table).toBeDefined(); // the markers are missing when this fails
    expect(table).toBe(renderEnvTable());
  });

  it('has one row per variable, in schema order, with its default', () => {
    const rows = renderEnvTable()
      .split('\n')
      .slice(2)
      .map((row) => row.split(' | '));
    expect(rows.map((cells) => cells[0]!.replace(/^\| `|`$/g, ''))).toEqual(ENV_NAMES);
    const byName = new Map(rows.map((cells) => [cells[0]!.replace(/^\| `|`$/g, ''), cells]));
    expect(byName.get('HTTP_PORT')?.slice(1, 4)).toEqual(['integer', '`8080`', '0 to 65535']);
    expect(byName.get('UNASSIGNABLE_AFTER_MS')?.slice(1, 3)).toEqual(['integer (ms)', '`300000` (5 min)']);
    expect(byName.get('NATS_TOKEN')?.[2]).toBe('—');
  });

  it('replacing the table touches nothing outside the markers', () => {
    const readme = `# Title\n\nbefore\n${ENV_TABLE_BEGIN}\n| old |\n${ENV_TABLE_END}\nafter\n`;
    expect(replaceEnvTable(readme, '| new |')).toBe(
      `# Title\n\nbefore\n${ENV_TABLE_BEGIN}\n| new |\n${ENV_TABLE_END}\nafter\n`,
    );
    expect(() => replaceEnvTable('# no markers\n')).toThrow('env-table:begin');
  });
});

describe('help text', () => {
  it('lists every variable it is given, with defaults and ranges, within the width', () => {
    const names = envNamesOf('nats', 'kg', 'worker');
    const help = renderEnvHelp(names, 100);
    for (const name of names) expect(help).toMatch(new RegExp(`^  ${name} `, 'm'));
    expect(help).toMatch(
      /^ {2}WORKER_CONCURRENCY +messages in flight per consumer per replica \[default 16; 1 to 1024\]$/m,
    );
    expect(help).toContain('default 20000 (20 s); 0 to 600000 ms');
    expect(help).not.toContain('`');
    expect(Math.max(...help.split('\n').map((line) => line.length))).toBeLessThanOrEqual(100);
  });
});
