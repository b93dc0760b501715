import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { before, describe, test } from 'node:test';
import fc from 'fast-check';
import { SeededRandom } from '../../src/models/common/rng.ts';
import { segmentalSnr } from '../../src/models/speech/metrics/segsnr.ts';
import { siSdr } from '../../src/models/speech/metrics/sisdr.ts';
import {
  STOI_BANDS,
  removeSilentFrames,
  stoi,
  stoiBands,
  stoiSegments,
  stoiWindow,
  thirdOctaveBands,
} from '../../src/models/speech/metrics/stoi.ts';
import { resample } from '../../src/streams/features/audio/resample.ts';
import { readWavFile } from '../../src/streams/readers/wav.ts';
import { SHARED_SKIP, fixture, shared } from '../readers/shared-data.ts';

const RATE = 16_000;

function whiteNoise(n: number, seed: number): Float64Array {
  const rng = new SeededRandom(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal();
  return out;
}

function energy(x: ArrayLike<number>): number {
  let e = 0;
  for (let i = 0; i < x.length; i++) e += x[i]! * x[i]!;
  return e;
}

/** clean + noise scaled to the given SNR over the whole signal. */
function mixAtSnr(clean: ArrayLike<number>, noise: ArrayLike<number>, snrDb: number): Float64Array {
  const g = Math.sqrt(energy(clean) / energy(noise) / 10 ** (snrDb / 10));
  const out = new Float64Array(clean.length);
  for (let i = 0; i < clean.length; i++) out[i] = clean[i]! + g * noise[i]!;
  return out;
}

function zeroMean(x: ArrayLike<number>): Float64Array {
  let m = 0;
  for (let i = 0; i < x.length; i++) m += x[i]!;
  m /= x.length;
  return Float64Array.from(x, (v) => v - m);
}

/** Zero-mean noise with its component along the zero-mean `clean` removed (exactly orthogonal). */
function orthogonalNoise(clean: Float64Array, seed: number): Float64Array {
  const n = zeroMean(whiteNoise(clean.length, seed));
  let dot = 0;
  for (let i = 0; i < n.length; i++) dot += n[i]! * clean[i]!;
  const k = dot / energy(clean);
  for (let i = 0; i < n.length; i++) n[i] = n[i]! - k * clean[i]!;
  return n;
}

/** Random ±1 samples: every frame of n samples has energy exactly n. */
function randomSigns(n: number, seed: number): Float64Array {
  const rng = new SeededRandom(seed);
  return Float64Array.from({ length: n }, () => (rng.next() < 0.5 ? -1 : 1));
}

function scaled(x: ArrayLike<number>, g: number): Float64Array {
  return Float64Array.from(x, (v) => v * g);
}

/** The committed 0.5 s fixture, and the same tiled 4× (2 s of real speech; enough frames for STOI). */
let head: Float32Array;
let tiled: Float32Array;

before(async () => {
  const wav = await readWavFile(fixture('arctic-aew-a0001-head.wav'));
  assert.equal(wav.sampleRateHz, RATE);
  assert.equal(wav.channels, 1);
  head = wav.samples;
  tiled = new Float32Array(head.length * 4);
  for (let k = 0; k < 4; k++) tiled.set(head, k * head.length);
});

describe('STOI building blocks', () => {
  test('one-third-octave bands: 15 contiguous bands, centres 150·2^(k/3) Hz', () => {
    const b = thirdOctaveBands();
    assert.equal(b.centresHz.length, STOI_BANDS);
    assert.ok(Math.abs(b.centresHz[0]! - 150) < 1e-9);
    assert.ok(Math.abs(b.centresHz[14]! - 150 * 2 ** (14 / 3)) < 1e-9);
    for (let k = 0; k < STOI_BANDS; k++) {
      assert.ok(b.lo[k]! < b.hi[k]!, `band ${k} not empty`);
      if (k > 0) assert.equal(b.lo[k], b.hi[k - 1], `band ${k} starts where band ${k - 1} ends`);
    }
    // 19.53 Hz bins at 10 kHz / 512: the first band starts at ≈ 134 Hz, the last ends at ≈ 4.28 kHz.
    assert.equal(b.lo[0], 7);
    assert.equal(b.hi[14], 219);
  });

  test('the window is the symmetric Hann without zero end points', () => {
    const w = stoiWindow(256);
    assert.ok(w[0]! > 0 && w[255]! > 0);
    assert.ok(Math.abs(w[0]! - w[255]!) < 1e-15);
    assert.ok(Math.abs(w[127]! - w[128]!) < 1e-15);
  });

  test('silence removal drops frames 40 dB below the loudest and keeps both signals aligned', () => {
    // 0.5 s of noise, 0.5 s of digital silence, 0.5 s of noise at 10 kHz.
    const n = whiteNoise(15_000, 7);
    n.fill(0, 5000, 10_000);
    const y = whiteNoise(15_000, 8);
    const r = removeSilentFrames(n, y);
    assert.equal(r.clean.length, r.processed.length);
    // Frames starting in 0…4999−256 and 10000…: about 2 × 37 frames kept of the 116, not the silent ~39.
    const kept = (r.clean.length - 256) / 128 + 1;
    assert.ok(kept > 70 && kept < 80, `kept ${kept} frames`);
    const loud = removeSilentFrames(whiteNoise(15_000, 9), y);
    assert.equal((loud.clean.length - 256) / 128 + 1, 116);
  });
});

describe('STOI / ESTOI properties', () => {
  test('identical signals give 1 (STOI and ESTOI)', () => {
    assert.ok(stoi(tiled, tiled, RATE) > 0.999);
    assert.ok(stoi(tiled, tiled, RATE, { extended: true }) > 0.999);
    const x = whiteNoise(20_000, 1);
    assert.ok(Math.abs(stoi(x, x, 10_000) - 1) < 1e-9);
    assert.ok(Math.abs(stoi(x, x, 10_000, { extended: true }) - 1) < 1e-9);
  });

  test('independent white noise: near 0 (STOI of noise vs noise, ESTOI of speech vs noise)', () => {
    const a = whiteNoise(30_000, 2);
    const b = whiteNoise(30_000, 3);
    assert.ok(Math.abs(stoi(a, b, 10_000)) < 0.1);
    assert.ok(Math.abs(stoi(a, b, 10_000, { extended: true })) < 0.1);
    const noise = whiteNoise(tiled.length, 4);
    assert.ok(Math.abs(stoi(tiled, noise, RATE, { extended: true })) < 0.1);
  });

  test('speech vs pure noise: STOI is biased upwards by the clipping, but below any noisy mixture', () => {
    // The clipping min(αY, (1 + 10^(15/20))·X) makes the noise envelope follow the speech envelope wherever
    // the speech is > 16 dB below the noise in a band: measured ≈ 0.3–0.5 here, not 0.
    const noise = whiteNoise(tiled.length, 4);
    const pure = stoi(tiled, noise, RATE);
    assert.ok(pure > 0.2 && pure < 0.65, `STOI(speech, noise) = ${pure}`);
    assert.ok(pure < stoi(tiled, mixAtSnr(tiled, noise, -10), RATE));
  });

  test('more noise lowers STOI, ESTOI and SI-SDR (20 → 0 → −10 dB SNR, real speech)', () => {
    const noise = whiteNoise(tiled.length, 5);
    const mixes = [20, 0, -10].map((snr) => mixAtSnr(tiled, noise, snr));
    const d = mixes.map((y) => stoi(tiled, y, RATE));
    const e = mixes.map((y) => stoi(tiled, y, RATE, { extended: true }));
    const s = mixes.map((y) => siSdr(tiled, y));
    for (const v of [d, e, s]) assert.ok(v[0]! > v[1]! && v[1]! > v[2]!, `not decreasing: ${v.join(', ')}`);
    assert.ok(d[0]! > 0.95 && d[0]! < 1, `STOI at 20 dB ${d[0]}`);
    assert.ok(e[2]! < 0.5, `ESTOI at −10 dB ${e[2]}`);
  });

  test('invariant to the scale of the processed signal; Float32 and Float64 inputs agree', () => {
    const y = mixAtSnr(tiled, whiteNoise(tiled.length, 6), 0);
    for (const extended of [false, true]) {
      const a = stoi(tiled, y, RATE, { extended });
      // Not bit-exact: the signals are rounded to float32 before resampling.
      assert.ok(Math.abs(stoi(tiled, scaled(y, 3), RATE, { extended }) - a) < 1e-6);
      assert.ok(
        Math.abs(stoi(Float64Array.from(tiled), Float32Array.from(y), RATE, { extended }) - a) < 1e-4,
      );
    }
  });

  test('ESTOI stays within [−1, 1] and STOI within [−1, 1] on arbitrary signals', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.double({ min: -30, max: 30, noNaN: true }),
        (seed, snr) => {
          const x = whiteNoise(6000, seed);
          const y = mixAtSnr(x, whiteNoise(6000, seed + 1), snr);
          for (const extended of [false, true]) {
            const v = stoi(x, y, 10_000, { extended });
            assert.ok(v >= -1 - 1e-9 && v <= 1 + 1e-9, `${v}`);
          }
        },
      ),
      { numRuns: 15 },
    );
  });

  test('other rates are resampled to 10 kHz: the same speech at 16 kHz and 10 kHz scores alike', () => {
    const y = mixAtSnr(tiled, whiteNoise(tiled.length, 10), 0);
    const x10 = resample(tiled, RATE, 10_000);
    const y10 = resample(Float32Array.from(y), RATE, 10_000);
    assert.ok(Math.abs(stoi(x10, y10, 10_000) - stoi(tiled, y, RATE)) < 1e-6);
  });

  test('stoiBands: the mean of its band correlations is the STOI; the level shows scaling and noise', () => {
    const y = mixAtSnr(tiled, whiteNoise(tiled.length, 11), 0);
    const b = stoiBands(tiled, y, RATE);
    assert.equal(b.correlation.length, STOI_BANDS);
    const mean = b.correlation.reduce((a, v) => a + v, 0) / STOI_BANDS;
    assert.ok(Math.abs(mean - stoi(tiled, y, RATE)) < 1e-12, `${mean} vs ${stoi(tiled, y, RATE)}`);
    // White noise at 0 dB overall: the speech-poor high bands are the most swamped (louder, less correlated).
    assert.ok(b.levelDb[14]! > b.levelDb[3]! && b.levelDb[3]! > 0, `${Array.from(b.levelDb).join(', ')}`);
    assert.ok(b.correlation[14]! < b.correlation[3]!);
    const half = stoiBands(tiled, scaled(tiled, 0.5), RATE);
    for (let j = 0; j < STOI_BANDS; j++) {
      assert.ok(Math.abs(half.levelDb[j]! - 20 * Math.log10(0.5)) < 1e-6, `band ${j}: ${half.levelDb[j]}`);
      assert.ok(half.correlation[j]! > 0.999);
    }
    assert.throws(() => stoiBands(tiled, tiled, 0), /stoiBands: sample rate/);
  });

  test('stoiSegments: the mean of its segment correlations is the STOI; pauses show as low active fractions', () => {
    const y = mixAtSnr(tiled, whiteNoise(tiled.length, 12), 5);
    const seg = stoiSegments(tiled, y, RATE);
    assert.equal(seg.correlation.length, seg.activeFraction.length);
    const mean = seg.correlation.reduce((a, v) => a + v, 0) / seg.correlation.length;
    assert.ok(Math.abs(mean - stoi(tiled, y, RATE)) < 1e-12, `${mean} vs ${stoi(tiled, y, RATE)}`);
    assert.ok(seg.activeFraction.every((f) => f >= 0 && f <= 1));
    // The same speech with a quiet second of background (−25 dB) spliced in: STOI keeps those frames (within
    // 40 dB), and the segments inside the pause have no active frame.
    const rms = Math.sqrt(energy(tiled) / tiled.length);
    const pause = Float64Array.from(whiteNoise(RATE, 13), (v) => v * 10 ** (-25 / 20) * rms);
    const withPause = Float32Array.from([...tiled, ...pause, ...tiled]);
    const p = stoiSegments(withPause, withPause, RATE);
    assert.ok(p.correlation.every((c) => c > 0.999));
    assert.ok(p.activeFraction.some((f) => f === 0) && p.activeFraction.some((f) => f >= 0.5));
    assert.throws(() => stoiSegments(tiled, tiled, RATE, 0), /activeRangeDb 0 must be > 0/);
  });

  test('errors: unequal lengths, bad rate, too little speech (the 0.5 s fixture alone)', () => {
    assert.throws(() => stoi(new Float32Array(5000), new Float32Array(4999), RATE), RangeError);
    assert.throws(() => stoi(tiled, tiled, 0), RangeError);
    assert.throws(() => stoi(head, head, RATE), /at least 30 needed/);
  });
});

