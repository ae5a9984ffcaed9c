/** The CLI's command definitions: one definition drives parsing, usage and help. */
import { describe, expect, it, jest } from '@jest/globals';
import { readFileSync } from 'node:fs';
import type { Command } from '../../src/cli/command.js';
import {
  UsageError,
  commandHelp,
  defineCommand,
  parseCommandArgs,
  usageLine,
} from '../../src/cli/command.js';
import { COMMANDS } from '../../src/cli/command-table.js';
import { main } from '../../src/cli/main.js';
import { envNamesOf } from '../../src/config/env-schema.js';

const noop = async () => undefined;
const publish = defineCommand({
  name: 'tasks publish',
  summary: 'publish',
  options: {
    id: { type: 'string', value: 'ID', description: 'id' },
    title: { type: 'string', value: 'TITLE', description: 'title', required: true },
    dry: { type: 'boolean', description: 'do nothing' },
  },
  run: noop,
});
const curve = defineCommand({
  name: 'curve',
  summary: 'curve',
  args: [
    { name: 'agentId', description: 'a', required: true },
    { name: 'taskType', description: 't', required: true },
    { name: 'days', description: 'd' },
  ],
  run: noop,
});

function usageErrorOf(command: Command, argv: string[]): string {
  try {
    parseCommandArgs(command, argv);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error(`expected a usage error for ${argv.join(' ')}`);
}

describe('usage line', () => {
  it('puts arguments first, then required options, then the optional ones in brackets', () => {
    expect(usageLine(publish)).toBe('tasks publish --title TITLE [--id ID] [--dry]');
    expect(usageLine(curve)).toBe('curve <agentId> <taskType> [days]');
  });
});

describe('parsing', () => {
  it('gives named arguments and typed options', () => {
    expect(parseCommandArgs(publish, ['--title', 'Fix it', '--dry', '--id=t1'])).toEqual({
      args: {},
      options: { title: 'Fix it', dry: true, id: 't1' },
    });
    expect(parseCommandArgs(curve, ['ada', 'coding'])).toEqual({
      args: { agentId: 'ada', taskType: 'coding', days: undefined },
      options: {},
    });
  });

  it.each([
    [['--title', 'x', '--colour'], "unknown option '--colour'"],
    [['--title', 'x', '-c'], "unknown option '-c'"],
    [['--title'], "option '--title' needs a value (--title TITLE)"],
    [['--title', '--dry'], "option '--title' needs a value (--title TITLE)"],
    [['--title', 'x', '--dry=yes'], "option '--dry' takes no value"],
    [['--id', 'i'], 'tasks publish needs --title TITLE'],
    [['--title', '  '], 'tasks publish needs --title TITLE'],
    [['--title', 'x', 'extra'], "unexpected argument 'extra'"],
  ])('tasks publish %j: %s', (argv, message) => {
    expect(usageErrorOf(publish, argv)).toBe(message);
  });

  it('names every missing argument and every surplus one', () => {
    expect(usageErrorOf(curve, [])).toBe('curve needs <agentId> <taskType>');
    expect(usageErrorOf(curve, ['a', 'b', 'c', 'd', 'e'])).toBe("unexpected arguments 'd' 'e'");
  });
});

describe('the command table', () => {
  it('keeps every command name of the contract, once each', () => {
    expect(COMMANDS.map((c) => c.name)).toEqual([
      'worker',
      'demo',
      'streams apply',
      'tasks publish',
      'tasks show',
      'agents list',
      'agents add',
      'auth render',
      'profiles show',
      'profiles rebuild',
      'simulate',
      'replay',
      'policies compare',
      'curve',
      'dlq list',
      'dlq replay',
      'dlq purge',
      'dashboard',
      'validate deploy',
    ]);
  });

  it("each command's help starts with its usage and lists its options and every variable it reads", () => {
    for (const command of COMMANDS) {
      const help = commandHelp(command);
      expect(help.startsWith(`Usage: vapora-learning ${usageLine(command)}\n`)).toBe(true);
      for (const option of Object.keys(command.options))
        expect(help).toMatch(new RegExp(`^  --${option}\\b`, 'm'));
      for (const name of command.env) expect(help).toMatch(new RegExp(`^  ${name} `, 'm'));
    }
  });

  it('worker and demo document every worker variable; NATS commands every NATS variable', () => {
    const byName = new Map(COMMANDS.map((c) => [c.name, c]));
    expect(byName.get('worker')?.env).toEqual(envNamesOf('nats', 'kg', 'worker'));
    expect(byName.get('demo')?.env).toEqual(envNamesOf('nats', 'kg', 'worker'));
    expect(byName.get('streams apply')?.env).toEqual([...envNamesOf('nats'), 'STREAM_REPLICAS']);
    expect(byName.get('profiles rebuild')?.env).toEqual(envNamesOf('nats', 'kg'));
    for (const name of ['tasks publish', 'tasks show', 'agents list', 'profiles show', 'curve', 'dlq list']) {
      expect(byName.get(name)?.env).toEqual(envNamesOf('nats'));
    }
  });
});

describe('main', () => {
  async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = '';
    let stderr = '';
    const out = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      stdout += String(chunk);
      return true;
    });
    const err = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      stderr += String(chunk);
      return true;
    });
    try {
      return { code: await main(argv), stdout, stderr };
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
  }

  it.each([['--version'], ['-V']])('%s prints the version of package.json', async (flag) => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    expect(await run([flag])).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
  });

  it('help <command> is <command> --help', async () => {
    const viaHelp = await run(['help', 'tasks', 'publish']);
    expect(viaHelp.code).toBe(0);
    expect(viaHelp.stdout).toBe((await run(['tasks', 'publish', '--help'])).stdout);
    expect(viaHelp.stdout).toContain('Environment:\n  NATS_URL');
  });

  it('a group without a subcommand, an unknown option before the command: exit 2, one error line', async () => {
    const group = await run(['profiles']);
    expect(group.code).toBe(2);
    expect(group.stderr.split('\n')[0]).toBe('error: profiles needs one of: profiles show, profiles rebuild');
    const option = await run(['--colour']);
    expect(option.code).toBe(2);
    expect(option.stderr.split('\n')[0]).toBe("error: unknown option '--colour'");
    expect(option.stderr).toContain('Commands:');
  });
});
