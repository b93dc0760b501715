/**
 * A model served without the camera (sidecar `cameraMode: 'off'`, docs/models/speech-history.md, "Rule for a member
 * without the camera"): it gets the audio-only visual input and its audio-only strength even when the camera
 * is on, while the other members of its ensemble use the camera.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { enhanceSamples } from '../../src/models/speech/enhance-samples.ts';
import { SpeechEnhancer } from '../../src/models/speech/enhancer.ts';
import type { SpeechModelRunner } from '../../src/models/speech/head.ts';
import { validateSpeechModelMeta } from '../../src/models/speech/speech-model-meta.ts';
import type { SpeechModelMeta } from '../../src/models/speech/speech-model-meta.ts';
import { leastSquaresGain } from '../support/speech-fixtures.ts';
import { gainModelMeta } from '../support/speech-meta.ts';

const PIXELS = 16 * 24;
const FRAMES = 5;

const meta = gainModelMeta;

/** A model whose gain is `seen` for an example whose visual input holds a non-zero value, else `none`. */
function visualAware(seen: number, none: number): SpeechModelRunner {
  return (b) => {
    const clean = new Float32Array(b.size * 257);
    const size = PIXELS * FRAMES;
    for (let i = 0; i < b.size; i++) {
      const v = b.visual.subarray(i * size, (i + 1) * size);
      clean.fill(v.some((x) => x !== 0) ? seen : none, i * 257, (i + 1) * 257);
    }
    return Promise.resolve({ clean });
  };
}

const speech = new Float32Array(16_000).map((_, i) => 0.1 * Math.sin(i / 7) + 0.05 * Math.sin(i / 3));
/** A moving mouth at 25 fps over the whole second. */
const camera = Array.from({ length: 25 }, (_, f) => ({
  tUs: f * 40_000,
  data: new Float32Array(PIXELS).map((_, p) => 0.5 + 0.3 * Math.sin(f / 2 + p / 50)),
}));

/** The output's gain against the input over [from, to) ms (least squares). */
const gain = (y: Float32Array, fromMs: number, toMs: number): number =>
  leastSquaresGain(y, speech, fromMs, toMs);

describe('a model served without the camera', () => {
  it('alone: with the camera on it gives its audio-only output, bit for bit', async () => {
    const m = meta({ cameraMode: 'off', maskStrength: 1, maskStrengthVisual: 0.5 });
    const run = (frames: typeof camera) =>
      enhanceSamples(new SpeechEnhancer(m, visualAware(0.1, 0.5)), speech, 320, frames);
    assert.deepEqual(await run(camera), await run([]));
    // It reports no camera strength of its own: the audio-only one.
    assert.equal(new SpeechEnhancer(m, visualAware(0.1, 0.5)).serving.maskStrengthVisual, 1);
    // The same for a model trained on centred crops.
    const centred = { ...m, visualInput: { kind: 'centred', timeConstantS: 0.5 } } as const;
    const runCentred = (frames: typeof camera) =>
      enhanceSamples(new SpeechEnhancer(centred, visualAware(0.1, 0.5)), speech, 320, frames);
    assert.deepEqual(await runCentred(camera), await runCentred([]));
    // The control: the same model with the camera (crops seen, the camera strength 0.5: 0.1^0.5).
    const on = await enhanceSamples(
      new SpeechEnhancer({ ...m, cameraMode: undefined }, visualAware(0.1, 0.5)),
      speech,
      320,
      camera,
    );
    assert.ok(Math.abs(gain(on, 100, 900) - Math.sqrt(0.1)) < 1e-3, `with the camera: ${gain(on, 100, 900)}`);
  });

  it('in an ensemble: that member audio-only (input and strength), the other with the camera', async () => {
    const off = meta({ cameraMode: 'off', maskStrength: 1, maskStrengthVisual: 0.5 });
    const y = await enhanceSamples(
      SpeechEnhancer.ensemble([
        { meta: off, runModel: visualAware(0.1, 0.5) },
        { meta: meta(), runModel: visualAware(0.1, 0.5) },
      ]),
      speech,
      320,
      camera,
    );
    // (0.5 + 0.1) / 2: the first member without the camera at strength 1, the second with it.
    assert.ok(Math.abs(gain(y, 100, 900) - 0.3) < 1e-3, `ensemble: ${gain(y, 100, 900)}`);
  });

  it('the sidecar field is off or absent', () => {
    validateSpeechModelMeta(meta({ cameraMode: 'off' }));
    assert.throws(
      () => validateSpeechModelMeta({ ...meta(), cameraMode: 'on' } as unknown as SpeechModelMeta),
      /cameraMode "on" \(off, or absent\)/,
    );
  });
});
