/**
 * The streaming enhancer on a model trained on centred mouth crops (sidecar `visualInput`,
 * src/models/speech/mouth-centring.ts), the contract between training and serving:
 * - the visual input the enhancer gives the model, frame by frame, equals what training gives it for the same
 *   clip (corpus.ts `alignMouth`, then `centreAlignedMouth`), across a camera gap;
 * - a still face reaches the model as zeros (the camera-absent input) while the camera-mode strength still
 *   applies, because it counts frames with a crop, not non-zero values;
 * - a centred and a raw model cannot share one enhancer; the metadata's checks.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { alignMouth } from '../../src/models/speech/corpus.ts';
import type { MouthTrack } from '../../src/models/speech/corpus.ts';
import { enhanceSamples, mouthFramesFromTrack } from '../../src/models/speech/enhance-samples.ts';
import { SpeechEnhancer } from '../../src/models/speech/enhancer.ts';
import type { SpeechModelBatch, SpeechModelRunner } from '../../src/models/speech/head.ts';
import { centreAlignedMouth, centringAlpha } from '../../src/models/speech/mouth-centring.ts';
import { validateSpeechModelMeta } from '../../src/models/speech/speech-model-meta.ts';
import type { SpeechModelMeta } from '../../src/models/speech/speech-model-meta.ts';
import { LIVE_STFT_512_128 } from '../../src/streams/features/audio/stft.ts';
import { leastSquaresGain } from '../support/speech-fixtures.ts';
import { gainModelMeta } from '../support/speech-meta.ts';

const PIXELS = 16 * 24;
const FRAMES = 5;
const CENTRED = { kind: 'centred', timeConstantS: 0.5 } as const;

const meta = gainModelMeta;

/** A model whose gain is `g` everywhere; records the batches it is given. */
function constantRunner(g: number, seen?: SpeechModelBatch[]): SpeechModelRunner {
  return (b) => {
    seen?.push(b);
    return Promise.resolve({ clean: new Float32Array(b.size * 257).fill(g) });
  };
}

/** The newest context frame of every example, in order: the visual input each audio frame added. */
function newestFrames(batches: readonly SpeechModelBatch[]): Float32Array[] {
  const out: Float32Array[] = [];
  for (const b of batches)
    for (let i = 0; i < b.size; i++) {
      const crop = new Float32Array(PIXELS);
      for (let p = 0; p < PIXELS; p++) crop[p] = b.visual[(i * PIXELS + p) * FRAMES + FRAMES - 1]!;
      out.push(crop);
    }
  return out;
}

const speech = new Float32Array(16_000).map((_, i) => 0.1 * Math.sin(i / 7) + 0.05 * Math.sin(i / 3));

