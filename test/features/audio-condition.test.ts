import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AudioConditioner } from '../../src/streams/features/audio/condition.ts';
import type { AudioChunkInput, ConditionedAudio } from '../../src/streams/features/audio/condition.ts';
import { resample } from '../../src/streams/features/audio/resample.ts';
import { readWavFile } from '../../src/streams/readers/wav.ts';
import { SHARED_SKIP, fixture, shared } from '../readers/shared-data.ts';

const T0 = 1_700_000_000_000_000; // µs since the epoch

/** Splits a mono signal into chunks of `chunkMs`, each stamped with its first sample's time. */
function chunks(x: Float32Array, rateHz: number, chunkMs: number, t0 = T0): AudioChunkInput[] {
  const step = Math.round((rateHz * chunkMs) / 1000);
  const out: AudioChunkInput[] = [];
  for (let i = 0; i < x.length; i += step) {
    out.push({
      tUs: Math.round(t0 + (i * 1e6) / rateHz),
      sampleRateHz: rateHz,
      channels: 1,
      samples: x.slice(i, i + step),
    });
  }
  return out;
}

function ramp(n: number, scale = 1e-4): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => ((i % 5000) - 2500) * scale);
}

function run(c: AudioConditioner, input: AudioChunkInput[]): ConditionedAudio[] {
  const out: ConditionedAudio[] = [];
  for (const ch of input) out.push(...c.push(ch).out);
  out.push(...c.flush());
  return out;
}

function joined(out: ConditionedAudio[]): Float32Array {
  return Float32Array.from(out.flatMap((o) => Array.from(o.samples)));
}

/** Every output chunk's time is its segment start plus its position at 16 kHz (62.5 µs a sample). */
function assertTimeline(out: ConditionedAudio[]): void {
  const next = new Map<number, number>();
  for (const o of out) {
    const at = next.get(o.segment) ?? 0;
    assert.equal(o.startSample, at, `segment ${o.segment}: contiguous`);
    assert.equal(o.tUs, Math.round(o.segmentStartUs + o.startSample * 62.5));
    next.set(o.segment, at + o.samples.length);
  }
}