describe('STOI / ESTOI on longer CMU ARCTIC speech (../shared)', () => {
  const files = ['cmu_arctic_us_aew_a0001.wav', 'arctic_a0010.wav'];
  for (const name of files) {
    const path = shared(`audio/speech/cmu_arctic/${name}`);
    const skip = SHARED_SKIP || (existsSync(path) ? false : `${path} absent`);
    test(`${name}: monotonic in SNR, 1 for identity`, { skip }, async () => {
      const wav = await readWavFile(path);
      const x = wav.samples;
      const noise = whiteNoise(x.length, 11);
      assert.ok(stoi(x, x, wav.sampleRateHz) > 0.999);
      assert.ok(stoi(x, x, wav.sampleRateHz, { extended: true }) > 0.999);
      const mixes = [20, 0, -10].map((snr) => mixAtSnr(x, noise, snr));
      for (const extended of [false, true]) {
        const v = mixes.map((y) => stoi(x, y, wav.sampleRateHz, { extended }));
        assert.ok(v[0]! > v[1]! && v[1]! > v[2]!, `extended=${extended}: ${v.join(', ')}`);
      }
      assert.ok(Math.abs(stoi(x, noise, wav.sampleRateHz, { extended: true })) < 0.1);
    });
  }
});

describe('SI-SDR', () => {
  test('published value: the TorchMetrics documentation example gives 15.0918 dB (zero-mean SI-SDR, i.e. its SI-SNR)', () => {
    // target [3, −0.5, 2, 7], preds [2.5, 0, 2, 8]: TorchMetrics ScaleInvariantSignalNoiseRatio → 15.0918; its
    // SI-SDR with zero_mean=False (no mean removal, not the definition used here) → 18.4030.
    const target = Float32Array.from([3, -0.5, 2, 7]);
    const preds = Float32Array.from([2.5, 0, 2, 8]);
    assert.ok(Math.abs(siSdr(target, preds) - 15.0918) < 5e-5, `${siSdr(target, preds)}`);
  });

  test('scale invariant: ×3 (and ×0.01) on the estimate gives the same value', () => {
    const y = mixAtSnr(head, whiteNoise(head.length, 12), 5);
    const v = siSdr(head, y);
    assert.ok(Math.abs(siSdr(head, scaled(y, 3)) - v) < 1e-9);
    assert.ok(Math.abs(siSdr(head, scaled(y, 0.01)) - v) < 1e-9);
    assert.ok(Math.abs(siSdr(scaled(head, 3), y) - v) < 1e-9);
  });

  test('clean + orthogonal noise at exactly 0 and 10 dB SNR gives 0 and 10 dB', () => {
    const s = zeroMean(head);
    const n = orthogonalNoise(s, 13);
    assert.ok(Math.abs(siSdr(s, mixAtSnr(s, n, 0))) < 1e-9);
    assert.ok(Math.abs(siSdr(s, mixAtSnr(s, n, 10)) - 10) < 1e-9);
  });

  test('clean + plain white noise at 0 and 10 dB: within 0.2 dB', () => {
    const n = whiteNoise(head.length, 14);
    assert.ok(Math.abs(siSdr(head, mixAtSnr(head, n, 0))) < 0.2);
    assert.ok(Math.abs(siSdr(head, mixAtSnr(head, n, 10)) - 10) < 0.2);
  });

  test('zero-mean: a DC offset on the estimate changes nothing; identity is very large and finite', () => {
    const y = mixAtSnr(head, whiteNoise(head.length, 15), 3);
    const v = siSdr(head, y);
    assert.ok(
      Math.abs(
        siSdr(
          head,
          Float64Array.from(y, (u) => u + 0.5),
        ) - v,
      ) < 1e-6,
    );
    const self = siSdr(head, head);
    assert.ok(Number.isFinite(self) && self > 100);
  });

  test('errors on unequal lengths and empty signals', () => {
    assert.throws(() => siSdr(new Float32Array(3), new Float32Array(4)), RangeError);
    assert.throws(() => siSdr(new Float32Array(0), new Float32Array(0)), RangeError);
  });
});

