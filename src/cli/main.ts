import { trainSpeechCommand } from './commands/train-speech.ts';
import { evalSpeechCommand } from './commands/eval-speech.ts';
import { enhanceCommand } from './commands/enhance.ts';
import { evalStressCommand } from './commands/eval-stress.ts';
import { trainStressCommand } from './commands/train-stress.ts';
import type { Command } from './command.ts';
import { parseCommandArgs, UsageError } from './command.ts';
import { ConfigError } from '../config/schema.ts';
import { demoCommand } from './commands/demo.ts';
import { runCommand } from './commands/run.ts';
import { configCommand } from './commands/config.ts';
import { evalQrsCommand } from './commands/eval-qrs.ts';
import { canDecodeCommand } from './commands/can-decode.ts';
import { quantizeCommand } from './commands/quantize.ts';

/** Commands; a two-word name (`eval qrs`) is a subcommand of a family. */
const COMMANDS: readonly Command[] = [
  demoCommand,
  runCommand,
  configCommand,
  evalQrsCommand,
  canDecodeCommand,
  trainStressCommand,
  evalStressCommand,
  enhanceCommand,
  evalSpeechCommand,
  trainSpeechCommand,
  quantizeCommand,
];

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'drivesense: in-car driver monitoring and cabin speech pipeline',
    '',
    'Usage: drivesense <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `drivesense <command> --help` for a command’s options.',
  ].join('\n');
}

/** Entry point: returns the process exit code (0 ok, 1 failure, 2 usage or config error). */
export async function main(argv: readonly string[]): Promise<number> {
  const [first, second] = argv;
  const twoWord = second !== undefined ? COMMANDS.find((c) => c.name === `${first} ${second}`) : undefined;
  const name = twoWord ? twoWord.name : first;
  const rest = argv.slice(twoWord ? 2 : 1);
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version') {
    console.log('drivesense 0.1.0');
    return 0;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (cmd === undefined) {
    const family = COMMANDS.filter((c) => c.name.startsWith(`${name} `));
    if (family.length > 0) {
      console.error(
        `drivesense ${name}: which one?\n${family.map((c) => `  drivesense ${c.name}  ${c.summary}`).join('\n')}`,
      );
      return 2;
    }
    console.error(`unknown command ${JSON.stringify(name)}\n\n${usage()}`);
    return 2;
  }
  try {
    const args = parseCommandArgs(cmd, rest);
    if (args.values['help'] === true) {
      console.log(cmd.help);
      return 0;
    }
    return await cmd.run(args);
  } catch (e) {
    if (e instanceof UsageError || e instanceof ConfigError) {
      console.error(`drivesense ${cmd.name}: ${e.message}`);
      return 2;
    }
    console.error(`drivesense ${cmd.name}: ${(e as Error).message}`);
    return 1;
  }
}
