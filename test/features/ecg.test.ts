/**
 * ECG features without ../shared: filters, the QRS detector on synthetic ECG at several rates and on the
 * committed MIT-BIH 100 excerpt, streaming (chunk borders, NaN, gaps, overlaps, rate changes, bad rates,
 * flat line, saturation), RR series, signal quality, beat scoring and the `eval qrs` command.
 * Real-data acceptance (the full records) is in ecg-acceptance.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  QRS_MAX_RATE_HZ,
  QRS_MIN_RATE_HZ,
  QrsFilterChain,
  checkQrsRate,
  designQrsFilter,
  qrsBandPass,
} from '../../src/streams/features/ecg/filters.ts';
import { EcgBeatStream, detectBeats } from '../../src/streams/features/ecg/beat-stream.ts';
import type { EcgBeat } from '../../src/streams/features/ecg/beat-stream.ts';
import { QrsDetector } from '../../src/streams/features/ecg/qrs-detector.ts';
import type { QrsDetection } from '../../src/streams/features/ecg/qrs-detector.ts';
import { matchBeats, scoreBeats } from '../../src/streams/features/ecg/score.ts';
import { ecgQuality, clippedFraction, longestFlatRun } from '../../src/streams/features/ecg/quality.ts';
import {
  RrStream,
  classifyRr,
  concatRr,
  instantaneousHr,
  rrFromBeats,
  rrFromStrap,
} from '../../src/streams/features/ecg/rr.ts';
import { bandPower, welchPsd } from '../../src/streams/features/ecg/spectrum.ts';
import { main } from '../../src/cli/main.ts';
import {
  evalQrs,
  evalQrsCommand,
  evalQrsOptionsFrom,
  firstEcgSignal,
} from '../../src/cli/commands/eval-qrs.ts';
import { parseCommandArgs, UsageError } from '../../src/cli/command.ts';
import type { RrIntervals } from '../../src/streams/contracts/messages.ts';
import { readAnnotationFile, readWfdbRecordFile, AAMI_BEAT_SYMBOLS } from '../../src/streams/readers/wfdb.ts';
import { fixture } from '../readers/shared-data.ts';
import { prng as rng } from '../support/fixtures.ts';

// ---------------------------------------------------------------------------------------------------------
// Synthetic ECG: a sum of Gaussian P, Q, R, S and T waves per beat (mV), baseline wander and noise.
// ---------------------------------------------------------------------------------------------------------

interface SynthOptions {
  readonly rateHz: number;
  readonly durationS: number;
  readonly seed?: number;
  /** Amplitude multiplier of each beat's waves, by beat number (default 1). */
  readonly beatScale?: (k: number) => number;
  readonly tAmpMv?: number;
  /** T-wave width (Gaussian SD), s (default 0.045). */
  readonly tSdS?: number;
  readonly noiseMv?: number;
  readonly wanderMv?: number;
}

/** Synthetic ECG and its R-peak times (s). RR varies 0.62–1.08 s (respiratory-like modulation + jitter). */
function synthEcg(o: SynthOptions): { x: Float32Array; rS: number[] } {
  const rand = rng(o.seed ?? 1);
  const rS: number[] = [];
  for (let t = 0.4; t < o.durationS - 0.4;) {
    rS.push(t);
    t += 0.85 + 0.15 * Math.sin(2 * Math.PI * 0.2 * t) + 0.08 * (rand() - 0.5);
  }
  const n = Math.round(o.durationS * o.rateHz);
  const x = new Float32Array(n);
  const waves = [
    { dt: -0.16, amp: 0.15, sd: 0.025 },
    { dt: -0.025, amp: -0.12, sd: 0.008 },
    { dt: 0, amp: 1.0, sd: 0.01 },
    { dt: 0.028, amp: -0.25, sd: 0.01 },
    { dt: 0.28, amp: o.tAmpMv ?? 0.3, sd: o.tSdS ?? 0.045 },
  ];
  for (const [k, r] of rS.entries()) {
    const scale = o.beatScale?.(k) ?? 1;
    for (const w of waves) {
      const c = r + w.dt;
      const lo = Math.max(0, Math.floor((c - 5 * w.sd) * o.rateHz));
      const hi = Math.min(n - 1, Math.ceil((c + 5 * w.sd) * o.rateHz));
      for (let i = lo; i <= hi; i++) {
        const t = i / o.rateHz;
        x[i]! += scale * w.amp * Math.exp(-0.5 * ((t - c) / w.sd) ** 2);
      }
    }
  }
  const wander = o.wanderMv ?? 0.2;
  const noise = o.noiseMv ?? 0.02;
  for (let i = 0; i < n; i++) {
    const t = i / o.rateHz;
    x[i]! += wander * Math.sin(2 * Math.PI * 0.25 * t) + 0.5 + noise * 2 * (rand() - 0.5);
  }
  return { x, rS };
}

