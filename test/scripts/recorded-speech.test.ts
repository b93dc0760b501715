import assert from 'node:assert/strict';
import { it } from 'node:test';
import {
  DEFAULT_LIMITS,
  descriptionLanguage,
  measureRecording,
  outputName,
  recordingVerdict,
} from '../../scripts/recorded-speech.ts';
import { SeededRandom } from '../../src/models/common/rng.ts';

const RATE = 16_000;

/** `seconds` of a 200 Hz tone with harmonics to 7.8 kHz (speech-like spectrum) over white noise at `floorDb`. */
function toneOverNoise(seconds: number, floorDb: number, opts: { lowpass?: boolean; gain?: number } = {}) {
  const rng = new SeededRandom(7);
  const n = Math.round(seconds * RATE);
  const x = new Float32Array(n);
  const noise = 10 ** (floorDb / 20);
  for (let i = 0; i < n; i++) {
    // Speech in the middle half only: the outer quarters are the noise floor alone.
    const on = i > n / 4 && i < (3 * n) / 4;
    let v = 0;
    if (on)
      for (let h = 1; h * 200 < (opts.lowpass === true ? 3000 : 7800); h++)
        v += Math.sin((2 * Math.PI * 200 * h * i) / RATE) / h;
    x[i] = (opts.gain ?? 0.2) * v + noise * (rng.next() * 2 - 1);
  }
  return x;
}

it('description files: the language from the suffix, English without one, other files refused', () => {
  assert.equal(descriptionLanguage('badger_desc_fr.ogg'), 'fr');
  assert.equal(descriptionLanguage('badger_desc.ogg'), 'en');
  assert.equal(descriptionLanguage('flag_desc_pt_BR.ogg'), 'pt_br');
  assert.equal(descriptionLanguage('badger.ogg'), null);
  assert.equal(descriptionLanguage('badger_desc_fr.wav'), null);
});

it('measures: a clean recording passes; each defect is named as the reason it is refused', () => {
  const clean = measureRecording(toneOverNoise(2, -70));
  assert.ok(clean.rangeDb > 45, `range ${clean.rangeDb}`);
  assert.ok(clean.highBandDb > -30, `high band ${clean.highBandDb}`);
  assert.equal(clean.clippedShare, 0);
  assert.equal(recordingVerdict(clean), null);

  const noisy = measureRecording(toneOverNoise(2, -30));
  assert.ok(noisy.rangeDb < DEFAULT_LIMITS.minRangeDb, `range ${noisy.rangeDb}`);
  assert.match(recordingVerdict(noisy) ?? '', /noise floor/);

  const short = measureRecording(toneOverNoise(0.5, -70));
  assert.match(recordingVerdict(short) ?? '', /shorter/);

  const clipped = measureRecording(toneOverNoise(2, -70, { gain: 0.9 }));
  assert.ok(clipped.clippedShare > DEFAULT_LIMITS.maxClippedShare);
  assert.match(recordingVerdict(clipped) ?? '', /clipped/);

  const narrow = measureRecording(toneOverNoise(2, -90, { lowpass: true }));
  assert.ok(narrow.highBandDb < -40, `high band ${narrow.highBandDb}`);
  assert.match(recordingVerdict(narrow) ?? '', /band-limited/);
});

it('output names keep the stamp folder, so stamps of the same name in two folders do not collide', () => {
  const a = outputName('usr/share/tuxpaint/stamps/animals/birds/swan_desc_el.ogg');
  const b = outputName('usr/share/tuxpaint/stamps/symbols/swan_desc_el.ogg');
  assert.equal(a, 'animals-birds-swan.wav');
  assert.equal(b, 'symbols-swan.wav');
  assert.equal(outputName('usr/share/tuxpaint/stamps/animals/birds/swan_desc.ogg'), a);
});
