/**
 * `drivesense train speech` keeps its data description beside the checkpoints, so that `--export-only`
 * writes the same description into the model's report as the training run would.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import {
  dataDescriptionPath,
  loadDataDescription,
  saveDataDescription,
} from '../../src/cli/commands/train-speech.ts';

describe('train speech: data description beside the checkpoints', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });
  const tempDir = async (): Promise<string> => {
    const d = await mkdtemp(path.join(tmpdir(), 'drivesense-data-desc-'));
    dirs.push(d);
    return d;
  };

  test('saved at training start and read back by --export-only; a new checkpoint directory is created', async () => {
    const ckpt = path.join(await tempDir(), 'run', 'ckpt');
    const description = { splitHash: 'abc', counts: { train: { utterances: 34 } }, licences: ['CC BY 4.0'] };
    await saveDataDescription(ckpt, description);
    assert.deepEqual(await loadDataDescription(ckpt), description);
  });

  test('checkpoints without one get a note; a file that is not a JSON object is an error', async () => {
    const ckpt = await tempDir();
    assert.match(String((await loadDataDescription(ckpt))['note']), /without a data description/);
    await writeFile(dataDescriptionPath(ckpt), '[1, 2]');
    await assert.rejects(loadDataDescription(ckpt), /not a JSON object/);
    await writeFile(dataDescriptionPath(ckpt), '{"splitHash": ');
    await assert.rejects(loadDataDescription(ckpt), SyntaxError);
  });
});
