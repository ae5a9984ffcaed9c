/**
 * Creates a *fresh* embedded surrealkv store with its full schema in a short-lived child process.
 *
 * Why a child: `DEFINE INDEX` on an embedded store leaks the store inside the native engine for the life of the
 * process (see ./surreal-schema.ts): the process can no longer exit on its own and the file lock is never released.
 * Defining it in a child that ends with `process.exit()` confines the leak to a process that is about to die; the
 * OS releases the lock, and the serving process then opens a store whose index already exists, which does not leak.
 * Costs ~250 ms, once per store directory.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { KgUnavailableError } from '../errors.js';

const CHILD_SCRIPT = `
const { Surreal } = await import('surrealdb');
const { createNodeEngines } = await import('@surrealdb/node');
const { url, namespace, database, surql } = JSON.parse(process.env.VAPORA_KG_BOOTSTRAP);
const db = new Surreal({ engines: createNodeEngines() });
try {
  await db.connect(url, { namespace, database });
  await db.query(surql);
  await db.close();
  process.exit(0);
} catch (err) {
  process.stderr.write(String(err && err.stack || err));
  process.exit(1);
}
`;

export interface BootstrapRequest {
  url: string;
  namespace: string;
  database: string;
  surql: string;
  timeoutMs: number;
}

export function bootstrapEmbeddedStore(request: BootstrapRequest): Promise<void> {
  const { timeoutMs, ...payload } = request;
  // Bare specifiers in `-e` code resolve from the cwd: run it next to this module so it finds the same packages.
  const cwd = fileURLToPath(new URL('.', import.meta.url));
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', CHILD_SCRIPT],
      { cwd, timeout: timeoutMs, env: { ...process.env, VAPORA_KG_BOOTSTRAP: JSON.stringify(payload) } },
      (err, _stdout, stderr) => {
        if (!err) return resolve();
        const detail = err.killed ? `timed out after ${timeoutMs} ms` : stderr.trim() || err.message;
        reject(
          new KgUnavailableError(
            `could not create the knowledge-graph store at ${request.url}: schema bootstrap failed (${detail}). ` +
              'Check that the directory is writable and not in use by another process.',
            { cause: err },
          ),
        );
      },
    );
  });
}
