/**
 * One definition per command: its arguments, options and environment drive the parser, the usage line and the
 * `--help` text, so they cannot drift apart. Environment variables are described by src/config/env-schema.ts.
 */
import { parseArgs } from 'node:util';
import { UsageError } from '../errors.js';
import { renderEnvHelp } from '../config/env-docs.js';
import type { EnvName } from '../config/env-schema.js';

/** Bad arguments: the CLI prints the message and the command's usage, and exits 2. */
export { UsageError };

export const PROGRAM = 'vapora-learning';

export interface OptionSpec {
  type: 'string' | 'boolean';
  /** Placeholder of a string option's value in the usage line (`--title TITLE`). */
  value?: string;
  description: string;
  /** Missing or blank is a usage error (exit 2) before the command runs. */
  required?: boolean;
}

export interface ArgSpec {
  name: string;
  description: string;
  /** Missing is a usage error; optional arguments come after the required ones. */
  required?: boolean;
}

type OptionValues<O extends Record<string, OptionSpec>> = {
  [K in keyof O]: O[K] extends { type: 'boolean' }
    ? boolean | undefined
    : O[K] extends { required: true }
      ? string
      : string | undefined;
};
type ArgValues<A extends readonly ArgSpec[]> = {
  [P in A[number] as P['name']]: P extends { required: true } ? string : string | undefined;
};

export interface CommandSpec<O extends Record<string, OptionSpec>, A extends readonly ArgSpec[]> {
  /** One or two words: `worker`, `tasks publish`. */
  name: string;
  /** One line, shown in the command list. */
  summary: string;
  /** More detail for `--help`: what it touches, what to know before running it. */
  description?: string;
  args?: A;
  options?: O;
  /** Variables the command reads, listed in its help with default values and ranges from the schema. */
  env?: readonly EnvName[];
  /** Returns the exit code (0 when void). */
  run(input: { args: ArgValues<A>; options: OptionValues<O> }): Promise<number | void>;
}

export interface ParsedInput {
  args: Record<string, string | undefined>;
  options: Record<string, string | boolean | undefined>;
}

export interface Command {
  name: string;
  summary: string;
  description?: string;
  args: readonly ArgSpec[];
  options: Readonly<Record<string, OptionSpec>>;
  env: readonly EnvName[];
  run(input: ParsedInput): Promise<number | void>;
}

/** Keeps the literal types of `args` and `options`, so `run` gets named, typed values. */
export function defineCommand<const O extends Record<string, OptionSpec>, const A extends readonly ArgSpec[]>(
  spec: CommandSpec<O, A>,
): Command {
  return {
    name: spec.name,
    summary: spec.summary,
    ...(spec.description !== undefined ? { description: spec.description } : {}),
    args: spec.args ?? [],
    options: spec.options ?? {},
    env: spec.env ?? [],
    // The parser below enforces what the types promise (required arguments and options are present).
    run: (input) => spec.run(input as { args: ArgValues<A>; options: OptionValues<O> }),
  };
}

const optionUsage = (name: string, o: OptionSpec) =>
  o.type === 'boolean' ? `--${name}` : `--${name} ${o.value ?? name.toUpperCase()}`;
const argUsage = (a: ArgSpec) => (a.required ? `<${a.name}>` : `[${a.name}]`);

/** The command and its positional arguments: `tasks show <taskId>`. */
export function synopsis(command: Command): string {
  return [command.name, ...command.args.map(argUsage)].join(' ');
}

/** `tasks publish --title TITLE [--description TEXT] …`: required options first, as declared. */
export function usageLine(command: Command): string {
  const options = Object.entries(command.options);
  return [
    synopsis(command),
    ...options.filter(([, o]) => o.required).map(([n, o]) => optionUsage(n, o)),
    ...options.filter(([, o]) => !o.required).map(([n, o]) => `[${optionUsage(n, o)}]`),
  ].join(' ');
}

/** Options every command takes; main.ts handles them before the command's own parser. */
const GLOBAL_OPTIONS: readonly [string, string][] = [
  ['--verbose', 'print the stack trace of a failure'],
  ['-h, --help', 'show this help'],
];

export function commandHelp(command: Command): string {
  const sections = [`Usage: ${PROGRAM} ${usageLine(command)}`, command.summary];
  if (command.description !== undefined) sections.push(command.description);
  if (command.args.length > 0) {
    sections.push(
      [
        'Arguments:',
        ...columns(command.args.map((a) => [a.name, a.description + (a.required ? '' : ' (optional)')])),
      ].join('\n'),
    );
  }
  const options: [string, string][] = Object.entries(command.options).map(([n, o]) => [
    optionUsage(n, o),
    o.description + (o.required ? ' (required)' : ''),
  ]);
  sections.push(['Options:', ...columns([...options, ...GLOBAL_OPTIONS])].join('\n'));
  if (command.env.length > 0) sections.push(renderEnvHelp(command.env));
  return sections.join('\n\n');
}

function columns(rows: readonly (readonly [string, string])[]): string[] {
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`);
}

/**
 * Parses a command's arguments (after its name). Unknown options, a string option without a value, a missing
 * required argument or option and surplus arguments are usage errors naming the culprit.
 */
export function parseCommandArgs(command: Command, argv: readonly string[]): ParsedInput {
  const { tokens } = parseArgs({
    args: [...argv],
    options: Object.fromEntries(Object.entries(command.options).map(([n, o]) => [n, { type: o.type }])),
    allowPositionals: true,
    // Lenient here so that every error below is worded the same way, naming the option as typed.
    strict: false,
    tokens: true,
  });
  const options: Record<string, string | boolean | undefined> = {};
  const positionals: string[] = [];
  for (const token of tokens) {
    if (token.kind === 'positional') positionals.push(token.value);
    if (token.kind !== 'option') continue;
    const spec = Object.hasOwn(command.options, token.name) ? command.options[token.name] : undefined;
    if (spec === undefined) throw new UsageError(`unknown option '${token.rawName}'`);
    if (spec.type === 'boolean') {
      if (token.value !== undefined) throw new UsageError(`option '${token.rawName}' takes no value`);
      options[token.name] = true;
    } else {
      const placeholder = spec.value ?? token.name.toUpperCase();
      if (token.value === undefined || (!token.inlineValue && token.value.startsWith('-'))) {
        throw new UsageError(`option '${token.rawName}' needs a value (${token.rawName} ${placeholder})`);
      }
      options[token.name] = token.value;
    }
  }
  const missing = [
    ...command.args.filter((a, i) => a.required && positionals[i] === undefined).map(argUsage),
    ...Object.entries(command.options)
      .filter(
        ([n, o]) => o.required && (typeof options[n] !== 'string' || (options[n] as string).trim() === ''),
      )
      .map(([n, o]) => optionUsage(n, o)),
  ];
  if (missing.length > 0) throw new UsageError(`${command.name} needs ${missing.join(' ')}`);
  const surplus = positionals.slice(command.args.length);
  if (surplus.length > 0) {
    throw new UsageError(`unexpected argument${surplus.length > 1 ? 's' : ''} '${surplus.join("' '")}'`);
  }
  return { args: Object.fromEntries(command.args.map((a, i) => [a.name, positionals[i]])), options };
}
