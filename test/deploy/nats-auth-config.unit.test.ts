// The NATS authorization file must load in a real nats-server (2.9.10 here, 2.10+ in production).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from './helpers.js';

const NATS_SERVER = process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server';
const HAVE_NATS = existsSync(NATS_SERVER);
const NATS_DIR = path.join(REPO_ROOT, 'k8s/base/nats');
// Every password variable auth.conf references; in Kubernetes they come from Secret nats-auth.
const PASSWORDS = {
  VAPORA_WORKER_PASSWORD: 'w',
  VAPORA_PRODUCER_PASSWORD: 'p',
  VAPORA_DASHBOARD_PASSWORD: 'd',
  VAPORA_AGENT_CODER_1_PASSWORD: 'a',
};

function checkConfig(conf: string, env: Record<string, string>): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      NATS_SERVER,
      ['-t', '-c', conf],
      { env: { ...process.env, ...env }, timeout: 20_000 },
      (err, out, errOut) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, output: `${out}${errOut}` });
      },
    );
  });
}

/** auth.conf inside a minimal JetStream server config, as a later integration test will run it. */
async function wrapper(dir: string, authFile = path.join(NATS_DIR, 'auth.conf')): Promise<string> {
  await copyFile(authFile, path.join(dir, 'auth.conf'));
  const conf = path.join(dir, 'server.conf');
  await writeFile(
    conf,
    `port: -1\njetstream { store_dir: "${path.join(dir, 'js')}" }\ninclude ./auth.conf\n`,
  );
  return conf;
}

const describeNats = HAVE_NATS ? describe : describe.skip;
if (!HAVE_NATS) console.warn(`skipped NATS config tests: ${NATS_SERVER} is not installed`);

describeNats(`NATS auth config with ${NATS_SERVER}`, () => {
  let dir = '';
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vapora-nats-conf-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('accepts auth.conf included from a JetStream config', async () => {
    const { code, output } = await checkConfig(await wrapper(dir), PASSWORDS);
    expect(output).toMatch(/is valid/);
    expect(code).toBe(0);
  });

  it('accepts the cluster config nats.conf (server name from the pod environment)', async () => {
    await copyFile(path.join(NATS_DIR, 'nats.conf'), path.join(dir, 'nats.conf'));
    await copyFile(path.join(NATS_DIR, 'auth.conf'), path.join(dir, 'auth.conf'));
    const { code, output } = await checkConfig(path.join(dir, 'nats.conf'), {
      ...PASSWORDS,
      SERVER_NAME: 'nats-0',
    });
    expect(output).toMatch(/is valid/);
    expect(code).toBe(0);
  });

  it('rejects the config when a password variable is not provided (the check is real)', async () => {
    const { VAPORA_AGENT_CODER_1_PASSWORD: _omitted, ...rest } = PASSWORDS;
    const { code, output } = await checkConfig(await wrapper(dir), rest);
    expect(code).not.toBe(0);
    expect(output).toMatch(/VAPORA_AGENT_CODER_1_PASSWORD/);
  });
});
