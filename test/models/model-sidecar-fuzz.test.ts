/**
 * A model's sidecar is a decoder of a file a user may hand over (`--model`, `features.speech.model`,
 * `features.stress.model`). Each is checked from a committed sidecar in two ways: every field set to each of
 * a list of edge values (deleted, wrong types, out-of-range numbers) one at a time, and up to three fields
 * replaced by arbitrary JSON. Every result is either accepted — and then what reads it works: a speech
 * enhancer built on it runs, feeds its model finite inputs and gives finite samples, as many as it took; the
 * stress metadata holds a usable normaliser, source list and records, and its input builder can be made — or
 * refused with an Error that names the sidecar, never a TypeError from inside. The limits are tested alone.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { SpeechEnhancer } from '../../src/models/speech/enhancer.ts';
import type { SpeechModelRunner } from '../../src/models/speech/head.ts';
import { SPEECH_SHAPE_LIMITS, parseSpeechSidecar } from '../../src/models/speech/speech-model-meta.ts';
import { parseStressSidecar } from '../../src/models/stress/estimator.ts';
import type { StressModelMeta } from '../../src/models/stress/estimator.ts';
import {
  N_STATS,
  STRESS_SOURCES,
  STRESS_WINDOW_LIMITS,
  StressInputBuilder,
} from '../../src/models/stress/inputs.ts';
import { mutatedJson, sweptJson, withField } from '../support/json-mutation.ts';

/** A committed sidecar without the graph's weights (the check does not read them: smaller runs). */
function sidecarOf(onnxPath: string): Record<string, unknown> {
  const raw = JSON.parse(readFileSync(`${onnxPath}.json`, 'utf8')) as Record<string, unknown>;
  delete raw['layers'];
  delete raw['parameters'];
  return raw;
}

/** A refusal: an Error naming the sidecar, not a TypeError (itself or as its cause). */
function assertRefusal(e: unknown, onnxPath: string): void {
  assert.ok(e instanceof Error, String(e));
  const inner = e.cause instanceof Error ? e.cause : e;
  assert.ok(!(inner instanceof TypeError), `a TypeError from inside: ${e.message}`);
  assert.ok(e.message.startsWith(`${onnxPath}.json: `), e.message);
}

const SPEECH_PATH = 'src/models/speech/model/avdcnn-causal-car-spp.onnx';
const SPEECH = sidecarOf(SPEECH_PATH);
const STRESS_PATH = 'src/models/stress/model/stress.onnx';
const STRESS = sidecarOf(STRESS_PATH);

/** A model that refuses non-finite input (the enhancer counts that as a failed run). */
const runner: SpeechModelRunner = (b) => {
  if (!b.audio.every(Number.isFinite) || !b.visual.every(Number.isFinite))
    return Promise.reject(new Error('non-finite model input'));
  return Promise.resolve({ clean: new Float32Array(b.size * 257).fill(0.5) });
};

/** Accepted or refused as the file comment says. */
async function checkSpeech(raw: unknown): Promise<boolean> {
  let parsed: ReturnType<typeof parseSpeechSidecar>;
  try {
    parsed = parseSpeechSidecar(raw, SPEECH_PATH);
  } catch (e) {
    assertRefusal(e, SPEECH_PATH);
    return false;
  }
  let enhancer: SpeechEnhancer;
  try {
    enhancer = new SpeechEnhancer(parsed.meta, runner);
  } catch (e) {
    assert.fail(`accepted, but the enhancer refuses it: ${(e as Error).message}`);
  }
  const x = new Float32Array(1600).map((_, i) => 0.1 * Math.sin(i / 5));
  const out = [...(await enhancer.push(x, 0)), ...(await enhancer.flush())];
  const s = enhancer.stats();
  assert.equal(s.modelErrors, 0, `accepted, but the model got bad input: ${s.lastModelError ?? ''}`);
  assert.equal(
    out.reduce((n, c) => n + c.samples.length, 0),
    x.length,
    'as many samples out as in',
  );
  assert.ok(
    out.every((c) => c.sampleRateHz === 16_000 && c.samples.every(Number.isFinite)),
    'finite 16 kHz output',
  );
  return true;
}

/** Accepted or refused as the file comment says. */
function checkStress(raw: unknown): boolean {
  let meta: StressModelMeta;
  try {
    meta = parseStressSidecar(raw, STRESS_PATH);
  } catch (e) {
    assertRefusal(e, STRESS_PATH);
    return false;
  }
  const { mean, sd } = meta.normaliser;
  assert.ok(mean.length === N_STATS && mean.every(Number.isFinite), 'the normaliser means');
  assert.ok(sd.length === N_STATS && sd.every((v) => Number.isFinite(v) && v > 0), 'the normaliser sds');
  assert.ok(
    Array.isArray(meta.disabled) && meta.disabled.every((d) => STRESS_SOURCES.includes(d)),
    'the disabled sources',
  );
  assert.ok(typeof meta.id === 'string' && meta.id !== '', 'the id');
  for (const k of ['hyper', 'training', 'scores'] as const)
    assert.ok(typeof meta[k] === 'object' && meta[k] !== null, `the ${k} record`);
  // The operator makes one builder per vehicle from these: bounded, it must be made at once.
  new StressInputBuilder(meta.windows, new Set(meta.disabled));
  return true;
}

