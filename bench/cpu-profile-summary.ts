/**
 * Where a worker's CPU goes: self time of a V8 `.cpuprofile` (node --cpu-prof) grouped by package or source file,
 * and the top functions. Usage: `npx tsx bench/cpu-profile-summary.ts <file.cpuprofile> [topN]`.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** `node_modules/@scope/pkg/…` → `@scope/pkg`; `/src/worker/x.ts` → `src/worker/x.ts`; built-ins by name. */
export function groupOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : `(${functionName || 'native'})`;
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  const own = /\/((?:src|test|bench)\/.*)$/.exec(url);
  if (own) return own[1]!;
  return url.startsWith('node:') ? url : url.replace(/^file:\/\//, '');
}

/** Self time in ms per key, from the samples and their time deltas (µs). */
export function selfTimes(profile: CpuProfile, keyOf: (node: ProfileNode) => string): Map<string, number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const out = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    if (!node) return;
    const key = keyOf(node);
    out.set(key, (out.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  return out;
}

function print(title: string, times: Map<string, number>, total: number, top: number): void {
  console.log(`\n${title}`);
  for (const [key, ms] of [...times].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${ms.toFixed(0).padStart(8)} ms  ${((ms / total) * 100).toFixed(1).padStart(5)}%  ${key}`);
  }
}

if (process.argv[2]) {
  const profile = JSON.parse(readFileSync(process.argv[2], 'utf8')) as CpuProfile;
  const top = Number(process.argv[3] ?? '25');
  const groups = selfTimes(profile, (n) => groupOf(n.callFrame.url, n.callFrame.functionName));
  const total = [...groups.values()].reduce((a, b) => a + b, 0);
  const idle = groups.get('(idle)') ?? 0;
  console.log(
    `sampled ${total.toFixed(0)} ms, idle ${idle.toFixed(0)} ms, busy ${(total - idle).toFixed(0)} ms`,
  );
  print('self time by package / file', groups, total, top);
  const fns = selfTimes(profile, (n) => {
    const { functionName, url, lineNumber } = n.callFrame;
    return `${functionName || '(anonymous)'}  ${groupOf(url, functionName)}:${lineNumber + 1}`;
  });
  print('self time by function', fns, total, top);
}