describe('segmental SNR', () => {
  test('identical signals score the 35 dB ceiling; heavy noise the −10 dB floor', () => {
    assert.equal(segmentalSnr(head, head, RATE), 35);
    const x = whiteNoise(4096, 16);
    assert.equal(segmentalSnr(x, mixAtSnr(x, whiteNoise(4096, 17), -40)), -10);
  });

  test('known frame SNR: −x gives 20·log10(1/2) dB, 0.9·x gives 20 dB, in every frame', () => {
    const x = whiteNoise(4096, 18);
    assert.ok(Math.abs(segmentalSnr(x, scaled(x, -1)) - 20 * Math.log10(0.5)) < 1e-9);
    assert.ok(Math.abs(segmentalSnr(x, scaled(x, 0.9)) - 20) < 1e-9);
  });

  test('bounded in [−10, 35] for arbitrary signals and SNRs; decreasing with more noise', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.integer({ min: 1, max: 3000 }),
        fc.double({ min: -60, max: 80, noNaN: true }),
        (seed, n, snr) => {
          const x = whiteNoise(n, seed);
          const v = segmentalSnr(x, mixAtSnr(x, whiteNoise(n, seed + 1), snr));
          assert.ok(v >= -10 && v <= 35, `${v}`);
        },
      ),
      { numRuns: 50 },
    );
    const noise = whiteNoise(head.length, 19);
    const v = [20, 0, -10].map((snr) => segmentalSnr(head, mixAtSnr(head, noise, snr), RATE));
    assert.ok(v[0]! > v[1]! && v[1]! > v[2]!, v.join(', '));
  });

  test('framing: 256-sample frames without overlap; a trailing partial frame is dropped', () => {
    const x = randomSigns(256 * 3 + 100, 20);
    const y = Float64Array.from(x);
    // Frame 1 (samples 256…511) is negated (−6.02 dB), the partial tail is destroyed (ignored).
    for (let i = 256; i < 512; i++) y[i] = -y[i]!;
    for (let i = 768; i < y.length; i++) y[i] = 1000;
    const expected = (35 + 20 * Math.log10(0.5) + 35) / 3;
    assert.ok(Math.abs(segmentalSnr(x, y) - expected) < 1e-9);
    // With hop 128 the frames straddling the negated block score 10·log10(256/(4·128)) = −3.01 dB.
    const half = 10 * Math.log10(256 / 512);
    const expected128 = (35 + half + 20 * Math.log10(0.5) + half + 35) / 5;
    assert.ok(Math.abs(segmentalSnr(x, y, RATE, { hop: 128 }) - expected128) < 1e-9);
  });

  test('errors on unequal lengths, empty signals, bad rate', () => {
    assert.throws(() => segmentalSnr(new Float32Array(3), new Float32Array(4)), RangeError);
    assert.throws(() => segmentalSnr(new Float32Array(0), new Float32Array(0)), RangeError);
    assert.throws(() => segmentalSnr(head, head, 1.5), RangeError);
  });
});