const us = (s: number): number => s * 1e6;
const times = (beats: readonly EcgBeat[]): number[] => beats.map((b) => b.tUs);

// ---------------------------------------------------------------------------------------------------------

describe('QRS filters', () => {
  test('design: integer delays for every rate 125–1000 Hz, band edges near 5 and 15 Hz', () => {
    for (const fs of [125, 128, 200, 250, 360, 496, 500, 1000]) {
      const d = designQrsFilter(fs);
      assert.ok(Number.isInteger(d.bandPassDelay) && Number.isInteger(d.integratorDelay), `fs ${fs}`);
      assert.equal(d.integratorLength % 2, 1);
      // Delays in seconds stay about the same at every rate.
      assert.ok(
        Math.abs(d.bandPassDelay / fs - 0.12) < 0.03,
        `band-pass delay ${d.bandPassDelay / fs} s at ${fs}`,
      );
      assert.ok(
        Math.abs(d.integratorDelay / fs - 0.205) < 0.035,
        `chain delay ${d.integratorDelay / fs} s at ${fs}`,
      );
      // Magnitude response from the impulse response (direct DFT at a few frequencies).
      const n = 4 * fs;
      const imp = new Float32Array(n);
      imp[fs] = 1;
      const h = qrsBandPass(imp, fs);
      const mag = (f: number): number => {
        let re = 0;
        let im = 0;
        for (let i = 0; i < n; i++) {
          re += h[i]! * Math.cos((2 * Math.PI * f * i) / fs);
          im -= h[i]! * Math.sin((2 * Math.PI * f * i) / fs);
        }
        return Math.hypot(re, im);
      };
      let peak = 0;
      for (let f = 6; f <= 12; f += 0.5) peak = Math.max(peak, mag(f));
      const db = (f: number): number => 20 * Math.log10(mag(f) / peak);
      assert.ok(db(0.5) < -30, `0.5 Hz at ${fs}: ${db(0.5)} dB`);
      assert.ok(db(4) < -3 && db(6) > -3, `low edge at ${fs}: 4 Hz ${db(4)}, 6 Hz ${db(6)}`);
      assert.ok(db(13) > -3 && db(18) < -3, `high edge at ${fs}: 13 Hz ${db(13)}, 18 Hz ${db(18)}`);
      if (fs >= 125) assert.ok(db(50) < -20, `50 Hz at ${fs}: ${db(50)} dB`);
    }
  });

  test('linear phase: the impulse response is symmetric about the stated delay', () => {
    for (const fs of [125, 360, 1000]) {
      const chain = new QrsFilterChain(fs);
      chain.prime(0);
      const d = chain.design.bandPassDelay;
      const h: number[] = [];
      for (let i = 0; i <= 2 * d; i++) {
        chain.push(i === 0 ? 1 : 0);
        h.push(chain.bandPass);
      }
      for (let k = 0; k <= d; k++) assert.ok(Math.abs(h[d - k]! - h[d + k]!) < 1e-12, `fs ${fs} k ${k}`);
      assert.ok(h[d]! > 0);
    }
  });

  test('a DC offset gives exactly zero output from the first sample (edge priming)', () => {
    const chain = new QrsFilterChain(360);
    chain.prime(5.25);
    for (let i = 0; i < 1000; i++) {
      chain.push(5.25);
      assert.ok(Math.abs(chain.bandPass) < 1e-12 && Math.abs(chain.integrated) < 1e-20);
    }
  });

  test('delay compensation: a Gaussian pulse keeps its peak index after qrsBandPass', () => {
    for (const fs of [125, 250, 360, 1000]) {
      const x = new Float32Array(3 * fs);
      const c = Math.round(1.3 * fs);
      for (let i = 0; i < x.length; i++) x[i] = Math.exp(-0.5 * ((i - c) / (0.01 * fs)) ** 2);
      const y = qrsBandPass(x, fs);
      let best = 0;
      for (let i = 1; i < y.length; i++) if (y[i]! > y[best]!) best = i;
      assert.ok(Math.abs(best - c) <= 1, `fs ${fs}: peak at ${best}, pulse at ${c}`);
    }
  });

  test('rates outside 125–1000 Hz are refused with a clear RangeError', () => {
    for (const bad of [124.9, 1000.1, 0, -360, NaN, Infinity]) {
      assert.throws(
        () => checkQrsRate(bad),
        (e: unknown) => e instanceof RangeError && /125–1000 Hz/.test(e.message),
      );
    }
    assert.doesNotThrow(() => checkQrsRate(QRS_MIN_RATE_HZ));
    assert.doesNotThrow(() => checkQrsRate(QRS_MAX_RATE_HZ));
  });
});

