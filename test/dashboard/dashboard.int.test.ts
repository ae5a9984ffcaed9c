/**
 * The dashboard as a person sees it: a real nats-server, a worker, SDK agents and the dashboard, driven by
 * headless Chromium (Debian's package, through playwright-core). Asserts what is on screen: the agents, a
 * decision shortly after a task is published, a learning curve drawn with points, a dead letter counted.
 * Saves a screenshot to test-artifacts/dashboard.png (VAPORA_TEST_ARTIFACTS overrides the directory).
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { BrowserContext, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import { Subjects } from '../../src/bus/subjects.js';
import type { DashboardHandle } from '../../src/dashboard/dashboard.js';
import { startDashboard } from '../../src/dashboard/dashboard.js';
import { REPO_ROOT } from '../cli/run-cli.js';
import type { Env } from '../int/harness.js';
import {
  publishRaw,
  publishResult,
  publishTask,
  readProfile,
  result,
  silent,
  startEnv,
  startTestAgent,
  startWorker,
  stopEnv,
} from '../int/harness.js';
import { waitFor } from '../support/wait-for.js';

const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const ARTIFACTS = process.env['VAPORA_TEST_ARTIFACTS'] ?? join(REPO_ROOT, 'test-artifacts');
const DAY_MS = 86_400_000;
const AGENTS = ['reviewer-a', 'reviewer-b', 'coder-c'];

let env: Env;
let dashboard: DashboardHandle;
let browser: BrowserContext;
let page: Page;
let profileDir: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  }
  env = await startEnv();
  await startWorker(env);
  for (const agentId of AGENTS) {
    await startTestAgent(env, agentId, async () => ({ success: agentId !== 'reviewer-b', durationMs: 1200 }));
  }
  // History over several days, so each reviewer has a learning curve of more than one point.
  for (let day = 4; day >= 1; day -= 1) {
    for (const agentId of ['reviewer-a', 'reviewer-b']) {
      await publishResult(
        env,
        result({
          agentId,
          taskType: 'review',
          success: agentId === 'reviewer-a' || day % 2 === 0,
          finishedAt: new Date(Date.now() - day * DAY_MS).toISOString(),
        }),
      );
    }
  }
  await waitFor(async () => (await readProfile(env, 'reviewer-b', 'review'))?.totalExecutions === 4, {
    what: 'the history learned',
    timeoutMs: 20_000,
  });
  dashboard = await startDashboard({ nc: env.nc, log: silent, port: 0 });
  profileDir = await mkdtemp(join(tmpdir(), 'vapora-chromium-'));
  // A fresh profile per run (playwright takes it as the persistent context's dir, i.e. --user-data-dir).
  browser = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 1100 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  page = browser.pages()[0] ?? (await browser.newPage());
  await page.goto(dashboard.url);
}, 120_000);

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await dashboard?.stop();
  await stopEnv(env);
  if (profileDir) await rm(profileDir, { recursive: true, force: true });
});

describe('the dashboard in a browser', () => {
  it('lists every agent as alive with its role and load', async () => {
    for (const agentId of AGENTS) {
      await page.waitForSelector(`#agents tr[data-agent-id="${agentId}"][data-alive="true"]`, {
        timeout: 15_000,
      });
    }
    const row = await page.locator('#agents tr[data-agent-id="reviewer-a"]').innerText();
    expect(row).toContain('developer');
    expect(row).toMatch(/0 \/ 4/);
    expect(await page.locator('#status').innerText()).toBe('live');
  });

  it('draws a learning curve with points for each reviewer, and ranks the better one first', async () => {
    const review = page.locator('.tasktype[data-task-type="review"]');
    await review.waitFor({ timeout: 15_000 });
    // A string, evaluated in the page (the test's tsconfig has no DOM types).
    await page.waitForFunction(
      'document.querySelectorAll(\'.tasktype[data-task-type="review"] circle.curve-point\').length >= 8',
      undefined,
      { timeout: 15_000 },
    );
    for (const agentId of ['reviewer-a', 'reviewer-b']) {
      // One point per day with executions: the four days of history.
      expect(await review.locator(`circle.curve-point[data-agent-id="${agentId}"]`).count()).toBe(4);
    }
    const first = review.locator('tbody tr').first();
    expect(await first.getAttribute('data-agent-id')).toBe('reviewer-a');
    // Ordered by the policy's own pick probability, which the table shows next to the seed score.
    expect(await review.locator('thead').innerText()).toMatch(/thompson P\(pick\)/);
    const chances = (await review.locator('tbody tr td:nth-child(3)').allInnerTexts()).map((t) =>
      Number(t.replace('%', '')),
    );
    expect(chances.length).toBeGreaterThanOrEqual(2);
    expect(chances).toEqual([...chances].sort((a, b) => b - a));
    expect(chances[0]).toBeGreaterThan(0);
    expect(chances.reduce((a, b) => a + b, 0)).toBeCloseTo(100, 0);
  });

  it('shows a decision within seconds of a published task, with its reasoning and policy', async () => {
    const taskId = `dash-task-${Date.now().toString(36)}`;
    await publishTask(env, { taskId, title: 'Review the parser change', taskType: 'review' });
    const item = page.locator(`#decisions li[data-task-id="${taskId}"]`);
    await item.waitFor({ timeout: 10_000 });
    const text = await item.innerText();
    expect(text).toMatch(/reviewer-a|reviewer-b|coder-c/);
    expect(text).toMatch(/thompson|seed|learned|load-fallback/);
    expect(text).toMatch(/final \d\.\d{3}/);
    // The agent completes it: the result shows up in the results feed too.
    await page.locator(`#results li[data-task-id="${taskId}"]`).waitFor({ timeout: 15_000 });
  });

  it('counts a dead letter after a malformed message, by origin and reason', async () => {
    const before = Number(await page.locator('#dead-letter-total').getAttribute('data-total'));
    await publishRaw(env, Subjects.taskArrived, '{"title": no json here');
    await page.waitForSelector(`#dead-letter-total[data-total="${before + 1}"]`, { timeout: 15_000 });
    const panel = await page.locator('#dead-letters').innerText();
    expect(panel).toContain('vapora.tasks.arrived');
    expect(panel).toMatch(/invalid task/);

    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
    expect(existsSync(join(ARTIFACTS, 'dashboard.png'))).toBe(true);
  });
});
