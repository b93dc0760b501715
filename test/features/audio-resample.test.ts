import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  Resampler,
  besselI0,
  designResampler,
  resample,
  resampledLength,
} from '../../src/streams/features/audio/resample.ts';
import { readWavFile } from '../../src/streams/readers/wav.ts';
import { SHARED_SKIP, fixture, shared } from '../readers/shared-data.ts';
import { concatFloat32, prng as rng } from '../support/fixtures.ts';

function tone(freqHz: number, rateHz: number, seconds: number, amplitude = 1): Float32Array {
  const n = Math.round(rateHz * seconds);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = amplitude * Math.sin((2 * Math.PI * freqHz * i) / rateHz);
  return x;
}

/** The steady-state part of an output: the first and last 10 % (filter transients at the edges) cut off. */
function steady(y: Float32Array): [number, number] {
  return [Math.ceil(y.length * 0.1), Math.floor(y.length * 0.9)];
}

function rmsDb(y: Float32Array, a: number, b: number, reference: number): number {
  let s = 0;
  for (let i = a; i < b; i++) s += y[i]! * y[i]!;
  return 20 * Math.log10(Math.sqrt(s / (b - a)) / reference);
}

/**
 * Least-squares fit of y[n] ≈ A·sin(2πf·n/fs) + B·cos(2πf·n/fs) over [a, b): amplitude, phase (radians,
 * relative to a sine starting at n = 0) and the RMS of what the fit leaves.
 */
function fitTone(y: Float32Array, f: number, fs: number, a: number, b: number) {
  let ss = 0;
  let cc = 0;
  let sc = 0;
  let ys = 0;
  let yc = 0;
  for (let i = a; i < b; i++) {
    const s = Math.sin((2 * Math.PI * f * i) / fs);
    const c = Math.cos((2 * Math.PI * f * i) / fs);
    ss += s * s;
    cc += c * c;
    sc += s * c;
    ys += y[i]! * s;
    yc += y[i]! * c;
  }
  const det = ss * cc - sc * sc;
  const A = (ys * cc - yc * sc) / det;
  const B = (yc * ss - ys * sc) / det;
  let r = 0;
  for (let i = a; i < b; i++) {
    const e = y[i]! - A * Math.sin((2 * Math.PI * f * i) / fs) - B * Math.cos((2 * Math.PI * f * i) / fs);
    r += e * e;
  }
  return { amplitude: Math.hypot(A, B), phase: Math.atan2(B, A), residualRms: Math.sqrt(r / (b - a)) };
}

const TO_16K = [8_000, 11_025, 19_980, 22_050, 24_000, 32_000, 44_100, 48_000];
const DOWN = TO_16K.filter((r) => r > 16_000);
const UP = TO_16K.filter((r) => r < 16_000);

describe('resampler design', () => {
  test('L/M, taps, band edges and latency for the common rates to 16 kHz', () => {
    const d = designResampler({ inputRateHz: 44_100, outputRateHz: 16_000 });
    assert.equal(d.up, 160);
    assert.equal(d.down, 441);
    assert.equal(d.stopbandEdgeHz, 8_000);
    assert.equal(d.passbandEdgeHz, 7_200);
    assert.equal(d.cutoffHz, 7_600);
    assert.equal(d.tapsPerPhase % 2, 0);
    assert.ok(d.tapsPerPhase >= 300 && d.tapsPerPhase <= 330, `K = ${d.tapsPerPhase}`);
    assert.equal(d.latencyInputSamples, d.tapsPerPhase / 2);
    assert.ok(Math.abs(d.latencySeconds - d.tapsPerPhase / 2 / 44_100) < 1e-15);
    assert.deepEqual(
      [19_980, 22_050, 8_000].map((r) => {
        const x = designResampler({ inputRateHz: r, outputRateHz: 16_000 });
        return [x.up, x.down];
      }),
      [
        [800, 999],
        [320, 441],
        [2, 1],
      ],
    );
    const up = designResampler({ inputRateHz: 8_000, outputRateHz: 16_000 });
    assert.equal(up.stopbandEdgeHz, 4_000, 'upsampling: stop band from the input Nyquist (images)');
    const same = designResampler({ inputRateHz: 16_000, outputRateHz: 16_000 });
    assert.equal(same.tapsPerPhase, 0);
    assert.equal(same.latencySeconds, 0);
  });

  test('bad rates and oversized coefficient tables are refused with a clear message', () => {
    assert.throws(() => designResampler({ inputRateHz: 0, outputRateHz: 16_000 }), /input rate 0 Hz/);
    assert.throws(() => designResampler({ inputRateHz: 44_100.5, outputRateHz: 16_000 }), /integer/);
    assert.throws(() => designResampler({ inputRateHz: 44_100, outputRateHz: -1 }), /output rate/);
    assert.throws(
      () => designResampler({ inputRateHz: 44_100, outputRateHz: 16_000, passbandFraction: 1 }),
      /pass-band fraction/,
    );
    // 47,999 → 16,000 Hz: gcd 1, L = 16,000 phases: fine under the default cap, refused under a small one.
    assert.equal(designResampler({ inputRateHz: 47_999, outputRateHz: 16_000 }).up, 16_000);
    assert.throws(
      () => designResampler({ inputRateHz: 47_999, outputRateHz: 16_000, maxTableBytes: 1 << 20 }),
      /16000 phases × \d+ taps = .* MiB of coefficients \(limit 1\.0 MiB\)/,
    );
  });

  test('Bessel I0 against known values', () => {
    assert.equal(besselI0(0), 1);
    assert.ok(Math.abs(besselI0(1) - 1.2660658777520082) < 1e-15);
    assert.ok(Math.abs(besselI0(5) / 27.239871823604442 - 1) < 1e-14);
    assert.ok(Math.abs(besselI0(20) / 43558282.55955353 - 1) < 1e-13);
  });

  test('output length is ceil(n·L/M) and matches resampledLength', () => {
    for (const rate of [...TO_16K, 16_000]) {
      for (const n of [0, 1, 2, 441, 1000, 4411]) {
        const y = resample(new Float32Array(n).fill(0.1), rate, 16_000);
        assert.equal(y.length, resampledLength(n, rate, 16_000), `${rate} Hz, ${n} samples`);
        assert.equal(y.length, Math.ceil((n * 16_000) / rate), `${rate} Hz, ${n} samples`);
      }
    }
  });
});

