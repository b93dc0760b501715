import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { SeededRandom } from '../../src/models/common/rng.ts';
import { readWavFile } from '../../src/streams/readers/wav.ts';
import { shared } from '../readers/shared-data.ts';

/** Real speech and noise for the speech tests (from ../shared/data; callers skip with SHARED_SKIP). */

export const SPEECH_TEST_RATE_HZ = 16_000;

/** The Berlin street recording the speech tests mix with (an m4a: ffmpeg decodes it). */
export const STREET_NOISE_FILE = 'audio/noise/berlin_street/0619B0AD-7F6A-4CAB-BCCB-ABE0D71F43A9.m4a';

export function hasFfmpeg(): boolean {
  try {
    execFileSync('ffmpeg', ['-version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The least-squares gain of `y` against `ref` over [fromMs, toMs) at 16 kHz: Σ y·ref / Σ ref². */
export function leastSquaresGain(y: Float32Array, ref: Float32Array, fromMs: number, toMs: number): number {
  let num = 0;
  let den = 0;
  for (let i = fromMs * 16; i < toMs * 16; i++) {
    num += y[i]! * ref[i]!;
    den += ref[i]! * ref[i]!;
  }
  return num / den;
}

/** Sum of squares. */
export function energy(a: Float32Array): number {
  let s = 0;
  for (const v of a) s += v * v;
  return s;
}

/** `samples` of Berlin street noise from 30 s into the recording, 16 kHz mono float, decoded by ffmpeg. */
export function streetNoise(samples: number): Float32Array {
  const fs = SPEECH_TEST_RATE_HZ;
  const args = ['-hide_banner', '-nostdin', '-v', 'error', '-ss', '30', '-t', String(samples / fs + 0.1)];
  args.push('-i', shared(STREET_NOISE_FILE), '-ac', '1', '-ar', String(fs), '-f', 'f32le', '-');
  const raw = execFileSync('ffmpeg', args, { maxBuffer: 1 << 26 });
  const all = new Float32Array(raw.buffer, raw.byteOffset, Math.floor(raw.byteLength / 4));
  assert.ok(all.length >= samples, `ffmpeg gave ${all.length} samples, ${samples} wanted`);
  return all.slice(0, samples);
}

/** The committed speech fixture (CMU ARCTIC aew a0001, first 0.5 s, 16 kHz): no ../shared needed. */
export const SPEECH_FIXTURE = 'test/fixtures/readers/arctic-aew-a0001-head.wav';

/** A noisy test signal: the speech fixture plus seeded white noise (≈ 5 dB SNR), 0.5 s. */
export async function noisySpeechFixture(): Promise<Float32Array> {
  const w = await readWavFile(SPEECH_FIXTURE);
  const rng = new SeededRandom(7);
  let p = 0;
  for (const v of w.samples) p += v * v;
  const sigma = Math.sqrt(p / w.samples.length / Math.pow(10, 0.5));
  return w.samples.map((v) => v + sigma * rng.normal());
}