describe('speech sidecar, checked', () => {
  it('the committed sidecar itself is accepted', async () => {
    assert.equal(await checkSpeech(SPEECH), true);
  });

  it('every field set to each edge value in turn: accepted and usable, or refused naming the sidecar', async () => {
    let accepted = 0;
    for (const [path, value, raw] of sweptJson(SPEECH)) {
      // The free-form records are never read: accepted whatever they hold, and not run through the enhancer.
      if (path[0] === 'metadata' && (path[2] === 'training' || path[2] === 'scores')) continue;
      try {
        if (await checkSpeech(raw)) accepted++;
      } catch (e) {
        assert.fail(`${path.join('.')} = ${String(value)}: ${(e as Error).message}`);
      }
    }
    assert.ok(accepted > 0, 'some edge values are within range (e.g. a serving setting of 0 or -1)');
  });

  it('300 sidecars with up to three fields of arbitrary JSON: accepted and usable, or refused', async () => {
    await fc.assert(
      fc.asyncProperty(mutatedJson(SPEECH), async (raw) => {
        await checkSpeech(raw);
      }),
      { numRuns: 300, seed: 11 },
    );
  });

  it('the limits: the live rate, bounded shapes, STFT and statistics', () => {
    const meta = (SPEECH['metadata'] as Record<string, unknown>)['speech'];
    const refused = (path: (string | number)[], value: unknown, why: RegExp): void =>
      assert.throws(
        () => parseSpeechSidecar(withField(SPEECH, ['metadata', 'speech', ...path], value), SPEECH_PATH),
        why,
        `${path.join('.')} = ${String(value)}`,
      );
    assert.ok(meta !== undefined);
    refused(
      ['stft', 'sampleRateHz'],
      '16000',
      /stft\.sampleRateHz "16000" \(the live path runs at 16000 Hz\)/,
    );
    refused(['stft', 'sampleRateHz'], 8000, /stft\.sampleRateHz 8000/);
    refused(['stft', 'windowLength'], 2e7, /stft\.windowLength 20000000 must be an integer in \[1, 8192\]/);
    refused(['stft', 'fftSize'], '512', /stft\.fftSize "512"/);
    refused(
      ['model', 'contextFrames'],
      SPEECH_SHAPE_LIMITS.contextFrames + 1,
      /model\.contextFrames 66 must be/,
    );
    refused(['model', 'mouthHeight'], 129, /model\.mouthHeight 129 must be an integer in \[1, 128\]/);
    refused(['model', 'bins'], '257', /model\.bins "257"/);
    refused(['normalization'], { kind: 'running', timeConstantS: '3', stdFloor: 0.01 }, /timeConstantS "3"/);
    refused(
      ['normalization'],
      { kind: 'running', timeConstantS: 3, stdFloor: Infinity },
      /stdFloor Infinity/,
    );
    refused(['noiseAware', 'mean', 0], 1e39, /noiseAware\.mean\[0\] 1e\+39 must be a number within ±10000/);
    refused(['noiseAware', 'std', 3], 1e-320, /noiseAware\.std\[3\] 1e-320 must be a number in/);
    refused(['noiseAware', 'std'], [1], /noiseAware\.std must be a list of 257 numbers, got 1/);
  });
});

describe('stress sidecar, checked', () => {
  it('the committed sidecar itself is accepted; a missing one is refused by name', () => {
    assert.equal(checkStress(STRESS), true);
    assert.throws(
      () => parseStressSidecar(null, STRESS_PATH),
      /stress\.onnx\.json: the sidecar has no stress/,
    );
  });

  it('every field set to each edge value in turn: accepted and usable, or refused naming the sidecar', () => {
    let accepted = 0;
    for (const [path, value, raw] of sweptJson(STRESS)) {
      try {
        if (checkStress(raw)) accepted++;
      } catch (e) {
        assert.fail(`${path.join('.')} = ${String(value)}: ${(e as Error).message}`);
      }
    }
    assert.ok(accepted > 0, 'edits of the free-form records are accepted');
  });

  it('600 sidecars with up to three fields of arbitrary JSON: accepted and usable, or refused', () => {
    fc.assert(
      fc.property(mutatedJson(STRESS), (raw) => {
        checkStress(raw);
      }),
      { numRuns: 600, seed: 12 },
    );
  });

  it('the limits: bounded look-back and bin rate; the source list and records required', () => {
    const refused = (path: (string | number)[], value: unknown, why: RegExp): void =>
      assert.throws(
        () => parseStressSidecar(withField(STRESS, ['metadata', 'stress', ...path], value), STRESS_PATH),
        why,
        `${path.join('.')} = ${String(value)}`,
      );
    refused(['windows', 'strideS'], 1e9, new RegExp(`${STRESS_WINDOW_LIMITS.ringBins} bins of look-back`));
    refused(['windows', 'binHz'], 2 ** 20, /binHz 1048576 must be in \(0, 100\]/);
    refused(['windows', 'windowS'], Infinity, /windows\.windowS Infinity must be a finite number/);
    refused(['disabled'], undefined, /disabled undefined must be a list of sources/);
    refused(['training'], null, /training null must be an object/);
    refused(['normaliser', 'sd', 2], 0, /normaliser\.sd\[2\] 0 must be a finite number > 0/);
    refused(['normaliser', 'mean'], [1, 2], /normaliser\.mean must be a list of 13 numbers, got 2/);
    refused(['version'], Infinity, /version Infinity is not 1/);
  });
});
