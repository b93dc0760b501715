import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { AudioTimeline, writeTimelineWav } from '../../src/sinks/audio-recorder.ts';
import { readWavFile } from '../../src/streams/readers/wav.ts';

const RATE = 16_000;
const chunk = (ms: number, n: number, v: number) => ({
  tUs: 1_000_000 + ms * 1000,
  sampleRateHz: RATE,
  samples: new Float32Array(n).fill(v),
});

it('places chunks by event time: out of order in place, gaps silent, repeats and overlaps not doubled', () => {
  const t = new AudioTimeline();
  t.add(chunk(0, 320, 0.1));
  t.add(chunk(40, 320, 0.3)); // arrives before the 20 ms chunk
  t.add(chunk(20, 320, 0.2));
  t.add(chunk(20, 320, 0.9)); // a duplicate: ignored
  t.add(chunk(100, 160, 0.5)); // after a 40 ms gap
  t.add(chunk(105, 160, 0.7)); // overlaps the last one by 80 samples
  const x = t.samples();
  assert.equal(x.length, (105 * RATE) / 1000 + 160);
  assert.equal(t.durationS, x.length / RATE);
  const at = (ms: number) => x[(ms * RATE) / 1000]!;
  assert.ok(Math.abs(at(0) - 0.1) < 1e-7 && Math.abs(at(25) - 0.2) < 1e-7 && Math.abs(at(45) - 0.3) < 1e-7);
  assert.equal(at(70), 0); // the gap
  assert.ok(Math.abs(at(104) - 0.5) < 1e-7 && Math.abs(at(110) - 0.7) < 1e-7);
  const s = t.stats();
  assert.equal(s.chunks, 6);
  assert.equal(s.samples, 3 * 320 + 160 + 80);
  assert.equal(s.ignoredSamples, 320 + 80);
});

it('refuses another rate and anything before the first chunk or beyond maxSeconds, counted', () => {
  const t = new AudioTimeline(0.05);
  t.add(chunk(10, 320, 0.1));
  t.add({ ...chunk(30, 320, 0.1), sampleRateHz: 48_000 });
  t.add(chunk(0, 320, 0.2)); // half before the first chunk's time, half over it: nothing placed
  t.add(chunk(40, 800, 0.3)); // runs past 50 ms
  assert.equal(t.samples().length, 800);
  const s = t.stats();
  assert.equal(s.rateMismatches, 1);
  assert.equal(s.samples, 320 + 0 + (800 - 480));
  assert.equal(s.ignoredSamples, 320 + (480 + 800 - 800));
  assert.throws(() => new AudioTimeline(0), /maxSeconds 0/);
});

it('writes a 16-bit WAV of the timeline; nothing recorded, no file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'audio-recorder-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const tl = new AudioTimeline();
  assert.equal(tl.durationS, 0);
  assert.equal(await writeTimelineWav(join(dir, 'none.wav'), tl), false);
  tl.add(chunk(0, 1600, 0.25));
  assert.equal(await writeTimelineWav(join(dir, 'a.wav'), tl), true);
  const w = await readWavFile(join(dir, 'a.wav'));
  assert.equal(w.sampleRateHz, RATE);
  assert.equal(w.samples.length, 1600);
  assert.ok(Math.abs(w.samples[800]! - 0.25) < 1e-4);
});