describe('audio conditioner', () => {
  test('16 kHz mono passes through unchanged, on the chunks own timeline', async () => {
    const w = await readWavFile(fixture('arctic-aew-a0001-head.wav'));
    const c = new AudioConditioner();
    const out = run(c, chunks(w.samples, 16_000, 20));
    assert.deepEqual(joined(out), w.samples);
    assert.equal(out[0]!.tUs, T0);
    assert.equal(out[3]!.tUs, T0 + 60_000);
    assertTimeline(out);
    const s = c.stats();
    assert.deepEqual([s.chunks, s.gaps, s.duplicates, s.segments, s.inputSamples], [25, 0, 0, 1, 8000]);
    assert.equal(c.latencyUs, 0);
  });

  test('44.1 kHz chunks are resampled: the same samples as whole-signal resampling, timeline unshifted', () => {
    const x = Float32Array.from(
      { length: 44_100 },
      (_, i) => 0.5 * Math.sin((2 * Math.PI * 440 * i) / 44_100),
    );
    const c = new AudioConditioner();
    const input = chunks(x, 44_100, 10);
    const first = c.push(input[0]!);
    assert.ok(c.latencyUs > 3000 && c.latencyUs < 4000, `latency ${c.latencyUs} µs`);
    const out = [...first.out];
    for (const ch of input.slice(1)) out.push(...c.push(ch).out);
    out.push(...c.flush());
    assert.deepEqual(joined(out), resample(x, 44_100, 16_000));
    assertTimeline(out);
    // Output sample k is the signal at T0 + k/16 kHz: the 440 Hz tone at 16 kHz, no delay.
    const y = joined(out);
    for (let k = 4000; k < 12_000; k += 397)
      assert.ok(Math.abs(y[k]! - 0.5 * Math.sin((2 * Math.PI * 440 * k) / 16_000)) < 1e-4, `sample ${k}`);
  });

  test('refused with a clear message and counted: bad rates, rate mismatch when resampling is off, channels, length, time', () => {
    const c = new AudioConditioner();
    const ok = { tUs: T0, sampleRateHz: 16_000, channels: 1, samples: new Float32Array(320) };
    assert.match(
      c.push({ ...ok, sampleRateHz: 4_000 }).refused ?? '',
      /4000 Hz refused: rate outside 8000\.\.192000/,
    );
    assert.match(c.push({ ...ok, sampleRateHz: 44_100.5 }).refused ?? '', /44100\.5 Hz refused/);
    assert.match(c.push({ ...ok, channels: 0 }).refused ?? '', /0 channels refused/);
    assert.match(c.push({ ...ok, channels: 3 }).refused ?? '', /not whole 3-channel frames/);
    assert.match(c.push({ ...ok, tUs: Number.NaN }).refused ?? '', /time NaN refused/);
    const strict = new AudioConditioner({ rateMismatch: 'refuse' });
    assert.match(
      strict.push({ ...ok, sampleRateHz: 48_000 }).refused ?? '',
      /48000 Hz refused: the speech path takes 16000 Hz and resampling is off/,
    );
    assert.equal(strict.push(ok).out[0]!.samples.length, 320);
    assert.deepEqual(c.stats().refused, { rate: 2, channels: 1, length: 1, time: 1 });
    assert.equal(c.stats().outputSamples, 0);
  });

  test('NaN/Inf concealed as silence and counted (with the codec’s count); clipping counted and clamped', () => {
    const c = new AudioConditioner();
    const samples = Float32Array.from([0.1, Number.NaN, Infinity, -Infinity, 0.999, -1, 1.7, -3, 0.5, 0]);
    const [o] = c.push({ tUs: T0, sampleRateHz: 16_000, channels: 1, samples, nonFinite: 4 }).out;
    assert.deepEqual(
      Array.from(o!.samples),
      Array.from(Float32Array.from([0.1, 0, 0, 0, 0.999, -1, 1, -1, 0.5, 0])),
    );
    const s = c.stats();
    assert.equal(s.nonFinite, 3 + 4);
    assert.equal(s.clipped, 4);
  });

  test('stereo is averaged to mono', () => {
    const c = new AudioConditioner();
    const [o] = c.push({
      tUs: T0,
      sampleRateHz: 16_000,
      channels: 2,
      samples: Float32Array.from([0.5, 0.1, -0.2, -0.4, Number.NaN, 0.6]),
    }).out;
    assert.deepEqual(Array.from(o!.samples), Array.from(Float32Array.from([0.3, -0.3, 0.3])));
    assert.equal(c.stats().downmixed, 1);
    assert.equal(c.stats().nonFinite, 1);
  });

  test('empty chunks are counted and change nothing', () => {
    const c = new AudioConditioner();
    const x = ramp(960);
    const [a, b, d] = chunks(x, 16_000, 20);
    const out: ConditionedAudio[] = [];
    out.push(...c.push(a!).out);
    out.push(
      ...c.push({ tUs: T0 + 5_000_000, sampleRateHz: 16_000, channels: 1, samples: new Float32Array(0) }).out,
    );
    out.push(...c.push(b!).out, ...c.push(d!).out);
    assert.deepEqual(joined(out), x);
    assert.equal(c.stats().empty, 1);
    assert.equal(c.stats().segments, 1);
  });

  test('a lost chunk: zeros fill the gap, counted; later samples stay at their true times', () => {
    const x = ramp(16_000);
    const input = chunks(x, 16_000, 20);
    const lost = new Set([3, 10, 11]);
    const c = new AudioConditioner();
    const out = run(
      c,
      input.filter((_, i) => !lost.has(i)),
    );
    const y = joined(out);
    assert.equal(y.length, x.length);
    for (let i = 0; i < x.length; i++) {
      const chunk = Math.floor(i / 320);
      assert.equal(y[i], lost.has(chunk) ? 0 : x[i], `sample ${i}`);
    }
    assertTimeline(out);
    const s = c.stats();
    assert.equal(s.gaps, 2);
    assert.equal(s.gapFillSamples, 3 * 320);
    assert.equal(s.gapFillMs, 60);
    assert.equal(s.segments, 1);
  });

  test('a lost chunk at 44.1 kHz: the gap is filled before resampling, the output timeline stays exact', () => {
    const x = Float32Array.from(
      { length: 44_100 },
      (_, i) => 0.5 * Math.sin((2 * Math.PI * 300 * i) / 44_100),
    );
    const input = chunks(x, 44_100, 20);
    const c = new AudioConditioner();
    const out = run(
      c,
      input.filter((_, i) => i !== 20),
    );
    const withZeros = x.slice();
    withZeros.fill(0, 20 * 882, 21 * 882);
    assert.deepEqual(joined(out), resample(withZeros, 44_100, 16_000));
    assert.equal(c.stats().gapFillSamples, 882);
  });

  test('jitter within the tolerance is not a gap; the timeline is not re-anchored on it', () => {
    const x = ramp(3200);
    const input = chunks(x, 16_000, 20).map((ch, i) => ({ ...ch, tUs: ch.tUs + (i % 2 === 0 ? 400 : -300) }));
    const c = new AudioConditioner();
    const out = run(c, input);
    assert.deepEqual(joined(out), x);
    assert.equal(out[0]!.tUs, T0 + 400);
    assert.equal(out[5]!.tUs, T0 + 400 + 100_000, 'positions follow the sample count from the segment start');
    assert.equal(c.stats().gaps, 0);
  });

  test('duplicates are dropped, partial overlaps trimmed; both counted', () => {
    const x = ramp(3200);
    const input = chunks(x, 16_000, 20);
    const c = new AudioConditioner();
    const out: ConditionedAudio[] = [];
    for (let i = 0; i < input.length; i++) {
      out.push(...c.push(input[i]!).out);
      if (i === 2) out.push(...c.push(input[i]!).out); // re-delivered
      if (i === 4) out.push(...c.push(input[1]!).out); // stale
    }
    // A chunk starting 5 ms before the expected time, 20 ms long: its first 80 samples are old.
    const overlap = { tUs: T0 + 195_000, sampleRateHz: 16_000, channels: 1, samples: ramp(320, 2e-4) };
    out.push(...c.push(overlap).out, ...c.flush());
    assert.deepEqual(joined(out), Float32Array.from([...x, ...overlap.samples.subarray(80)]));
    const s = c.stats();
    assert.equal(s.duplicates, 2);
    assert.equal(s.overlapSamples, 80);
    assertTimeline(out);
  });

  test('a jump beyond maxGapMs, a new publisher session or a rate change starts a new segment at the chunk’s own time', () => {
    const c = new AudioConditioner({ maxGapMs: 500 });
    const a = { tUs: T0, sampleRateHz: 16_000, channels: 1, samples: ramp(320), sessionId: 7 };
    const later = { ...a, tUs: T0 + 20_000 + 600_000 };
    const stale = { ...a, tUs: T0 - 3_000_000 }; // same session, long ago: a stale redelivery
    const restarted = { ...a, tUs: T0 - 3_000_000, sessionId: 8 }; // new session, clock went back
    const other = { ...restarted, tUs: T0 - 3_000_000 + 20_000, sampleRateHz: 48_000, samples: ramp(960) };
    const out = run(c, [a, later, stale, restarted, other]);
    assert.deepEqual(
      out.filter((o) => o.startSample === 0).map((o) => [o.segment, o.segmentStartUs]),
      [
        [0, T0],
        [1, T0 + 620_000],
        [2, T0 - 3_000_000],
        [3, T0 - 2_980_000],
      ],
    );
    assertTimeline(out);
    const s = c.stats();
    assert.deepEqual(
      [s.timeJumps, s.sessionChanges, s.rateChanges, s.segments, s.gaps, s.duplicates],
      [1, 1, 1, 4, 0, 1],
    );
    // 500 ms is still a gap (filled), more is a jump.
    const g = new AudioConditioner({ maxGapMs: 500 });
    run(g, [a, { ...a, tUs: T0 + 20_000 + 500_000 }]);
    assert.deepEqual([g.stats().gaps, g.stats().gapFillSamples, g.stats().timeJumps], [1, 8000, 0]);
  });

  test(
    'real car noise (NOISEX-92 volvo, 19,980 Hz) in 20 ms chunks == whole-file resampling',
    { skip: SHARED_SKIP },
    async () => {
      const w = await readWavFile(shared('audio/noise/noisex92/volvo_19980Hz_58s.wav'));
      const x = w.samples.subarray(0, w.sampleRateHz * 4);
      const c = new AudioConditioner();
      const out = run(c, chunks(x, w.sampleRateHz, 20));
      assert.deepEqual(joined(out), resample(x, w.sampleRateHz, 16_000));
      assertTimeline(out);
      assert.equal(c.stats().gaps, 0, 'µs rounding of the chunk times stays within the tolerance');
    },
  );
});