describe('resampler stop band: aliases ≤ −80 dB', () => {
  for (const rate of DOWN) {
    test(`${rate} Hz → 16 kHz: tones from 8 kHz to the input Nyquist`, () => {
      const r = new Resampler({ inputRateHz: rate, outputRateHz: 16_000 });
      let worst = -Infinity;
      let worstHz = 0;
      const top = rate / 2 - 50;
      for (let i = 0; i <= 40; i++) {
        const f = 8_000 + ((top - 8_000) * i) / 40;
        const x = tone(f, rate, 0.25);
        const y = Float32Array.from([...r.process(x), ...r.flush()]);
        const [a, b] = steady(y);
        const db = rmsDb(y, a, b, Math.SQRT1_2);
        if (db > worst) [worst, worstHz] = [db, f];
      }
      assert.ok(worst <= -80, `worst alias ${worst.toFixed(1)} dB at ${worstHz.toFixed(0)} Hz`);
    });
  }

  test('44.1 kHz → 16 kHz: a sweep 8 → 22 kHz leaves ≤ −80 dB', () => {
    const fs = 44_100;
    const seconds = 2;
    const n = fs * seconds;
    const x = new Float32Array(n);
    const f0 = 8_000;
    const f1 = 22_000;
    for (let i = 0; i < n; i++) {
      const t = i / fs;
      x[i] = Math.sin(2 * Math.PI * (f0 * t + ((f1 - f0) * t * t) / (2 * seconds)));
    }
    const y = resample(x, fs, 16_000);
    const [a, b] = steady(y);
    const db = rmsDb(y, a, b, Math.SQRT1_2);
    assert.ok(db <= -80, `sweep alias level ${db.toFixed(1)} dB`);
  });

  for (const rate of UP) {
    test(`${rate} Hz → 16 kHz: images of pass-band tones ≤ −80 dB`, () => {
      const r = new Resampler({ inputRateHz: rate, outputRateHz: 16_000 });
      let worst = -Infinity;
      for (let i = 0; i <= 20; i++) {
        const f = 100 + ((0.9 * (rate / 2) - 100) * i) / 20;
        const y = Float32Array.from([...r.process(tone(f, rate, 0.25)), ...r.flush()]);
        const [a, b] = steady(y);
        // What is left after the tone itself is removed: the images (and any distortion).
        worst = Math.max(worst, 20 * Math.log10(fitTone(y, f, 16_000, a, b).residualRms / Math.SQRT1_2));
      }
      assert.ok(worst <= -80, `worst image ${worst.toFixed(1)} dB`);
    });
  }
});

describe('resampler pass band', () => {
  for (const rate of TO_16K) {
    test(`${rate} Hz → 16 kHz: ripple ≤ 0.001 dB up to 0.9 × Nyquist, output time-aligned (no delay)`, () => {
      const d = designResampler({ inputRateHz: rate, outputRateHz: 16_000 });
      const r = new Resampler({ inputRateHz: rate, outputRateHz: 16_000 });
      let ripple = 0;
      let phase = 0;
      for (let i = 0; i <= 24; i++) {
        const f = 50 + ((d.passbandEdgeHz - 50) * i) / 24;
        const y = Float32Array.from([...r.process(tone(f, rate, 0.25)), ...r.flush()]);
        const [a, b] = steady(y);
        const fit = fitTone(y, f, 16_000, a, b);
        ripple = Math.max(ripple, Math.abs(20 * Math.log10(fit.amplitude)));
        phase = Math.max(phase, Math.abs(fit.phase));
      }
      assert.ok(ripple <= 0.001, `pass-band ripple ${ripple} dB`);
      // A delay of one input sample would shift a 50 Hz tone's phase by 2π·50/rate ≥ 1.6e-3 rad.
      assert.ok(phase <= 1e-4, `phase error ${phase} rad (group delay not compensated?)`);
    });
  }

  test('16 kHz → 16 kHz passes samples through unchanged, with zero latency', () => {
    const x = tone(1000, 16_000, 0.1);
    const r = new Resampler({ inputRateHz: 16_000, outputRateHz: 16_000 });
    assert.deepEqual(r.process(x), x);
    assert.equal(r.flush().length, 0);
  });
});