describe('enhancer with centred mouth input', () => {
  it('gives the model, frame by frame, the centred crops training gives it for the same clip', async () => {
    // 25 fps crops over 1 s, moving; frames 10–14 missing (a 240 ms gap, longer than the 100 ms hold).
    const count = 25;
    const ok = new Uint8Array(count).fill(1);
    ok.fill(0, 10, 15);
    const data = new Float32Array(count * PIXELS);
    for (let f = 0; f < count; f++)
      if (ok[f] === 1)
        for (let p = 0; p < PIXELS; p++) data[f * PIXELS + p] = 0.5 + 0.3 * Math.sin(f / 2 + p / 50);
    const track: MouthTrack = {
      fps: 25,
      offsetS: 0,
      width: 24,
      height: 16,
      frameSize: PIXELS,
      count,
      data,
      ok,
    };
    const seen: SpeechModelBatch[] = [];
    const e = new SpeechEnhancer(meta({ visualInput: CENTRED }), constantRunner(1, seen));
    await enhanceSamples(e, speech, 320, mouthFramesFromTrack(track));
    const served = newestFrames(seen);

    const aligned = alignMouth(track, speech.length, { stft: LIVE_STFT_512_128 });
    const trained = centreAlignedMouth(aligned, centringAlpha(0.5, 128 / 16_000));
    assert.equal(served.length, trained.frames);
    const n = trained.frames;
    let moving = 0;
    for (let t = 0; t < n; t++) {
      const want = trained.data.subarray(t * PIXELS, (t + 1) * PIXELS);
      assert.deepEqual(served[t], want, `frame ${t}`);
      if (want.some((v) => v !== 0)) moving++;
    }
    assert.ok(moving > n / 2, `${moving} of ${n} frames carry movement`);
    assert.ok(aligned.present.includes(0), 'the gap is missing in the alignment');
  });

  it('a new segment (an audio gap) restarts the running mean', async () => {
    const seen: SpeechModelBatch[] = [];
    const e = new SpeechEnhancer(meta({ visualInput: CENTRED }), constantRunner(1, seen));
    const crop = (v: number, tUs: number) => ({ tUs, data: new Float32Array(PIXELS).fill(v) });
    const chunk = speech.subarray(0, 3200);
    // 200 ms with a crop of 0.2, then (a 2 s gap: a new segment) 200 ms with a crop of 0.8.
    await e.push(chunk, 0, [crop(0.2, 0), crop(0.2, 40_000), crop(0.2, 80_000), crop(0.2, 120_000)]);
    await e.push(chunk, 2_200_000, [crop(0.8, 2_200_000), crop(0.8, 2_240_000)]);
    await e.flush();
    assert.equal(e.stats().segments, 2);
    // Had the mean carried over, the second segment's crops would be 0.8 − (≈ 0.2) ≠ 0.
    assert.ok(newestFrames(seen).every((f) => f.every((v) => v === 0)));
  });

  it('a still face reaches the model as zeros; the camera-mode strength still applies', async () => {
    const m = meta({ visualInput: CENTRED, maskStrength: 0.5, maskStrengthVisual: 1 });
    const seen: SpeechModelBatch[] = [];
    const frames = [];
    for (let t = 0; t <= 400_000; t += 40_000)
      frames.push({ tUs: t, data: new Float32Array(PIXELS).fill(0.7) });
    const y = await enhanceSamples(new SpeechEnhancer(m, constantRunner(0.25, seen)), speech, 320, frames);
    assert.ok(seen.every((b) => b.visual.every((v) => v === 0)));
    const ratio = (fromMs: number, toMs: number): number => leastSquaresGain(y, speech, fromMs, toMs);
    // With the camera G^1 = 0.25, without it (after the 100 ms hold) G^0.5 = 0.5.
    assert.ok(Math.abs(ratio(100, 400) - 0.25) < 1e-3, `camera: ${ratio(100, 400)}`);
    assert.ok(Math.abs(ratio(650, 950) - 0.5) < 1e-3, `no camera: ${ratio(650, 950)}`);
  });

  it('a centred and a raw model cannot share an enhancer; the sidecar field is checked', () => {
    const bad = (visualInput: unknown) => ({ ...meta(), visualInput }) as SpeechModelMeta;
    assert.throws(
      () =>
        SpeechEnhancer.ensemble([
          { meta: meta({ visualInput: CENTRED }), runModel: constantRunner(1) },
          { meta: meta(), runModel: constantRunner(1) },
        ]),
      /do not share a front end \(they differ in visualInput/,
    );
    assert.throws(
      () =>
        SpeechEnhancer.ensemble([
          { meta: meta(), runModel: constantRunner(1) },
          { meta: meta({ visualInput: CENTRED }), runModel: constantRunner(1) },
        ]),
      /do not share a front end \(they differ in visualInput/,
    );
    SpeechEnhancer.ensemble([
      { meta: meta({ visualInput: CENTRED }), runModel: constantRunner(1) },
      { meta: meta({ visualInput: CENTRED }), runModel: constantRunner(1) },
    ]);
    assert.throws(() => validateSpeechModelMeta(bad(null)), /visualInput null \(an object, or absent\)/);
    assert.throws(
      () => validateSpeechModelMeta(bad({ kind: 'centred', timeConstantS: 0 })),
      /visualInput: visual centring time constant 0/,
    );
    assert.throws(
      () => validateSpeechModelMeta(bad({ kind: 'raw', timeConstantS: 1 })),
      /visualInput\.kind "raw"/,
    );
  });
});
