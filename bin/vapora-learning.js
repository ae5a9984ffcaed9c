#!/usr/bin/env node
// Entry point of the installed command; runs the compiled CLI from dist/ (npm run build).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write(
    "error: dist/ is missing; run 'npm run build' first (or use 'npm run cli -- <command>')\n",
  );
  process.exit(1);
}
const { main } = await import(entry.href);
const code = await main(process.argv.slice(2));
// Exit explicitly: an embedded KG store may keep the event loop alive after close.
process.exit(code);