/** Feeds `x` in random chunk sizes (0 included) and returns the concatenated output. */
function chunked(x: Float32Array, inRate: number, outRate: number, seed: number, maxChunk: number) {
  const r = new Resampler({ inputRateHz: inRate, outputRateHz: outRate });
  const next = rng(seed);
  const parts: Float32Array[] = [];
  for (let i = 0; i < x.length;) {
    const n = Math.floor(next() * maxChunk);
    parts.push(r.process(x.subarray(i, i + n)));
    i += n;
  }
  parts.push(r.flush());
  return concatFloat32(parts);
}

describe('resampler streaming', () => {
  test('chunked output equals the whole-signal output exactly (all common rates, random chunks)', () => {
    const next = rng(7);
    const x = Float32Array.from({ length: 9_000 }, () => next() * 2 - 1);
    for (const rate of [...TO_16K, 16_000]) {
      const whole = resample(x, rate, 16_000);
      for (const maxChunk of [3, 50, 700]) {
        assert.deepEqual(chunked(x, rate, 16_000, rate + maxChunk, maxChunk), whole, `${rate} Hz`);
      }
    }
  });

  test('arbitrary ratios (16 kHz → 44.1 kHz, 44.1 → 48 kHz, 47,999 → 16 kHz): chunked == whole', () => {
    const next = rng(8);
    const x = Float32Array.from({ length: 4_000 }, () => next() * 2 - 1);
    for (const [a, b] of [
      [16_000, 44_100],
      [44_100, 48_000],
      [47_999, 16_000],
    ] as const) {
      assert.deepEqual(chunked(x, a, b, a, 500), resample(x, a, b), `${a} → ${b}`);
    }
  });

  test('the resampler can be reused after flush (it resets)', () => {
    const x = tone(440, 44_100, 0.05);
    const r = new Resampler({ inputRateHz: 44_100, outputRateHz: 16_000 });
    const first = Float32Array.from([...r.process(x), ...r.flush()]);
    assert.equal(r.inputSamples, 0);
    const second = Float32Array.from([...r.process(x), ...r.flush()]);
    assert.deepEqual(second, first);
  });

  test('speech fixture 16 kHz → 44.1 kHz → 16 kHz: the round trip keeps the signal (band-limited)', async () => {
    const w = await readWavFile(fixture('arctic-aew-a0001-head.wav'));
    const back = resample(resample(w.samples, 16_000, 44_100), 44_100, 16_000);
    assert.equal(back.length, w.samples.length);
    // Speech above 7.2 kHz is attenuated by the transition band; compare below it with a 7.2 kHz low-pass of
    // the original: the same resampler pair applied to the original is that low-pass, so compare with it in
    // energy terms: the error relative to the signal must be small.
    let e = 0;
    let s = 0;
    for (let i = 400; i < back.length - 400; i++) {
      e += (back[i]! - w.samples[i]!) ** 2;
      s += w.samples[i]! ** 2;
    }
    assert.ok(Math.sqrt(e / s) < 0.05, `relative error ${Math.sqrt(e / s)}`);
  });

  test(
    'real car and babble noise (NOISEX-92 volvo 19,980 Hz, babble 22,050 Hz): 20 ms chunks == whole',
    { skip: SHARED_SKIP },
    async () => {
      for (const name of ['volvo_19980Hz_58s.wav', 'babble_22050Hz_20s.wav']) {
        const w = await readWavFile(shared(`audio/noise/noisex92/${name}`));
        const x = w.samples.subarray(0, w.sampleRateHz * 5);
        const r = new Resampler({ inputRateHz: w.sampleRateHz, outputRateHz: 16_000 });
        const step = Math.round(w.sampleRateHz * 0.02);
        const parts: number[] = [];
        for (let i = 0; i < x.length; i += step) parts.push(...r.process(x.subarray(i, i + step)));
        parts.push(...r.flush());
        const whole = resample(x, w.sampleRateHz, 16_000);
        assert.deepEqual(Float32Array.from(parts), whole, name);
        assert.equal(whole.length, Math.ceil((x.length * 16_000) / w.sampleRateHz));
      }
    },
  );
});
