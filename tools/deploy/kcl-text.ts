// Lexical helpers for the KCL subset used by the workspace: strings, comments, brackets.
// Pure string functions, shared by the structure and type checks.

const OPEN = '([{';
const CLOSE = ')]}';

export interface BracketIssue {
  line: number;
  problem: string;
}

/** Mismatched or unclosed brackets, ignoring those inside strings and comments. */
export function bracketIssues(text: string): BracketIssue[] {
  const stack: { ch: string; line: number }[] = [];
  const issues: BracketIssue[] = [];
  let line = 1;
  scan(text, (ch, i, kind) => {
    if (ch === '\n') line++;
    if (kind !== 'code') return;
    if (OPEN.includes(ch)) stack.push({ ch, line });
    const closeAt = CLOSE.indexOf(ch);
    if (closeAt >= 0) {
      const top = stack.pop();
      const expected = top ? CLOSE[OPEN.indexOf(top.ch)] : undefined;
      if (expected !== ch) {
        const opened = top ? `, '${top.ch}' opened on line ${top.line}` : '';
        issues.push({ line, problem: `unbalanced bracket: '${ch}' at offset ${i}${opened}` });
      }
    }
  });
  for (const open of stack) issues.push({ line: open.line, problem: `unclosed '${open.ch}'` });
  return issues;
}

export type CharKind = 'code' | 'string' | 'comment';

/**
 * Visit every character with its kind (code, inside a string, inside a comment).
 * Handles "…", '…', """…""" and # comments; a newline always counts as code.
 */
export function scan(text: string, visit: (ch: string, index: number, kind: CharKind) => void): void {
  let quote = '';
  let comment = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charAt(i);
    if (comment) {
      if (ch === '\n') comment = false;
      visit(ch, i, comment ? 'comment' : 'code');
    } else if (quote) {
      if (ch === '\\') {
        visit(ch, i, 'string');
        i++;
        if (i < text.length) visit(text.charAt(i), i, 'string');
      } else if (text.startsWith(quote, i)) {
        for (let k = 0; k < quote.length; k++) visit(text.charAt(i + k), i + k, 'string');
        i += quote.length - 1;
        quote = '';
      } else {
        visit(ch, i, 'string');
      }
    } else if (ch === '#') {
      comment = true;
      visit(ch, i, 'comment');
    } else if (ch === '"' || ch === "'") {
      quote = text.startsWith(ch.repeat(3), i) ? ch.repeat(3) : ch;
      for (let k = 0; k < quote.length; k++) visit(text.charAt(i + k), i + k, 'string');
      i += quote.length - 1;
    } else {
      visit(ch, i, 'code');
    }
  }
}

/** The text with comments removed (strings kept). */
export function stripComments(text: string): string {
  let out = '';
  scan(text, (ch, _i, kind) => {
    if (kind !== 'comment') out += ch;
  });
  return out;
}

/** Split at top-level separators (outside brackets and strings). */
export function splitTopLevel(text: string, separators: readonly string[]): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  scan(text, (ch, i, kind) => {
    if (kind !== 'code') return;
    if (OPEN.includes(ch)) depth++;
    else if (CLOSE.includes(ch)) depth--;
    else if (depth === 0 && separators.includes(ch)) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  });
  parts.push(text.slice(start));
  return parts.map((p) => p.trim()).filter((p) => p.length > 0);
}

/** Index of the first top-level `=` that is an assignment (not `==`, `<=`, `>=`, `!=`), or -1. */
export function assignmentIndex(text: string): number {
  let depth = 0;
  let found = -1;
  scan(text, (ch, i, kind) => {
    if (kind !== 'code' || found >= 0) return;
    if (OPEN.includes(ch)) depth++;
    else if (CLOSE.includes(ch)) depth--;
    else if (ch === '=' && depth === 0) {
      const prev = text.charAt(i - 1);
      const next = text.charAt(i + 1);
      if (next !== '=' && !'=<>!'.includes(prev)) found = i;
    }
  });
  return found;
}

/** Net bracket depth change of a line (code only). */
export function depthDelta(text: string): number {
  let d = 0;
  scan(text, (ch, _i, kind) => {
    if (kind !== 'code') return;
    if (OPEN.includes(ch)) d++;
    else if (CLOSE.includes(ch)) d--;
  });
  return d;
}
