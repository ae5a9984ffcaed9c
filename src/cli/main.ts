/**
 * The `vapora-learning` command. Every failure prints one line saying what was tried and how to fix it, and
 * exits non-zero; `--verbose` adds the stack trace. Bad usage (unknown command or option, missing argument)
 * exits 2 with the usage; a failure while running exits 1.
 */
import { loadEnv } from '../config/config.js';
import { isVaporaError } from '../errors.js';
import type { Command } from './command.js';
import { PROGRAM, UsageError, commandHelp, parseCommandArgs, synopsis, usageLine } from './command.js';
import { COMMANDS } from './command-table.js';
import { packageVersion } from './version.js';

const out = (line: string) => process.stdout.write(`${line}\n`);
const err = (line: string) => process.stderr.write(`${line}\n`);

export function usage(): string {
  const rows: [string, string][] = [
    ...COMMANDS.map((c): [string, string] => [synopsis(c), c.summary]),
    ['help [command]', 'this list, or the help of one command'],
  ];
  const width = Math.max(...rows.map(([left]) => left.length));
  return [
    `${PROGRAM} — assigns tasks to AI agents and learns from every execution result`,
    '',
    `Usage: ${PROGRAM} <command> [options] [--verbose] [--help]`,
    `       ${PROGRAM} --version`,
    '',
    'Commands:',
    ...rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`),
    '',
    `Run '${PROGRAM} <command> --help' for its options and the environment variables it reads.`,
  ].join('\n');
}

/** The command named by the first one or two words, and the arguments after its name. */
function findCommand(args: readonly string[]): { command: Command; rest: string[] } | undefined {
  for (const words of [2, 1]) {
    const name = args.slice(0, words).join(' ');
    const command = COMMANDS.find((c) => c.name === name);
    if (command) return { command, rest: args.slice(words) };
  }
  return undefined;
}

/** The commands of a group (`profiles` → `profiles show`, `profiles rebuild`). */
function groupOf(word: string | undefined): Command[] {
  return COMMANDS.filter((c) => word !== undefined && c.name.startsWith(`${word} `));
}

const groupHelp = (group: readonly Command[]) =>
  group.map((c) => `Usage: ${PROGRAM} ${usageLine(c)}\n  ${c.summary}`).join('\n');

const isHelpFlag = (arg: string) => arg === '--help' || arg === '-h';

/** `help`, `help tasks`, `help tasks publish`. */
function help(words: readonly string[]): number {
  if (words.length === 0) {
    out(usage());
    return 0;
  }
  const found = findCommand(words);
  if (found && found.rest.length === 0) {
    out(commandHelp(found.command));
    return 0;
  }
  const group = groupOf(words[0]);
  if (group.length > 0 && words.length === 1) {
    out(groupHelp(group));
    return 0;
  }
  return unknownCommand(words);
}

function unknownCommand(args: readonly string[]): number {
  const words = args.filter((a) => !a.startsWith('-')).slice(0, 2);
  err(`error: unknown command '${words.join(' ')}'\n\n${usage()}`);
  return 2;
}

export async function main(argv: string[]): Promise<number> {
  const verbose = argv.includes('--verbose');
  const args = argv.filter((a) => a !== '--verbose');
  const first = args[0];
  if (first === undefined || isHelpFlag(first)) return help([]);
  if (first === '--version' || first === '-V') {
    out(packageVersion());
    return 0;
  }
  if (first === 'help') return help(args.slice(1));
  if (first.startsWith('-')) {
    err(`error: unknown option '${first}'\n\n${usage()}`);
    return 2;
  }
  const found = findCommand(args);
  if (!found) {
    const group = groupOf(first);
    if (group.length === 0) return unknownCommand(args);
    if (args.some(isHelpFlag)) {
      out(groupHelp(group));
      return 0;
    }
    const problem =
      args[1] === undefined || args[1].startsWith('-')
        ? `${first} needs one of: ${group.map((c) => c.name).join(', ')}`
        : `unknown command '${first} ${args[1]}'`;
    err(`error: ${problem}\n${groupHelp(group)}`);
    return 2;
  }
  const { command, rest } = found;
  if (rest.some(isHelpFlag)) {
    out(commandHelp(command));
    return 0;
  }
  try {
    const input = parseCommandArgs(command, rest);
    // Every variable the command reads, checked before it connects to anything: all problems in one line.
    loadEnv(command.env);
    const code = await command.run(input);
    return typeof code === 'number' ? code : 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof UsageError) {
      err(`error: ${message}\nUsage: ${PROGRAM} ${usageLine(command)}`);
      return 2;
    }
    err(`error: ${message}`);
    if (verbose) err(`${error instanceof Error ? error.stack : ''}`);
    // KgUnavailableError is not a VaporaError, but its message is just as complete: one line, as for NATS.
    else if (!isVaporaError(error)) err('(run again with --verbose for details)');
    return 1;
  }
}