describe('QRS detector', () => {
  test('synthetic ECG at 125, 250, 360, 496 and 1000 Hz: every beat, no false one, R peak within 8 ms', () => {
    for (const rateHz of [125, 250, 360, 496, 1000]) {
      const { x, rS } = synthEcg({ rateHz, durationS: 60, seed: rateHz });
      const beats = detectBeats(x, rateHz);
      const s = scoreBeats(times(beats), rS.map(us));
      assert.equal(s.fn, 0, `missed at ${rateHz} Hz`);
      assert.equal(s.fp, 0, `false at ${rateHz} Hz`);
      assert.ok(s.maxAbsErrorMs! <= 8, `R-peak error ${s.maxAbsErrorMs} ms at ${rateHz} Hz`);
    }
  });

  test('the first beat (0.4 s into the record) is kept: learning replays its 2 s', () => {
    const { x, rS } = synthEcg({ rateHz: 250, durationS: 10 });
    const beats = detectBeats(x, 250);
    assert.ok(Math.abs(beats[0]!.tUs - us(rS[0]!)) < 8000);
  });

  test('tall, fairly sharp T waves (as tall as R, SD 30 ms) are not detected as beats (slope rule)', () => {
    // Such a T wave's integrated energy passes the threshold (without the T-wave rule every T is a false
    // beat), but its steepest slope, 280 ms after the R peak, is under half the QRS's.
    const { x, rS } = synthEcg({ rateHz: 360, durationS: 60, tAmpMv: 1, tSdS: 0.03, seed: 3 });
    const s = scoreBeats(times(detectBeats(x, 360)), rS.map(us));
    assert.equal(s.fp, 0);
    assert.equal(s.fn, 0);
    const without = scoreBeats(times(detectBeats(x, 360, 0, { tWaveSlopeRatio: 0 })), rS.map(us));
    assert.ok(without.fp > 30, 'the case needs the rule');
  });

  test('beats at half the usual amplitude are recovered by search-back', () => {
    // The MWI height scales with amplitude²: a half-size beat gives 0.25 of the QRS level, below the main
    // threshold (0.3125 of it) and above the search-back one (half of that, 0.156).
    const small = new Set([20, 21, 40]);
    const { x, rS } = synthEcg({ rateHz: 360, durationS: 60, beatScale: (k) => (small.has(k) ? 0.5 : 1) });
    const beats = detectBeats(x, 360);
    const s = scoreBeats(times(beats), rS.map(us));
    assert.equal(s.fn, 0);
    assert.equal(s.fp, 0);
    assert.ok(
      beats.some((b) => b.searchBack),
      'some beat came from search-back',
    );
  });

  test('inverted lead (QS complexes): beats found, fiducial on the negative peak', () => {
    const { x, rS } = synthEcg({ rateHz: 500, durationS: 30 });
    for (let i = 0; i < x.length; i++) x[i] = -x[i]!;
    const s = scoreBeats(times(detectBeats(x, 500)), rS.map(us));
    assert.equal(s.fn + s.fp, 0);
    assert.ok(s.maxAbsErrorMs! <= 8);
  });

  test('MIT-BIH 100 excerpt (committed fixture): the 8 reference beats of its 6 s', async () => {
    const rec = await readWfdbRecordFile(fixture('mitdb100-6s.hea'));
    const ann = await readAnnotationFile(fixture('mitdb100-6s.atr'));
    const ref = ann.annotations.filter((a) => AAMI_BEAT_SYMBOLS.has(a.symbol)).map((a) => us(a.sample / 360));
    assert.equal(ref.length, 8);
    const s = scoreBeats(times(detectBeats(rec.signals[0]!.physical, 360)), ref);
    assert.deepEqual([s.tp, s.fn, s.fp], [8, 0, 0]);
    assert.ok(s.maxAbsErrorMs! < 15);
  });

  test('QrsDetector: output depends only on the samples, not on how process() calls split them', () => {
    const { x } = synthEcg({ rateHz: 250, durationS: 20, seed: 9 });
    const whole: QrsDetection[] = [];
    const a = new QrsDetector(250);
    a.process(x, 0, x.length, whole);
    a.finish(whole);
    const parts: QrsDetection[] = [];
    const b = new QrsDetector(250);
    for (let i = 0; i < x.length; i += 7) b.process(x, i, Math.min(x.length, i + 7), parts);
    b.finish(parts);
    assert.deepEqual(parts, whole);
    assert.throws(() => b.process(x, 0, 1, parts), /after finish/);
  });
});

