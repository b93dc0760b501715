/**
 * `drivesense train speech` arguments (src/cli/commands/train-speech.ts): every refusal is a UsageError (exit
 * status 2) that names the option, raised before a backend is chosen or any data is read; the model options
 * reach the configuration. Every run is pointed at a temp dir (log, checkpoints, model, a data root that does
 * not exist, one step), so that an option which stopped being refused could neither train on ../shared nor
 * overwrite the committed model.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCommandArgs, UsageError } from '../../src/cli/command.ts';
import { speechConfigFromArgs, trainSpeechCommand } from '../../src/cli/commands/train-speech.ts';
import { AVDCNN_DEFAULTS } from '../../src/models/speech/avdcnn.ts';

describe('train speech arguments', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'drivesense-train-cli-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const refuses = async (argv: string[], message: RegExp): Promise<void> => {
    const safe = ['--log', join(dir, 'train.log'), '--checkpoints', join(dir, 'ckpt')];
    safe.push('--out', join(dir, 'model.onnx'), '--data', join(dir, 'no-data'), '--max-steps', '1');
    const args = parseCommandArgs(trainSpeechCommand, [...safe, ...argv]);
    await assert.rejects(
      trainSpeechCommand.run(args),
      (e: unknown) => e instanceof UsageError && message.test(e.message),
      `${argv.join(' ')} should be refused with ${String(message)}`,
    );
    assert.deepEqual(await readdir(dir), [], `${argv.join(' ')}: refused before anything was written`);
  };

  it('refuses a dropout rate outside [0, 1) and a context of fewer than 2 or more than 65 frames', async () => {
    for (const p of ['1', '1.5', '-0.1', 'x']) await refuses([`--dropout=${p}`], /dropout/);
    await refuses(['--context-frames', '1'], /--context-frames must be an integer ≥ 2/);
    await refuses(['--context-frames', '66'], /contextFrames must be at most 65/);
  });

  it('refuses the other out-of-range training options', async () => {
    await refuses(['--context', 'future'], /--context must be causal or symmetric/);
    await refuses(['--fc', '500,400,300'], /--fc needs four positive integers/);
    await refuses(['--visual-dropout', '1'], /visualAbsentProbability/);
    await refuses(['--hours', '0'], /--hours must be > 0/);
    await refuses(['--out', 'model.bin'], /--out must end in \.onnx/);
    await refuses(['--target', 'mask'], /--target must be one of/);
    await refuses(['--gain-floor-db', '3'], /--gain-floor-db must be a number < 0/);
    await refuses(
      ['--target', 'gain', '--signal-weight', '0'],
      /--signal-weight must be a number in \(0, 1\]/,
    );
    await refuses(
      ['--target', 'gain', '--signal-weight', '1.5'],
      /--signal-weight must be a number in \(0, 1\]/,
    );
    await refuses(['--signal-weight', '1'], /--signal-weight needs --target gain/);
    await refuses(
      ['--target', 'gain', '--under-weight', '0'],
      /--under-weight must be a number in \(0, 10\]/,
    );
    await refuses(
      ['--target', 'gain', '--under-weight', '11'],
      /--under-weight must be a number in \(0, 10\]/,
    );
    await refuses(['--under-weight', '1'], /--under-weight needs --target gain/);
    await refuses(['--ema-decay', '1'], /--ema-decay must be a number in \(0, 1\)/);
    await refuses(['--speed', '0.9,3'], /--speed must be a comma-separated list/);
    await refuses(['--init-from', join(dir, 'ckpt')], /--init-from must name another run's checkpoints/);
    await refuses(['--init-from', join(dir, 'other'), '--export-only'], /--init-from starts a training run/);
    await refuses(['--extra-share', '0.5'], /--extra-share needs --extra-speech/);
    await refuses(
      ['--extra-speech', join(dir, 'x'), '--extra-share', '1.5'],
      /--extra-share must be a number in \[0, 1\]/,
    );
    await refuses(['--noise-weights', 'car=3'], /--noise-weights: noise weights: unknown category car/);
    await refuses(['--noise-weights', 'street=-2'], /--noise-weights: .*must be a number ≥ 0/);
    await refuses(['--visual-augment', '--audio-only'], /--visual-augment augments mouth crops/);
    await refuses(['--visual-centre', '1', '--audio-only'], /--visual-centre centres mouth crops/);
    await refuses(['--visual-centre', '0'], /--visual-centre: visual centring time constant 0/);
    await refuses(['--visual-centre', 'x'], /--visual-centre/);
    await refuses(
      ['--noise-weights', 'car-interior=0,engine=0,street=0,babble=0,household=0'],
      /--noise-weights: noise weights: every category weighs 0/,
    );
  });

  it('the model options reach the configuration; the defaults are the paper’s', () => {
    const config = (argv: string[]): ReturnType<typeof speechConfigFromArgs> =>
      speechConfigFromArgs(parseCommandArgs(trainSpeechCommand, argv));
    const c = config([
      '--dropout',
      '0.3',
      '--context-frames',
      '9',
      '--fc',
      '500,400,300,500',
      '--noise-aware',
    ]);
    assert.equal(c.dropout, 0.3);
    assert.equal(c.contextFrames, 9);
    assert.deepEqual([c.fc1Units, c.fc2Units, c.fcAudioUnits, c.fcVisualUnits], [500, 400, 300, 500]);
    assert.equal(c.audioChannels, 2);
    assert.equal(config(['--prior-snr']).audioChannels, 3);
    const d = config([]);
    assert.equal(d.dropout, AVDCNN_DEFAULTS.dropout);
    assert.equal(d.contextFrames, AVDCNN_DEFAULTS.contextFrames);
    assert.equal(d.fc1Units, AVDCNN_DEFAULTS.fc1Units);
    assert.equal(d.context, 'causal');
  });
});
