import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, test } from 'node:test';
import { resample } from '../../src/streams/features/audio/resample.ts';
import {
  AVDCNN_STFT,
  LIVE_STFT_320_160,
  LIVE_STFT_512_128,
  LOG_POWER_EPSILON,
  StreamingIstft,
  StreamingStft,
  algorithmicDelay,
  frameCount,
  istft,
  periodicHann,
  recombine,
  resolveStft,
  stft,
} from '../../src/streams/features/audio/stft.ts';
import type { StftConfig } from '../../src/streams/features/audio/stft.ts';
import { readWavFile } from '../../src/streams/readers/wav.ts';
import { SHARED_SKIP, fixture, shared } from '../readers/shared-data.ts';
import { prng as rng } from '../support/fixtures.ts';

const CONFIGS: [string, StftConfig][] = [
  ['512/320 (AVDCNN)', AVDCNN_STFT],
  ['512/128 (live)', LIVE_STFT_512_128],
  ['320/160 (live)', LIVE_STFT_320_160],
];

function relativeError(y: ArrayLike<number>, x: ArrayLike<number>): number {
  assert.equal(y.length, x.length);
  let e = 0;
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    e += (y[i]! - x[i]!) ** 2;
    s += x[i]! ** 2;
  }
  return Math.sqrt(e / s);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** STFT → ISTFT through the streaming classes, input in random chunk sizes (0 included). */
function streamedRoundTrip(x: Float32Array, cfg: StftConfig, seed: number, maxChunk: number) {
  const next = rng(seed);
  const a = new StreamingStft(cfg);
  const b = new StreamingIstft(cfg);
  const parts: Float32Array[] = [];
  const logPower: Float32Array[] = [];
  const take = (frames: ReturnType<StreamingStft['push']>): void => {
    for (const f of frames) {
      logPower.push(f.logPower);
      parts.push(b.push(f.logPower, f.phase));
    }
  };
  for (let i = 0; i < x.length;) {
    const n = Math.floor(next() * maxChunk);
    take(a.push(x.subarray(i, i + n)));
    i += n;
  }
  const samples = a.samplesIn;
  take(a.flush());
  parts.push(b.flush());
  const y = new Float32Array(samples);
  let p = 0;
  for (const part of parts) {
    const n = Math.min(part.length, samples - p);
    y.set(part.subarray(0, n), p);
    p += n;
  }
  return { y, logPower };
}

describe('STFT configuration', () => {
  test('AVDCNN set-up: 512-sample periodic Hann, hop 320, 512-point FFT, 257 bins, 50 frames/s', () => {
    const r = resolveStft(AVDCNN_STFT);
    assert.equal(r.windowLength, 512);
    assert.equal(r.hop, 320);
    assert.equal(r.fftSize, 512);
    assert.equal(r.bins, 257);
    assert.equal(r.sampleRateHz / r.hop, 50);
    assert.equal(1 - r.hop / r.windowLength, 0.375);
    // Periodic (DFT-even) Hann: w[0] = 0, w[N/2] = 1, symmetric about N/2, no second zero.
    const w = periodicHann(512);
    assert.equal(w[0], 0);
    assert.equal(w[256], 1);
    assert.ok(Math.abs(w[128]! - 0.5) < 1e-15);
    for (let i = 1; i < 256; i++) assert.ok(Math.abs(w[i]! - w[512 - i]!) < 1e-15);
    assert.equal(resolveStft(LIVE_STFT_320_160).bins, 257, '320-sample window, 512-point FFT');
  });

  test('algorithmic delay = window + hop + look-ahead: 92 ms (paper), 40 ms and 30 ms (live)', () => {
    const paper = algorithmicDelay(AVDCNN_STFT, 2);
    assert.deepEqual(
      [paper.windowMs, paper.hopMs, paper.lookaheadMs, paper.ms, paper.samples],
      [32, 20, 40, 92, 1472],
    );
    assert.equal(algorithmicDelay(LIVE_STFT_512_128).ms, 40);
    assert.equal(algorithmicDelay(LIVE_STFT_320_160).ms, 30);
    assert.throws(() => algorithmicDelay(AVDCNN_STFT, -1), /look-ahead/);
  });

  test('bad configurations are refused', () => {
    const base = AVDCNN_STFT;
    assert.throws(() => resolveStft({ ...base, hop: 0 }), /hop 0/);
    assert.throws(() => resolveStft({ ...base, hop: 512 }), /hop 512/);
    assert.throws(() => resolveStft({ ...base, fftSize: 256 }), /FFT size 256/);
    assert.throws(() => resolveStft({ ...base, fftSize: 600 }), /FFT size 600/);
    assert.throws(() => resolveStft({ ...base, windowLength: 512, hop: 500 }), /overlaps too little/);
  });
});

