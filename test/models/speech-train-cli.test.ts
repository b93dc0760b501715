/**
 * `drivesense train speech` arguments (src/cli/commands/train-speech.ts): every refusal is a UsageError (exit
 * status 2) that names the option, raised before a backend is chosen or any data is read. The log goes to a
 * temp dir so that no refusal leaves an `out/` directory behind.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCommandArgs, UsageError } from '../../src/cli/command.ts';
import { trainSpeechCommand } from '../../src/cli/commands/train-speech.ts';

describe('train speech arguments', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'drivesense-train-cli-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const refuses = async (argv: string[], message: RegExp): Promise<void> => {
    const args = parseCommandArgs(trainSpeechCommand, [...argv, '--log', join(dir, 'train.log')]);
    await assert.rejects(
      trainSpeechCommand.run(args),
      (e: unknown) => e instanceof UsageError && message.test(e.message),
      `${argv.join(' ')} should be refused with ${String(message)}`,
    );
  };

  it('refuses a dropout rate outside [0, 1), naming the field', async () => {
    for (const p of ['1', '1.5', '-0.1', 'x']) await refuses([`--dropout=${p}`], /dropout/);
  });

  it('refuses the other out-of-range training options', async () => {
    await refuses(['--context', 'future'], /--context must be causal or symmetric/);
    await refuses(['--fc', '500,400,300'], /--fc needs four positive integers/);
    await refuses(['--context-frames', '1'], /--context-frames must be an integer ≥ 2/);
    await refuses(['--context-frames', '66'], /contextFrames must be at most 65/);
    await refuses(['--visual-dropout', '1'], /visualAbsentProbability/);
    await refuses(['--hours', '0'], /--hours must be > 0/);
    await refuses(['--out', 'model.bin'], /--out must end in \.onnx/);
    await refuses(['--target', 'mask'], /--target must be one of/);
    await refuses(['--gain-floor-db', '3'], /--gain-floor-db must be a number < 0/);
    await refuses(
      ['--target', 'gain', '--signal-weight', '0'],
      /--signal-weight must be a number in \(0, 1\]/,
    );
    await refuses(['--signal-weight', '1'], /--signal-weight needs --target gain/);
    await refuses(['--ema-decay', '1'], /--ema-decay must be a number in \(0, 1\)/);
    await refuses(['--speed', '0.9,3'], /--speed must be a comma-separated list/);
  });

  it('writes nothing but the log directory it was given', async () => {
    assert.deepEqual(await readdir(dir), [], 'refused before the log was written');
  });
});