describe('EcgBeatStream', () => {
  const rateHz = 360;
  const t0 = 1_700_000_000_000_000;
  const { x, rS } = synthEcg({ rateHz, durationS: 40, seed: 5 });

  function feed(stream: EcgBeatStream, sizes: readonly number[], signal: ArrayLike<number> = x): EcgBeat[] {
    const out: EcgBeat[] = [];
    let i = 0;
    let k = 0;
    while (i < signal.length) {
      const n = Math.max(1, sizes[k++ % sizes.length]!);
      const part = Float32Array.from({ length: Math.min(n, signal.length - i) }, (_, j) => signal[i + j]!);
      out.push(...stream.push({ samples: part, tUs: t0 + (i * 1e6) / rateHz, rateHz }));
      i += part.length;
    }
    out.push(...stream.flush());
    return out;
  }

  test('whole vs. random chunk sizes: identical beats (none lost or doubled at borders)', () => {
    const whole = detectBeats(x, rateHz, t0);
    assert.equal(whole.length, rS.length);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 3000 }), { minLength: 1, maxLength: 20 }), (sizes) => {
        assert.deepEqual(feed(new EcgBeatStream(), sizes), whole);
      }),
      { numRuns: 25 },
    );
    // One sample at a time, too.
    assert.deepEqual(feed(new EcgBeatStream(), [1]), whole);
  });

  test('beats carry absolute times: chunk time + index / rate (filter delays removed)', () => {
    const beats = detectBeats(x, rateHz, t0);
    const s = scoreBeats(
      times(beats),
      rS.map((r) => t0 + us(r)),
    );
    assert.deepEqual([s.fn, s.fp], [0, 0]);
    assert.ok(s.maxAbsErrorMs! <= 6, `${s.maxAbsErrorMs}`);
    for (const b of beats) assert.ok(Number.isInteger(b.tUs));
  });

  test('NaN run: the segment ends and resyncs after it; counted; no RR across it', () => {
    const y = Float32Array.from(x);
    const a = Math.round(15 * rateHz);
    const b = Math.round(17 * rateHz);
    y.fill(NaN, a, b);
    const stream = new EcgBeatStream();
    const beats = feed(stream, [500], y);
    assert.equal(stream.counters.nonFiniteSamples, b - a);
    assert.equal(stream.counters.nonFiniteGaps, 1);
    assert.equal(stream.counters.segments, 2);
    for (const bt of beats)
      assert.ok(bt.tUs < t0 + us(15) || bt.tUs >= t0 + us(17), 'no beat inside the gap');
    // Beats well away from the gap are all there.
    const far = rS.filter((r) => r < 14.5 || r > 17.6).map((r) => t0 + us(r));
    const s = scoreBeats(times(beats), far);
    assert.equal(s.fn, 0);
    assert.ok(s.fp <= 2, `${s.fp} extra beats near the gap`);
    const rr = rrFromBeats(beats);
    for (let i = 0; i < rr.rrMs.length; i++) assert.ok(rr.rrMs[i]! < 1500, 'an interval spans the gap');
    assert.deepEqual(new Set(beats.map((bt) => bt.segment)), new Set([0, 1]));
  });

  test('time gap (a lost chunk): counted, resynced at the next chunk; beats keep the chunk times', () => {
    const stream = new EcgBeatStream();
    const cut = Math.round(20 * rateHz);
    const skip = Math.round(1 * rateHz);
    const out = stream.push({ samples: x.subarray(0, cut), tUs: t0, rateHz });
    out.push(
      ...stream.push({ samples: x.subarray(cut + skip), tUs: t0 + ((cut + skip) * 1e6) / rateHz, rateHz }),
    );
    out.push(...stream.flush());
    assert.equal(stream.counters.timeGaps, 1);
    assert.equal(stream.counters.segments, 2);
    const kept = rS.filter((r) => r < 19.7 || r > 21.2).map((r) => t0 + us(r));
    const s = scoreBeats(times(out), kept);
    assert.equal(s.fn, 0);
    assert.ok(s.maxAbsErrorMs! <= 6);
  });

  test('overlapping chunk (re-sent data): overlap dropped and counted, beats unchanged', () => {
    const whole = detectBeats(x, rateHz, t0);
    const stream = new EcgBeatStream();
    const a = Math.round(10 * rateHz);
    const out = stream.push({ samples: x.subarray(0, a), tUs: t0, rateHz });
    const back = 100; // re-send the last 100 samples with the rest
    out.push(
      ...stream.push({ samples: x.subarray(a - back), tUs: t0 + ((a - back) * 1e6) / rateHz, rateHz }),
    );
    out.push(...stream.flush());
    assert.equal(stream.counters.overlaps, 1);
    assert.equal(stream.counters.overlapSamplesDropped, back);
    assert.deepEqual(out, whole);
    // A chunk wholly in the past is dropped.
    const s2 = new EcgBeatStream();
    s2.push({ samples: x.subarray(0, a), tUs: t0, rateHz });
    assert.deepEqual(s2.push({ samples: x.subarray(0, 50), tUs: t0, rateHz }), []);
    assert.equal(s2.counters.overlapSamplesDropped, 50);
  });

  test('rate change: counted, filters re-initialised at the new rate, beats found at both', () => {
    const other = synthEcg({ rateHz: 250, durationS: 20, seed: 8 });
    const stream = new EcgBeatStream();
    const out = stream.push({ samples: x.subarray(0, 20 * rateHz), tUs: t0, rateHz });
    out.push(...stream.push({ samples: other.x, tUs: t0 + us(20), rateHz: 250 }));
    out.push(...stream.flush());
    assert.equal(stream.counters.rateChanges, 1);
    assert.equal(stream.counters.segments, 2);
    // Beats whose QRS (±50 ms) lies wholly before the change at 20 s, then the new signal's.
    const ref = [...rS.filter((r) => r < 19.95), ...other.rS.map((r) => 20 + r)].map((r) => t0 + us(r));
    const s = scoreBeats(times(out), ref);
    assert.equal(s.fn, 0);
    assert.equal(s.fp, 0);
  });

  test('unsupported rate or time: chunk rejected and counted (stream), RangeError (whole record)', () => {
    const stream = new EcgBeatStream();
    assert.deepEqual(stream.push({ samples: x.subarray(0, 100), tUs: t0, rateHz: 100 }), []);
    assert.match(stream.lastRejection ?? '', /100 Hz is outside the supported 125–1000 Hz/);
    assert.deepEqual(stream.push({ samples: x.subarray(0, 100), tUs: NaN, rateHz }), []);
    assert.match(stream.lastRejection ?? '', /not finite/);
    assert.equal(stream.counters.rejectedChunks, 2);
    assert.equal(stream.counters.samples, 0);
    assert.throws(() => detectBeats(x, 2000), RangeError);
  });

  test('clock drift: chunk stamps 0.1 % fast are followed (anchors), no resync', () => {
    // 1 ms per 1 s chunk, within the jitter tolerance each time, 40 ms by the end: beat times must follow the
    // stamps, and the accumulated drift must not look like a gap.
    const stream = new EcgBeatStream();
    const out: EcgBeat[] = [];
    const chunk = 360;
    for (let i = 0; i < x.length; i += chunk) {
      const tUs = t0 + ((i * 1e6) / rateHz) * (1 + 1e-3);
      out.push(...stream.push({ samples: x.subarray(i, i + chunk), tUs, rateHz }));
    }
    out.push(...stream.flush());
    assert.equal(stream.counters.timeGaps + stream.counters.overlaps, 0);
    assert.equal(stream.counters.segments, 1);
    const s = scoreBeats(
      times(out),
      rS.map((r) => t0 + us(r) * (1 + 1e-3)),
    );
    assert.deepEqual([s.fn, s.fp], [0, 0]);
    assert.ok(s.maxAbsErrorMs! <= 6, `beat times follow the stamps: ${s.maxAbsErrorMs} ms`);
  });

  test('flat line (constant, and constant ± 1 LSB): no beats', () => {
    assert.deepEqual(detectBeats(new Float32Array(60 * 360).fill(1.2), 360), []);
    const q = new Float32Array(60 * 360);
    const rand = rng(4);
    for (let i = 0; i < q.length; i++) q[i] = 1.2 + (rand() < 0.5 ? 0 : 0.005);
    assert.deepEqual(detectBeats(q, 360), []);
  });

  test('flat line then ECG: beats start with the signal (learning waits for the first candidate)', () => {
    const y = new Float32Array(x.length + 10 * rateHz).fill(0.5);
    y.set(x, 10 * rateHz);
    const s = scoreBeats(
      times(detectBeats(y, rateHz)),
      rS.map((r) => us(r + 10)),
    );
    assert.deepEqual([s.fn, s.fp], [0, 0]);
  });

  test('saturation: R peaks clipped at 40 % of their height still give every beat', () => {
    const y = Float32Array.from(x, (v) => Math.min(v, 0.5 + 0.4));
    const s = scoreBeats(times(detectBeats(y, rateHz)), rS.map(us));
    assert.deepEqual([s.fn, s.fp], [0, 0]);
    assert.ok(ecgQuality(y.subarray(0, 10 * rateHz), rateHz).saturation.flag);
  });

  test('pushPhysio takes the first ECG channel of a PhysioChunk', () => {
    const stream = new EcgBeatStream();
    const beats = stream.pushPhysio({
      kind: 'physio',
      sessionId: 1,
      seq: 0,
      tUs: t0,
      endUs: t0 + us(40),
      bytes: 0,
      sampleFormat: 'float32',
      channels: [
        { kind: 'eda', rateHz: 31, samples: new Float32Array(31 * 40), nonFinite: 0 },
        { kind: 'ecg', rateHz, samples: x, nonFinite: 0 },
      ],
    });
    beats.push(...stream.flush());
    assert.deepEqual(beats, detectBeats(x, rateHz, t0));
  });
});

