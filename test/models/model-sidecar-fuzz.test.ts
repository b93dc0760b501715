/**
 * A model's sidecar is a decoder of a file a user may hand over (`--model`, `features.speech.model`,
 * `features.stress.model`): each is fuzzed from a committed sidecar by replacing or deleting up to three of
 * its fields with arbitrary JSON. Every result is either accepted — and then what reads it works: a speech
 * enhancer built on it runs and gives finite samples, as many as it took; the stress statistics standardise
 * to finite values — or refused with an Error that names the sidecar, never a TypeError from inside.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { SpeechEnhancer } from '../../src/models/speech/enhancer.ts';
import type { SpeechModelRunner } from '../../src/models/speech/enhancer.ts';
import { parseSpeechSidecar } from '../../src/models/speech/speech-model-meta.ts';
import { prepareStats } from '../../src/models/stress/dataset.ts';
import { parseStressSidecar } from '../../src/models/stress/estimator.ts';
import { N_STATS, STRESS_SOURCES } from '../../src/models/stress/inputs.ts';
import { mutatedJson } from '../support/json-mutation.ts';

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

const BASE_PATH = 'src/models/speech/model/avdcnn-causal-car-spp.onnx';
const BASE = sidecarOf(BASE_PATH);

const runner: SpeechModelRunner = (b) => Promise.resolve({ clean: new Float32Array(b.size * 257).fill(0.5) });

describe('speech sidecar, fuzzed', () => {
  it('the committed sidecar itself is accepted', () => {
    const { meta } = parseSpeechSidecar(BASE, BASE_PATH);
    assert.equal(meta.model.bins, 257);
  });

  it('400 mutated sidecars: accepted and usable, or refused with a message naming the sidecar', async () => {
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(mutatedJson(BASE), async (raw) => {
        let parsed: ReturnType<typeof parseSpeechSidecar>;
        try {
          parsed = parseSpeechSidecar(raw, BASE_PATH);
        } catch (e) {
          assertRefusal(e, BASE_PATH);
          return;
        }
        accepted++;
        let enhancer: SpeechEnhancer;
        try {
          enhancer = new SpeechEnhancer(parsed.meta, runner);
        } catch (e) {
          // Accepted metadata the enhancer refuses would be a gap in the sidecar's check.
          assert.fail(`accepted, but the enhancer refuses it: ${(e as Error).message}`);
        }
        const x = new Float32Array(1600).map((_, i) => 0.1 * Math.sin(i / 5));
        const out = [...(await enhancer.push(x, 0)), ...(await enhancer.flush())];
        const n = out.reduce((s, c) => s + c.samples.length, 0);
        assert.equal(n, x.length);
        assert.ok(out.every((c) => c.samples.every(Number.isFinite)));
      }),
      { numRuns: 400, seed: 11 },
    );
    assert.ok(accepted > 0, 'some mutations (of free-form fields) are accepted');
  });
});

const STRESS_PATH = 'src/models/stress/model/stress.onnx';
const STRESS = sidecarOf(STRESS_PATH);

describe('stress sidecar, fuzzed', () => {
  it('the committed sidecar itself is accepted; a missing one is refused by name', () => {
    assert.equal(parseStressSidecar(STRESS, STRESS_PATH).windows.sequenceLength, 6);
    assert.throws(
      () => parseStressSidecar(null, STRESS_PATH),
      /stress\.onnx\.json: the sidecar has no stress/,
    );
  });

  it('600 mutated sidecars: accepted and usable, or refused with a message naming the sidecar', () => {
    let accepted = 0;
    fc.assert(
      fc.property(mutatedJson(STRESS), (raw) => {
        let meta: ReturnType<typeof parseStressSidecar>;
        try {
          meta = parseStressSidecar(raw, STRESS_PATH);
        } catch (e) {
          assertRefusal(e, STRESS_PATH);
          return;
        }
        accepted++;
        // What the estimator reads of it: the statistics standardised with its normaliser stay finite.
        const S = meta.windows.sequenceLength;
        const stats = new Float32Array(S * N_STATS).map((_, i) => (i % 7) - 3);
        const flags = new Float32Array(S * STRESS_SOURCES.length).fill(1);
        prepareStats({ stats, flags }, meta.normaliser, S);
        assert.ok(stats.every(Number.isFinite));
        assert.ok((meta.disabled ?? []).every((d) => STRESS_SOURCES.includes(d)));
      }),
      { numRuns: 600, seed: 12 },
    );
    assert.ok(accepted > 0, 'some mutations (of free-form fields) are accepted');
  });
});