describe('STFT analysis', () => {
  test('framing: frame t covers samples [(t+1)·hop − W, (t+1)·hop); an impulse shows where', () => {
    const cfg = AVDCNN_STFT;
    const x = new Float32Array(4000);
    const at = 1000;
    x[at] = 1;
    const s = stft(x, cfg);
    assert.equal(s.frames, frameCount(4000, cfg));
    assert.equal(s.frames, Math.floor((4000 - 1 + 512) / 320));
    const w = periodicHann(512);
    for (let t = 0; t < s.frames; t++) {
      const start = (t + 1) * 320 - 512;
      const m = at - start;
      const inside = m >= 0 && m < 512;
      // A windowed impulse has a flat spectrum of magnitude w[m] and phase −2πkm/512.
      const expected = Math.log((inside ? w[m]! ** 2 : 0) + LOG_POWER_EPSILON);
      for (const k of [0, 1, 100, 256]) {
        assert.ok(Math.abs(s.logPower[t * 257 + k]! - expected) < 1e-5, `frame ${t} bin ${k}`);
      }
      if (inside) {
        const ph = s.phase[t * 257 + 1]!;
        const want = -(2 * Math.PI * m) / 512;
        const d = Math.atan2(Math.sin(ph - want), Math.cos(ph - want));
        assert.ok(Math.abs(d) < 1e-5, `frame ${t} phase ${ph} vs ${want}`);
      }
    }
  });

  test('log power: ln(|X|² + ε), a bin-centred sine peaks at ln((A·W/4)²); silence sits at ln ε', () => {
    const n = 16_000;
    const k0 = 32; // 1 kHz = bin 32 of a 512-point FFT at 16 kHz
    const amp = 0.5;
    const x = new Float32Array(n);
    for (let i = 0; i < n; i++) x[i] = amp * Math.cos((2 * Math.PI * k0 * i) / 512);
    const s = stft(x, AVDCNN_STFT);
    const t = 10;
    const peak = s.logPower[t * 257 + k0]!;
    assert.ok(Math.abs(peak - Math.log(((amp * 512) / 4) ** 2)) < 1e-4, `peak ${peak}`);
    // Periodic Hann leaks into the two neighbouring bins only, at −6 dB in amplitude (×1/2 → ln(1/4)).
    assert.ok(Math.abs(s.logPower[t * 257 + k0 + 1]! - (peak + Math.log(0.25))) < 1e-3);
    const silence = stft(new Float32Array(2000), AVDCNN_STFT);
    assert.ok(silence.logPower.every((v) => v === Math.fround(Math.log(LOG_POWER_EPSILON))));
    assert.ok(Math.abs(Math.log(LOG_POWER_EPSILON) + 23.02585) < 1e-5);
    // ε is added, not a floor: a bin with |X|² ≈ 1.6ε reads ln 2.6ε.
    const tiny = stft(
      Float32Array.from({ length: 1024 }, (_, i) => 1e-7 * Math.cos((2 * Math.PI * 32 * i) / 512)),
    );
    const v = tiny.logPower[1 * 257 + 32]!;
    const p = ((1e-7 * 512) / 4) ** 2; // 1.6e-10: max(|X|², ε) would read 0.49 lower
    assert.ok(Math.abs(v - Math.log(p + LOG_POWER_EPSILON)) < 1e-4, `${v}`);
  });

  test('frame counts at the edges: 0, 1, hop − 1, hop, W samples', () => {
    for (const [, cfg] of CONFIGS) {
      for (const n of [0, 1, cfg.hop - 1, cfg.hop, cfg.hop + 1, cfg.windowLength]) {
        const s = stft(new Float32Array(n).fill(0.25), cfg);
        assert.equal(s.frames, n === 0 ? 0 : Math.floor((n - 1 + cfg.windowLength) / cfg.hop));
      }
    }
  });
});