describe('RR series', () => {
  test('rrFromBeats: intervals within segments only, ms, stamped with the ending beat', () => {
    const beats: EcgBeat[] = [
      { tUs: 1_000_000, segment: 0, searchBack: false },
      { tUs: 1_800_000, segment: 0, searchBack: false },
      { tUs: 2_650_000, segment: 0, searchBack: false },
      { tUs: 5_000_000, segment: 1, searchBack: false },
      { tUs: 5_900_000, segment: 1, searchBack: true },
    ];
    const rr = rrFromBeats(beats);
    assert.deepEqual(Array.from(rr.tUs), [1_800_000, 2_650_000, 5_900_000]);
    assert.deepEqual(Array.from(rr.rrMs), [800, 850, 900]);
    // Streaming gives the same across calls.
    const st = new RrStream();
    const pts = [...st.pushBeats(beats.slice(0, 2)), ...st.pushBeats(beats.slice(2))];
    assert.deepEqual(
      pts.map((p) => [p.tUs, p.rrMs]),
      [
        [1_800_000, 800],
        [2_650_000, 850],
        [5_900_000, 900],
      ],
    );
  });

  test('chest-strap RR message: tUs ends the first interval, later beats by cumulative sums', () => {
    const msg: RrIntervals = {
      kind: 'rr',
      sessionId: 1,
      seq: 3,
      tUs: 10_000_000,
      endUs: 11_700_000,
      bytes: 0,
      rrMs: Float32Array.from([1000, 800, 900]),
    };
    const s = rrFromStrap(msg);
    // 10 s; 10 s + 800 ms; 10.8 s + 900 ms.
    assert.deepEqual(Array.from(s.tUs), [10_000_000, 10_800_000, 11_700_000]);
    assert.deepEqual(Array.from(s.rrMs), [1000, 800, 900]);
    assert.equal(s.tUs[2], msg.endUs);
    assert.equal(new RrStream().pushStrap(msg).length, 3);
    // Merged with detector intervals into one series, cut to a window.
    const merged = concatRr(
      [s, { tUs: Float64Array.from([10_400_000]), rrMs: Float64Array.from([750]) }],
      10_000_000,
      11_000_000,
    );
    assert.deepEqual(Array.from(merged.tUs), [10_000_000, 10_400_000, 10_800_000]);
  });

  test('instantaneous HR = 60 000 / RR', () => {
    assert.deepEqual(Array.from(instantaneousHr([750, 1000, 500])), [80, 60, 120]);
  });

  test('artefact rule: out of range and > 20 % off the local median', () => {
    // 250 and 2500 are out of range; 500 and 1100 (a premature beat and its compensatory pause) deviate
    // 300 ms from the local median 800 (> 160 ms = 20 %); 900 deviates 100 ms (< 160) and is kept.
    const rr = [800, 810, 790, 500, 1100, 800, 250, 900, 805, 2500, 795, 800];
    const c = classifyRr(rr);
    assert.equal(c.outOfRange, 2);
    assert.equal(c.ectopic, 2);
    assert.deepEqual(Array.from(c.kept), [1, 1, 1, 0, 0, 1, 0, 1, 1, 0, 1, 1]);
    // Fewer than 2 neighbours: kept.
    assert.deepEqual(Array.from(classifyRr([800, 1500]).kept), [1, 1]);
  });
});

