/**
 * The speech model's sidecar is a decoder of a file a user may hand over (`--model`, `features.speech.model`):
 * fuzzed from a committed sidecar by replacing or deleting up to three of its fields with arbitrary JSON.
 * Every result is either accepted — and then an enhancer built on it runs and gives finite samples, as many
 * as it took — or refused with an Error that names the sidecar or the metadata, never a TypeError from inside.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { SpeechEnhancer } from '../../src/models/speech/enhancer.ts';
import type { SpeechModelRunner } from '../../src/models/speech/enhancer.ts';
import { parseSpeechSidecar } from '../../src/models/speech/speech-model-meta.ts';

const BASE_PATH = 'src/models/speech/model/avdcnn-causal-car-spp.onnx';
const BASE = JSON.parse(readFileSync(`${BASE_PATH}.json`, 'utf8')) as Record<string, unknown>;
// The graph's weights are not read by the sidecar check: left out to keep each run small.
delete BASE['layers'];
delete BASE['parameters'];

type Path = readonly (string | number)[];

/** Every field of `v` (arrays: the array, its first and its last element). */
function paths(v: unknown, at: Path = []): Path[] {
  if (Array.isArray(v)) {
    const ends = v.length > 0 ? [0, v.length - 1] : [];
    return [at, ...[...new Set(ends)].flatMap((i) => paths(v[i], [...at, i]))];
  }
  if (v !== null && typeof v === 'object')
    return [at, ...Object.entries(v).flatMap(([k, x]) => paths(x, [...at, k]))];
  return [at];
}
const PATHS = paths(BASE).filter((p) => p.length > 0);

/** A copy of `v` with the field at `path` replaced (or deleted: `value` undefined). */
function mutate(v: unknown, path: Path, value: unknown): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path;
  if (Array.isArray(v)) {
    const out = [...v];
    if (typeof head === 'number' && head < out.length) out[head] = mutate(out[head], rest, value);
    return out;
  }
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = { ...(v as Record<string, unknown>) };
  const key = String(head);
  if (rest.length === 0 && value === undefined) delete out[key];
  else out[key] = mutate(out[key], rest, value);
  return out;
}

const runner: SpeechModelRunner = (b) => Promise.resolve({ clean: new Float32Array(b.size * 257).fill(0.5) });

describe('speech sidecar, fuzzed', () => {
  it('the committed sidecar itself is accepted', () => {
    const { meta } = parseSpeechSidecar(BASE, BASE_PATH);
    assert.equal(meta.model.bins, 257);
  });

  it('400 mutated sidecars: accepted and usable, or refused with a message naming the sidecar', async () => {
    const replacement = fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.constantFrom(undefined, null, 0, -1, 1e9, '', 'x', [], {}, true),
    );
    const mutation = fc.tuple(fc.constantFrom(...PATHS), replacement);
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 3 }), async (ms) => {
        let raw: unknown = BASE;
        for (const [p, v] of ms) raw = mutate(raw, p, v);
        let parsed: ReturnType<typeof parseSpeechSidecar>;
        try {
          parsed = parseSpeechSidecar(raw, BASE_PATH);
        } catch (e) {
          assert.ok(e instanceof Error, String(e));
          const inner = e.cause instanceof Error ? e.cause : e;
          assert.ok(!(inner instanceof TypeError), `a TypeError from inside: ${e.message}`);
          assert.ok(e.message.startsWith(`${BASE_PATH}`), e.message);
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