describe('STFT → ISTFT', () => {
  test('round trip on the committed speech fixtures: relative error ≤ 1e-5 (all window/hop variants)', async () => {
    for (const name of ['arctic-aew-a0001-head.wav', 'lombard-s30-lbwzzp-head.wav']) {
      const w = await readWavFile(fixture(name));
      for (const [label, cfg] of CONFIGS) {
        const y = istft(stft(w.samples, cfg), cfg);
        const e = relativeError(y, w.samples);
        assert.ok(e <= 1e-5, `${name} ${label}: relative error ${e}`);
      }
    }
  });

  test('round trip of short and edge-case signals (1 sample, < hop, white noise, DC)', () => {
    const next = rng(11);
    for (const [label, cfg] of CONFIGS) {
      for (const n of [1, 7, cfg.hop - 1, cfg.hop, cfg.windowLength + 3, 5000]) {
        const noise = Float32Array.from({ length: n }, () => next() * 2 - 1);
        const dc = new Float32Array(n).fill(0.3);
        for (const x of [noise, dc]) {
          const e = relativeError(istft(stft(x, cfg), cfg), x);
          assert.ok(e <= 1e-5, `${label} n=${n}: ${e}`);
        }
      }
      assert.equal(istft(stft(new Float32Array(0), cfg), cfg).length, 0);
    }
  });

  test('streaming (random chunk sizes) equals whole-file processing (≤ 1e-6; in fact bit-identical)', async () => {
    const w = await readWavFile(fixture('arctic-aew-a0001-head.wav'));
    for (const [label, cfg] of CONFIGS) {
      const whole = stft(w.samples, cfg);
      const wholeY = istft(whole, cfg);
      for (const [seed, maxChunk] of [
        [1, 2],
        [2, 97],
        [3, 1500],
      ] as const) {
        const { y, logPower } = streamedRoundTrip(w.samples, cfg, seed, maxChunk);
        assert.equal(logPower.length, whole.frames, label);
        logPower.forEach((f, t) =>
          assert.ok(
            maxAbsDiff(f, whole.logPower.subarray(t * 257, (t + 1) * 257)) === 0,
            `${label} frame ${t}`,
          ),
        );
        const d = maxAbsDiff(y, wholeY);
        assert.ok(d <= 1e-6, `${label} chunks ≤ ${maxChunk}: max difference ${d}`);
      }
    }
  });

  test('ISTFT latency: after frame t the samples up to (t+2)·hop − W are out, none of them later changed', () => {
    const cfg = LIVE_STFT_512_128;
    const b = new StreamingIstft(cfg);
    const s = stft(
      Float32Array.from({ length: 3000 }, (_, i) => Math.sin(i / 7)),
      cfg,
    );
    let out = 0;
    for (let t = 0; t < s.frames; t++) {
      out += b.push(
        s.logPower.subarray(t * 257, (t + 1) * 257),
        s.phase.subarray(t * 257, (t + 1) * 257),
      ).length;
      assert.equal(out, Math.max(0, (t + 2) * cfg.hop - cfg.windowLength), `frame ${t}`);
    }
    assert.equal(b.flush().length, cfg.windowLength - cfg.hop);
  });

  test('recombine: enhanced log power with the noisy phase (a −6.02 dB gain in every bin halves the signal)', async () => {
    const w = await readWavFile(fixture('lombard-s30-lbwzzp-head.wav'));
    for (const [label, cfg] of CONFIGS) {
      const s = stft(w.samples, cfg);
      const enhanced = s.logPower.map((v) => v + Math.log(0.25));
      const y = recombine(enhanced, s.phase, cfg, w.samples.length);
      const half = w.samples.map((v) => v / 2);
      const e = relativeError(y, half);
      assert.ok(e <= 1e-5, `${label}: ${e}`);
    }
    assert.throws(
      () => recombine(new Float32Array(257), new Float32Array(256), AVDCNN_STFT, 10),
      /not frames/,
    );
    assert.throws(
      () => new StreamingIstft(AVDCNN_STFT).push(new Float32Array(256), new Float32Array(256)),
      /256/,
    );
  });

  test(
    'round trip on real speech (CMU ARCTIC, Lombard GRID) and noise (NOISEX-92 volvo and babble resampled to 16 kHz, dishes): ≤ 1e-5, streamed == whole',
    { skip: SHARED_SKIP },
    async () => {
      const files: string[] = [];
      for (const dir of ['audio/speech/cmu_arctic', 'audio/speech/lombard_grid']) {
        for (const f of readdirSync(shared(dir))
          .filter((n) => n.endsWith('.wav'))
          .sort())
          files.push(`${dir}/${f}`);
      }
      files.push(
        'audio/noise/noisex92/volvo_19980Hz_58s.wav',
        'audio/noise/noisex92/babble_22050Hz_20s.wav',
        'audio/noise/speech_commands_bg/doing_the_dishes.wav',
      );
      let worst = 0;
      let seed = 100;
      for (const path of files) {
        const w = await readWavFile(shared(path));
        let x = w.samples;
        if (w.sampleRateHz !== 16_000)
          x = resample(x.subarray(0, w.sampleRateHz * 10), w.sampleRateHz, 16_000);
        x = x.subarray(0, 16_000 * 10);
        for (const [label, cfg] of CONFIGS) {
          const whole = istft(stft(x, cfg), cfg);
          const e = relativeError(whole, x);
          worst = Math.max(worst, e);
          assert.ok(e <= 1e-5, `${path} ${label}: relative error ${e}`);
          const { y } = streamedRoundTrip(x, cfg, seed++, 2000);
          assert.ok(maxAbsDiff(y, whole) <= 1e-6, `${path} ${label}: streamed ≠ whole`);
        }
      }
      assert.ok(files.length >= 28, `${files.length} files`);
      // The acceptance is 1e-5; what remains is float32 rounding (ε is added, not a floor, so quiet
      // band-limited float recordings such as Lombard GRID come back too).
      assert.ok(worst > 0 && worst <= 1e-6, `worst relative error ${worst}`);
    },
  );
});
