/**
 * scripts/speech-camera-margin.ts: the camera's margin (audio-visual minus audio-only on the GRID clips) of a
 * candidate against an incumbent, counted per metric and SNR, from eval speech aggregates.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cameraMargin, compareCameraMargins } from '../../scripts/speech-camera-margin.ts';
import type { Aggregate } from '../../scripts/speech-serving.ts';

/** Aggregate rows of one model: audio-only values `audio`, audio-visual `audio + margin` per metric. */
function rows(margins: Record<string, number>, snrs = [0, 5]): Aggregate[] {
  const audio = { stoi: 0.8, estoi: 0.7, siSdr: 12, segSnr: 2, ovrl: 2.7 };
  return snrs.flatMap((snrDb) => [
    { system: 'avdcnn-audio', snrDb, category: 'all', subset: 'av', mean: { ...audio } },
    {
      system: 'avdcnn-av',
      snrDb,
      category: 'all',
      subset: 'av',
      mean: Object.fromEntries(Object.entries(audio).map(([k, v]) => [k, v + (margins[k] ?? 0)])),
    },
    // The whole set's rows must not be read.
    { system: 'avdcnn-av', snrDb, category: 'all', subset: 'all', mean: { stoi: 9, siSdr: 99 } },
  ]);
}

describe('speech-camera-margin', () => {
  test('margin is audio-visual minus audio-only on the GRID clips', () => {
    assert.ok(Math.abs(cameraMargin(rows({ siSdr: -0.5 }), 0, 'siSdr') + 0.5) < 1e-12);
    assert.throws(
      () => cameraMargin(rows({}, [0]), 5, 'stoi'),
      /no avdcnn-av stoi on the GRID clips at 5 dB/,
    );
  });

  test('wins and losses over the ten comparisons; a tie counts for neither', () => {
    const inc = rows({ stoi: 0.005, estoi: 0.002, siSdr: -0.4, segSnr: -0.1, ovrl: 0.05 });
    const better = rows({ stoi: 0.006, estoi: 0.002, siSdr: 0.1, segSnr: 0, ovrl: 0.04 });
    const v = compareCameraMargins(better, inc, [0, 5]);
    assert.equal(v.comparisons.length, 10);
    assert.equal(v.wins, 6); // stoi, siSdr, segSnr at both SNRs
    assert.equal(v.losses, 2); // ovrl
    assert.ok(v.pass);
    const reverse = compareCameraMargins(inc, better, [0, 5]);
    assert.deepEqual([reverse.wins, reverse.losses, reverse.pass], [2, 6, false]);
    assert.equal(compareCameraMargins(inc, inc, [0, 5]).pass, false);
  });
});
