import type { ParseArgsConfig } from 'node:util';
import { parseArgs } from 'node:util';

/** One CLI command: its own file under src/cli/commands, registered in src/cli/main.ts. */
export interface Command {
  readonly name: string;
  readonly summary: string;
  /** Full help text, printed by `drivesense NAME --help`. */
  readonly help: string;
  readonly options: NonNullable<ParseArgsConfig['options']>;
  run(args: ParsedArgs): Promise<number>;
}

export interface ParsedArgs {
  readonly values: Record<string, string | boolean | undefined>;
  readonly positionals: readonly string[];
}

export class UsageError extends Error {
  override name = 'UsageError';
}

export function parseCommandArgs(cmd: Command, argv: readonly string[]): ParsedArgs {
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      options: { ...cmd.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
    return { values: values as Record<string, string | boolean | undefined>, positionals };
  } catch (e) {
    throw new UsageError(`${(e as Error).message}\n\n${cmd.help}`);
  }
}

export function stringOpt(args: ParsedArgs, name: string): string | undefined {
  const v = args.values[name];
  return typeof v === 'string' ? v : undefined;
}

/** `--name` as an integer ≥ `min` (default 1), `def` when absent; a UsageError naming the option otherwise. */
export function intOpt(args: ParsedArgs, name: string, def: number, min = 1): number {
  const v = numberOpt(args, name, def);
  if (!Number.isInteger(v) || v < min) throw new UsageError(`--${name} must be an integer ≥ ${min}`);
  return v;
}

export function numberOpt(args: ParsedArgs, name: string, def: number): number {
  const v = stringOpt(args, name);
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got ${JSON.stringify(v)}`);
  return n;
}
