/**
 * Media decoding's edges: a missing ffmpeg/ffprobe is reported with the package that installs it (the bare
 * spawn error named neither), a failing decode names the file, and the channel down-mix is the mean.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { decodeAudio, downmix, probeMedia } from '../../src/models/speech/media.ts';

describe('speech media', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ds-media-'));
  after(() => rm(dir, { recursive: true, force: true }));
  const clip = join(dir, 'clip.mpg');
  await writeFile(clip, Buffer.from('not a video'));

  test('without ffmpeg on PATH: the error names the missing program and the package', async () => {
    const saved = process.env.PATH;
    process.env.PATH = dir; // holds no ffprobe/ffmpeg
    try {
      await assert.rejects(probeMedia(clip), (e: Error) => {
        assert.match(e.message, /^ffprobe is not installed \(needed to probe .*clip\.mpg\)/);
        assert.match(e.message, /apt-get install ffmpeg/);
        return true;
      });
      await assert.rejects(decodeAudio(clip), /ffprobe is not installed/);
    } finally {
      process.env.PATH = saved;
    }
  });

  test('a file ffprobe cannot read: the error names the file, not a missing program', async (t) => {
    const err = await probeMedia(clip).then(
      () => undefined,
      (e: Error) => e,
    );
    if (err?.message.startsWith('ffprobe is not installed')) {
      t.skip('ffmpeg is not installed here (npm test installs it as root)');
      return;
    }
    assert.ok(err, 'a non-media file must be refused');
    assert.match(err.message, /^ffprobe failed to probe .*clip\.mpg: /);
  });

  test('down-mix is the mean of the channels; mono passes through', () => {
    assert.deepEqual(Array.from(downmix(new Float32Array([1, 3, -2, 4, 0.5]), 2)), [2, 1]);
    const mono = new Float32Array([0.25, -1]);
    assert.equal(downmix(mono, 1), mono);
  });
});
