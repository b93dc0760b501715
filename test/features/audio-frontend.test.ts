import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AudioConditioner } from '../../src/streams/features/audio/condition.ts';
import { AVDCNN_CONTEXT, CAUSAL_CONTEXT } from '../../src/streams/features/audio/context.ts';
import { SpeechFrontEnd, speechFeatures } from '../../src/streams/features/audio/frontend.ts';
import { resample } from '../../src/streams/features/audio/resample.ts';
import {
  AVDCNN_STFT,
  LIVE_STFT_320_160,
  LIVE_STFT_512_128,
  StreamingIstft,
  istft,
} from '../../src/streams/features/audio/stft.ts';
import type { StftConfig } from '../../src/streams/features/audio/stft.ts';
import { readWavFile } from '../../src/streams/readers/wav.ts';
import { SHARED_SKIP, fixture, shared } from '../readers/shared-data.ts';
import { concatFloat32, prng as rng } from '../support/fixtures.ts';

describe('speech front end (live path)', () => {
  test('defaults: 512/128 STFT, past context t−4..t, 40 ms algorithmic delay, 5 × 257 inputs', () => {
    const f = new SpeechFrontEnd();
    assert.equal(f.delay.ms, 40);
    assert.equal(f.bins, 257);
    assert.deepEqual(f.context, CAUSAL_CONTEXT);
    const frames = f.push(new Float32Array(1280).fill(0.1));
    assert.equal(frames.length, 10, 'one frame per 128-sample hop, no look-ahead');
    assert.equal(frames[0]!.features.length, 1285);
    assert.equal(
      new SpeechFrontEnd({ stft: LIVE_STFT_320_160 }).delay.ms,
      30,
      '320/160 with past context: 30 ms',
    );
    assert.equal(new SpeechFrontEnd({ stft: AVDCNN_STFT, context: AVDCNN_CONTEXT }).delay.ms, 92);
  });

  const VARIANTS: [string, StftConfig, typeof CAUSAL_CONTEXT][] = [
    ['512/128 causal', LIVE_STFT_512_128, CAUSAL_CONTEXT],
    ['320/160 causal', LIVE_STFT_320_160, CAUSAL_CONTEXT],
    ['512/320 ±2', AVDCNN_STFT, AVDCNN_CONTEXT],
  ];

  test('streamed in random chunks == whole-file features with running normalisation (bit-identical)', async () => {
    const w = await readWavFile(fixture('arctic-aew-a0001-head.wav'));
    for (const [label, stft, context] of VARIANTS) {
      const whole = speechFeatures(w.samples, { stft, context, normalization: 'running' });
      const f = new SpeechFrontEnd({ stft, context });
      const next = rng(label.length);
      const got = [];
      for (let i = 0; i < w.samples.length;) {
        const n = Math.floor(next() * 900);
        got.push(...f.push(w.samples.subarray(i, i + n)));
        i += n;
      }
      got.push(...f.flush());
      assert.equal(got.length, whole.frames, label);
      const size = whole.rows * whole.bins;
      got.forEach((g, t) => {
        assert.equal(g.index, t);
        assert.deepEqual(
          g.features,
          whole.features.subarray(t * size, (t + 1) * size),
          `${label} frame ${t}`,
        );
        assert.deepEqual(g.logPower, whole.logPower.subarray(t * 257, (t + 1) * 257));
        assert.deepEqual(g.phase, whole.phase.subarray(t * 257, (t + 1) * 257));
      });
    }
  });

  test('offline (paper) features: per-utterance normalisation, ±2 context; the centre row is the frame', async () => {
    const w = await readWavFile(fixture('lombard-s30-lbwzzp-head.wav'));
    const f = speechFeatures(w.samples);
    assert.equal(f.rows, 5);
    assert.equal(f.frames, Math.floor((8000 - 1 + 512) / 320));
    assert.ok(f.stats !== undefined);
    const t = 7;
    const centre = f.features.subarray((t * 5 + 2) * 257, (t * 5 + 3) * 257);
    for (let k = 0; k < 257; k++) {
      const expected = (f.logPower[t * 257 + k]! - f.stats.mean[k]!) / f.stats.std[k]!;
      assert.ok(Math.abs(centre[k]! - expected) < 1e-5);
    }
  });

  test('live chain: 44.1 kHz chunks with a lost one → conditioner → front end → (identity model) → streaming ISTFT == whole-file path', () => {
    const fs = 44_100;
    const next = rng(9);
    const x = Float32Array.from(
      { length: fs * 2 },
      (_, i) => 0.3 * Math.sin((2 * Math.PI * 220 * i) / fs) + 0.05 * (next() - 0.5),
    );
    const step = 882; // 20 ms
    const conditioner = new AudioConditioner();
    const front = new SpeechFrontEnd();
    const back = new StreamingIstft(front.stftConfig);
    const streamed: Float32Array[] = [];
    const conditioned: Float32Array[] = [];
    const model = (frames: ReturnType<SpeechFrontEnd['push']>): void => {
      // Identity "enhancement": the centre frame's log power and noisy phase back to samples.
      for (const fr of frames) streamed.push(back.push(fr.logPower, fr.phase));
    };
    for (let i = 0, k = 0; i < x.length; i += step, k++) {
      if (k === 37) continue; // lost on the network (QoS 0)
      const res = conditioner.push({
        tUs: Math.round(1e12 + (i * 1e6) / fs),
        sampleRateHz: fs,
        channels: 1,
        samples: x.subarray(i, i + step),
      });
      for (const o of res.out) {
        conditioned.push(o.samples);
        model(front.push(o.samples));
      }
    }
    for (const o of conditioner.flush()) {
      conditioned.push(o.samples);
      model(front.push(o.samples));
    }
    const n = front.samplesIn;
    model(front.flush());
    streamed.push(back.flush());
    const y = concatFloat32(streamed).subarray(0, n);

    const withGap = x.slice();
    withGap.fill(0, 37 * step, 38 * step);
    const x16 = resample(withGap, fs, 16_000);
    assert.deepEqual(concatFloat32(conditioned), x16);
    const offline = speechFeatures(x16, {
      stft: LIVE_STFT_512_128,
      context: CAUSAL_CONTEXT,
      normalization: 'running',
    });
    const whole = istft(offline, LIVE_STFT_512_128);
    let d = 0;
    let e = 0;
    let s = 0;
    for (let i = 0; i < n; i++) {
      d = Math.max(d, Math.abs(y[i]! - whole[i]!));
      e += (y[i]! - x16[i]!) ** 2;
      s += x16[i]! ** 2;
    }
    assert.equal(y.length, x16.length);
    assert.ok(d <= 1e-6, `streamed vs whole: ${d}`);
    assert.ok(Math.sqrt(e / s) <= 1e-5, `round trip ${Math.sqrt(e / s)}`);
  });

  test(
    'real speech (CMU ARCTIC) in 10 ms chunks: live features == whole-file features',
    { skip: SHARED_SKIP },
    async () => {
      const w = await readWavFile(shared('audio/speech/cmu_arctic/cmu_arctic_us_axb_a0004.wav'));
      const whole = speechFeatures(w.samples, {
        stft: LIVE_STFT_512_128,
        context: CAUSAL_CONTEXT,
        normalization: 'running',
      });
      const f = new SpeechFrontEnd();
      const got = [];
      for (let i = 0; i < w.samples.length; i += 160) got.push(...f.push(w.samples.subarray(i, i + 160)));
      got.push(...f.flush());
      assert.deepEqual(concatFloat32(got.map((g) => g.features)), whole.features);
    },
  );
});