describe('ECG signal quality', () => {
  const rateHz = 500;
  const { x } = synthEcg({ rateHz, durationS: 10, seed: 11 });

  test('clean synthetic ECG: usable, measures small', () => {
    const q = ecgQuality(x, rateHz);
    assert.equal(q.usable, true);
    assert.ok(q.flat.longestFlatS < 0.5);
    assert.equal(q.saturation.clippedFraction, 0);
    assert.ok(q.noise.hfNoiseRatio! < 0.05, `${q.noise.hfNoiseRatio}`);
    assert.ok(q.electrodeOff.baselineWanderMv! < 1);
  });

  test('flat line: flagged with its length; a flat window is not also called clipped', () => {
    const y = new Float32Array(10 * rateHz).fill(0.3);
    const q = ecgQuality(y, rateHz);
    assert.equal(q.flat.flag, true);
    assert.equal(q.flat.longestFlatS, 10);
    assert.equal(q.saturation.flag, false);
    assert.equal(q.usable, false);
    const z = Float32Array.from(x);
    z.fill(0.5, 2 * rateHz, 5 * rateHz);
    assert.ok(Math.abs(ecgQuality(z, rateHz).flat.longestFlatS - 3) < 0.1);
    assert.equal(ecgQuality(z, rateHz).flat.flag, true);
  });

  test('saturation: clipped R peaks flagged with the clipped fraction', () => {
    const y = Float32Array.from(x, (v) => Math.min(v, 1.0));
    const q = ecgQuality(y, rateHz);
    assert.equal(q.saturation.flag, true);
    assert.ok(q.saturation.clippedFraction > 0.01 && q.saturation.clippedFraction < 0.1);
  });

  test('high-frequency noise (EMG-like white noise, mains): flagged with the 40 Hz+ power ratio', () => {
    // White noise of 0.23 mV RMS (uniform, ±0.4 mV) is flagged; 0.03 mV RMS is not.
    const rand = rng(2);
    const y = Float32Array.from(x, (v) => v + 0.8 * (rand() - 0.5));
    assert.equal(ecgQuality(y, rateHz).noise.flag, true);
    const mild = Float32Array.from(x, (v) => v + 0.1 * (rand() - 0.5));
    assert.equal(ecgQuality(mild, rateHz).noise.flag, false);
    const m = Float32Array.from(x, (v, i) => v + 0.3 * Math.sin((2 * Math.PI * 50 * i) / rateHz));
    const q = ecgQuality(m, rateHz);
    assert.equal(q.noise.flag, true);
    assert.ok(q.noise.hfNoiseRatio! > 0.25);
  });

  test('electrode off: large baseline excursion or out-of-range samples', () => {
    const drift = Float32Array.from(x, (v, i) => v + 2 * Math.sin((2 * Math.PI * 0.1 * i) / rateHz));
    const q = ecgQuality(drift, rateHz);
    assert.equal(q.electrodeOff.flag, true);
    assert.ok(q.electrodeOff.baselineWanderMv! >= 2);
    const spikes = Float32Array.from(x);
    spikes.fill(9, 1000, 1200);
    const q2 = ecgQuality(spikes, rateHz);
    assert.equal(q2.electrodeOff.flag, true);
    assert.ok(Math.abs(q2.electrodeOff.outOfRangeFraction - 200 / x.length) < 1e-9);
  });

  test('NaN samples counted; an all-NaN or empty window is not usable', () => {
    const y = Float32Array.from(x);
    y.fill(NaN, 0, 100);
    const q = ecgQuality(y, rateHz);
    assert.equal(q.nonFinite, 100);
    assert.equal(q.usable, true);
    const all = ecgQuality(new Float32Array(100).fill(NaN), rateHz);
    assert.equal(all.usable, false);
    assert.equal(all.peakToPeakMv, null);
    assert.equal(ecgQuality([], rateHz).usable, false);
    assert.throws(() => ecgQuality(x, 0), RangeError);
  });

  test('helpers: longest flat run and clipped fraction by hand', () => {
    // Runs within 0.02: [0, 0.01, 0.015] (3), then [0.5, 0.51, 0.5, 0.505] (4).
    assert.equal(longestFlatRun([0, 0.01, 0.015, 0.5, 0.51, 0.5, 0.505, 1], 0.02), 4);
    // Max 3 repeated 4 times and min −1 twice (run of 2 < 3 does not count): 4 / 10.
    assert.equal(clippedFraction([0, 3, 3, 3, 3, 1, -1, -1, 0, 2], 3), 0.4);
  });
});

