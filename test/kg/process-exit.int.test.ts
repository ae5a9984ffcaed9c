import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';

const fixture = fileURLToPath(new URL('./fixtures/open-write-close.ts', import.meta.url));

/** Runs the fixture under tsx; resolves with its stdout, or with 'HUNG' if it does not exit within `ms`. */
function runFixture(
  url: string,
  ms: number,
): Promise<{ stdout: string; hung: boolean; code: number | null }> {
  return new Promise((resolve) => {
    const env = { ...process.env, NODE_OPTIONS: '' }; // the child does not need jest's vm-modules flag
    const child = execFile(
      process.execPath,
      ['--import', 'tsx', fixture, url],
      { env, timeout: ms },
      (err, stdout) => resolve({ stdout, hung: err?.killed === true, code: child.exitCode }),
    );
  });
}

describe('embedded store lifecycle at process level', () => {
  it.each([['mem://'], ['surrealkv']])(
    '%s: close() resolves within its bound and the process then exits by itself',
    async (kind) => {
      const dir = await mkdtemp(join(tmpdir(), 'vapora-kg-exit-'));
      try {
        const url = kind === 'surrealkv' ? `surrealkv://${join(dir, 'store')}` : kind;
        // 15 s covers tsx start-up; a hang (the failure mode) is unbounded.
        const { stdout, hung, code } = await runFixture(url, 15_000);
        expect(hung).toBe(false);
        expect(code).toBe(0);
        const closeMs = Number(/closeMs=([\d.]+)/.exec(stdout)?.[1]);
        expect(closeMs).toBeLessThan(2_500);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );
});
