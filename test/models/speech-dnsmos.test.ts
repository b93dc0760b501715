/**
 * DNSMOS runner: segmenting (pure), the P.808 front end's shape, and — when the models in
 * ../shared/peers/dnsmos are there — clean real speech scoring above the same speech in street noise at 0 dB,
 * scores in 1–5, determinism and short clips. Clips are kept to one 9.01 s segment (≈ 0.5 s of CPU each).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  Dnsmos,
  DNSMOS_SEGMENT_SAMPLES,
  dnsmosSegments,
  melFilterbank,
  P835_MODEL_FILE,
  p808Features,
} from '../../src/models/speech/dnsmos.ts';
import type { DnsmosScores } from '../../src/models/speech/dnsmos.ts';
import { readWavFile } from '../../src/streams/readers/wav.ts';
import { SHARED_DATA, SHARED_SKIP, shared } from '../readers/shared-data.ts';
import { energy, hasFfmpeg, streetNoise } from '../support/speech-fixtures.ts';

const FS = 16_000;
const DNSMOS_DIR = resolve(SHARED_DATA, '../peers/dnsmos');
const MODEL_SKIP: false | string = existsSync(resolve(DNSMOS_DIR, P835_MODEL_FILE))
  ? false
  : `needs the DNSMOS models in ${DNSMOS_DIR} (absent)`;

function assertRange(s: DnsmosScores): void {
  for (const v of [s.sig, s.bak, s.ovrl, s.p808]) {
    assert.ok(v !== null && v >= 1 && v <= 5, `score ${v} outside 1–5: ${JSON.stringify(s)}`);
  }
}

describe('DNSMOS segmenting and front end', () => {
  it('doubles short clips to ≥ 9.01 s and hops 1 s over long ones, as dnsmos_local.py', () => {
    assert.equal(DNSMOS_SEGMENT_SAMPLES, 144_160);
    // 0.6 s → 1.2 → 2.4 → 4.8 → 9.6 s: one segment; 5 s → 10 s: one; 12.5 s: trunc(12 − 9.01) + 1 = 3.
    const counts = [0.6, 5, 12.5].map((s) => dnsmosSegments(new Float32Array(Math.round(s * FS))).length);
    assert.deepEqual(counts, [1, 1, 3]);
    const clip = Float32Array.from({ length: FS }, (_, i) => i);
    const [seg] = dnsmosSegments(clip);
    assert.equal(seg!.length, DNSMOS_SEGMENT_SAMPLES);
    assert.equal(seg![FS], 0); // the copy starts again after the clip
    assert.equal(seg![FS + 5], 5);
    assert.throws(() => dnsmosSegments(new Float32Array(0)), /empty/);
  });

  it('gives the P.808 model 900 × 120 features in (−1, 1] and Slaney-normalised mel filters', () => {
    const x = Float32Array.from({ length: DNSMOS_SEGMENT_SAMPLES - 160 }, (_, i) => 0.1 * Math.sin(i * 0.3));
    const { data, frames } = p808Features(x);
    assert.equal(frames, 900);
    assert.equal(data.length, 900 * 120);
    let max = -Infinity;
    let min = Infinity;
    for (const v of data) {
      max = Math.max(max, v);
      min = Math.min(min, v);
    }
    assert.ok(Math.abs(max - 1) < 1e-6, `max ${max}`); // ref = max → 0 dB → (0 + 40)/40
    assert.ok(min >= -1 - 1e-6, `min ${min}`); // top_db 80 → (−80 + 40)/40
    const fb = melFilterbank(FS, 321, 120);
    // Slaney normalisation: each triangle has unit area in Hz (2/(hi − lo) × (hi − lo)/2), sampled at 16000/321 Hz.
    const bins = 161;
    const area = (m: number): number =>
      fb.subarray(m * bins, (m + 1) * bins).reduce((a, b) => a + b, 0) * (FS / 321);
    assert.ok(Math.abs(area(100) - 1) < 0.05, `area ${area(100)}`);
  });
});

describe('DNSMOS models', { skip: MODEL_SKIP }, () => {
  let dnsmos: Dnsmos;
  before(async () => {
    dnsmos = await Dnsmos.load(DNSMOS_DIR);
  });
  after(async () => {
    await dnsmos.release();
  });

  it('loads both models', () => {
    assert.equal(dnsmos.hasP808, true);
  });

  it(
    'scores clean real speech above the same speech in street noise at 0 dB, in 1–5, deterministically',
    { skip: SHARED_SKIP || (!hasFfmpeg() && 'needs ffmpeg to decode the street noise (AAC)') },
    async () => {
      const w = await readWavFile(shared('audio/speech/cmu_arctic/cmu_arctic_us_aew_a0001.wav'));
      // 4.8 s (0.5 s lead-in): doubled to 9.6 s, one segment.
      const clean = new Float32Array(Math.round(4.8 * FS));
      clean.set(w.samples.subarray(0, clean.length - FS / 2), FS / 2);
      const noise = streetNoise(clean.length);
      const g = Math.sqrt(energy(clean) / energy(noise));
      const noisy = clean.map((v, i) => v + g * noise[i]!);
      const a = await dnsmos.score(clean);
      const b = await dnsmos.score(noisy);
      assert.equal(a.segments, 1);
      assertRange(a);
      assertRange(b);
      assert.ok(a.ovrl > b.ovrl + 0.5, `OVRL clean ${a.ovrl.toFixed(2)} vs noisy ${b.ovrl.toFixed(2)}`);
      assert.ok(a.bak > b.bak, `BAK clean ${a.bak.toFixed(2)} vs noisy ${b.bak.toFixed(2)}`);
      assert.deepEqual(await dnsmos.score(clean), a);
    },
  );

  it('scores a clip shorter than one segment (0.6 s), in 1–5', async () => {
    const x = Float32Array.from(
      { length: Math.round(0.6 * FS) },
      (_, i) => 0.2 * Math.sin((2 * Math.PI * 220 * i) / FS) * (1 + Math.sin((2 * Math.PI * 3 * i) / FS)),
    );
    const s = await dnsmos.score(x);
    assert.equal(s.segments, 1);
    assert.ok([s.sig, s.bak, s.ovrl, s.p808].every((v) => v !== null && Number.isFinite(v)));
    assert.ok(s.ovrl >= 1 && s.ovrl <= 5, `OVRL ${s.ovrl}`);
  });
});