describe('Welch PSD', () => {
  test('Parseval: Σ P·Δf equals the mean square of the windowed segments', () => {
    const rand = rng(7);
    const x = Float64Array.from({ length: 1000 }, () => rand() - 0.5);
    const psd = welchPsd(x, 100, 256);
    const total = bandPower(psd, 0, Infinity);
    // Direct: per segment Σ (x − mean)² w² / Σ w², averaged.
    let acc = 0;
    let segs = 0;
    for (let s = 0; s + 256 <= x.length; s += 128) {
      let mean = 0;
      for (let i = 0; i < 256; i++) mean += x[s + i]!;
      mean /= 256;
      let num = 0;
      let den = 0;
      for (let i = 0; i < 256; i++) {
        const w = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / 256);
        num += ((x[s + i]! - mean) * w) ** 2;
        den += w * w;
      }
      acc += num / den;
      segs++;
    }
    assert.equal(psd.segments, segs);
    assert.ok(Math.abs(total - acc / segs) < 1e-12 * acc, `${total} vs ${acc / segs}`);
  });

  test('a sinusoid of amplitude A has band power A²/2', () => {
    const fs = 4;
    const x = Float64Array.from({ length: 1200 }, (_, i) => 30 * Math.sin((2 * Math.PI * 0.1 * i) / fs));
    const p = bandPower(welchPsd(x, fs, 256), 0.04, 0.15);
    assert.ok(Math.abs(p - 450) / 450 < 0.02, `${p}`);
  });
});

