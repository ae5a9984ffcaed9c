// Small readers for untyped parsed data (TOML/YAML), so checks stay free of casts.
export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Value at a dotted path, or undefined. */
export function at(v: unknown, dotted: string): unknown {
  let cur: unknown = v;
  for (const part of dotted.split('.')) {
    if (!isObj(cur)) return undefined;
    cur = cur[part];
  }
  return cur;
}

export function str(v: unknown, dotted: string): string | undefined {
  const x = at(v, dotted);
  return typeof x === 'string' ? x : undefined;
}

export function num(v: unknown, dotted: string): number | undefined {
  const x = at(v, dotted);
  return typeof x === 'number' ? x : undefined;
}

export function arr(v: unknown, dotted: string): unknown[] {
  const x = at(v, dotted);
  return Array.isArray(x) ? x : [];
}

export function strings(v: unknown, dotted: string): string[] {
  return arr(v, dotted).filter((x): x is string => typeof x === 'string');
}