describe('beat scoring', () => {
  test('hand example: matches within ±150 ms (inclusive), doubles and misses', () => {
    // Reference 1, 2, 3, 4 s. Detections: 1.0 s (TP), 2.15 s (TP, exactly at the edge), 2.2 s (FP: the
    // 2 s reference is taken), 3.151 s (FP: 151 ms off, so 3 s is FN), 5 s (FP); 4 s is FN.
    const s = scoreBeats([1e6, 2.15e6, 2.2e6, 3.151e6, 5e6], [1e6, 2e6, 3e6, 4e6], 150);
    assert.deepEqual([s.tp, s.fn, s.fp, s.reference, s.detected], [2, 2, 3, 4, 5]);
    assert.equal(s.sensitivity, 0.5);
    assert.equal(s.positivePredictivity, 0.4);
    assert.equal(s.meanAbsErrorMs, 75); // (0 + 150) / 2
    assert.equal(s.maxAbsErrorMs, 150);
  });

  test('maximum matching where nearest-first would lose a pair; any input order', () => {
    // References 0 and 250 ms; detections −140 and 120 ms. Nearest-first gives 0 ms → 120 ms and leaves
    // 250 ms unmatched (−140 is 390 ms away); the maximum matching pairs 0 ↔ −140 and 250 ↔ 120.
    const s = scoreBeats([120e3, -140e3], [250e3, 0], 150);
    assert.deepEqual([s.tp, s.fn, s.fp], [2, 0, 0]);
    const m = matchBeats([120e3, -140e3], [250e3, 0], 150);
    assert.deepEqual(Array.from(m.referenceMatch), [0, 1]);
    assert.deepEqual(Array.from(m.detectionMatch), [0, 1]);
  });

  test('empty inputs and bad values', () => {
    const none = scoreBeats([], [], 150);
    assert.deepEqual([none.sensitivity, none.positivePredictivity, none.meanAbsErrorMs], [null, null, null]);
    assert.equal(scoreBeats([1e6], [], 150).positivePredictivity, 0);
    assert.equal(scoreBeats([], [1e6], 150).sensitivity, 0);
    assert.throws(() => scoreBeats([NaN], [1e6]), RangeError);
    assert.throws(() => scoreBeats([1e6], [1e6], -1), RangeError);
  });
});

describe('drivesense eval qrs', () => {
  const record = fixture('mitdb100-6s');

  test('scores the committed MIT-BIH 100 excerpt: 8 of 8, Se = +P = 1', async () => {
    const r = await evalQrs({ record });
    assert.deepEqual([r.tp, r.fn, r.fp, r.reference, r.detected], [8, 0, 0, 8, 8]);
    assert.equal(r.sensitivity, 1);
    assert.equal(r.positivePredictivity, 1);
    assert.deepEqual(r.signal, { index: 0, name: 'MLII', rateHz: 360 });
    assert.deepEqual(r.byClass, { N: { reference: 7, tp: 7 }, S: { reference: 1, tp: 1 } });
    // The V5 lead by --signal, and a path given with its .hea extension.
    const v5 = await evalQrs({ record: `${record}.hea`, signal: 1 });
    assert.equal(v5.signal.name, 'V5');
  });

  test('--json prints one JSON object with the figures', async () => {
    const lines: string[] = [];
    const orig = console.log;
    console.log = (s: unknown) => void lines.push(String(s));
    try {
      // Through the CLI's own dispatcher, as a user types it.
      const code = await main(['eval', 'qrs', '--record', record, '--json']);
      assert.equal(code, 0);
    } finally {
      console.log = orig;
    }
    const obj = JSON.parse(lines.join('\n')) as Record<string, unknown>;
    assert.equal(obj['sensitivity'], 1);
    assert.equal(obj['positivePredictivity'], 1);
    assert.equal(obj['tp'], 8);
    assert.equal(obj['windowMs'], 150);
  });

  test('text report names Se, +P, TP/FN/FP', async () => {
    const lines: string[] = [];
    const orig = console.log;
    console.log = (s: unknown) => void lines.push(String(s));
    try {
      await evalQrsCommand.run(parseCommandArgs(evalQrsCommand, ['--record', record]));
    } finally {
      console.log = orig;
    }
    const text = lines.join('\n');
    assert.match(text, /TP 8 {2}FN 0 {2}FP 0/);
    assert.match(text, /Se 100\.00 % {2}\+P 100\.00 %/);
  });

  test('argument errors are UsageErrors; missing files are plain errors', async () => {
    const parse = (argv: string[]): unknown => evalQrsOptionsFrom(parseCommandArgs(evalQrsCommand, argv));
    assert.throws(() => parse(['extra', '--record', record]), UsageError);
    assert.throws(() => parse([]), /--record is required/);
    assert.throws(() => parse(['--record', record, '--signal', '-1']), UsageError);
    assert.throws(() => parse(['--record', record, '--annotations', '../x']), UsageError);
    assert.deepEqual(parse(['--record', record, '--annotations', 'atr', '--signal', '1']), {
      record,
      annotations: 'atr',
      signal: 1,
      windowMs: 150,
      json: false,
    });
    await assert.rejects(evalQrs({ record: fixture('no-such-record') }), /not found/);
    await assert.rejects(evalQrs({ record, signal: 5 }), UsageError);
  });

  test('firstEcgSignal: drivedb puts ECG first; a record whose first signal is not ECG', async () => {
    const rec = await readWfdbRecordFile(fixture('drive05-2s.hea'));
    assert.equal(firstEcgSignal(rec), 0);
    const reordered = { ...rec, signals: [rec.signals[4]!, rec.signals[0]!] };
    assert.equal(firstEcgSignal(reordered), 1);
  });
});
