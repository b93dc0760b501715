/**
 * Sensor messages → the stress input builder (src/models/stress/source.ts): the causal RR artefact rule, and
 * `StressMessageSource` fed the decoded message types (rr, physio with hr / ecg / eda / resp, can, weather).
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';
import {
  simulateDrive,
  simulatedCanFrames,
  simulateWeather,
  signalAt,
  weatherMessage,
} from '../../devices/drive-simulator.ts';
import type { SimulatedDrive } from '../../devices/drive-simulator.ts';
import type { StressInput, StressWindowConfig } from '../../src/models/stress/inputs.ts';
import {
  DEFAULT_STRESS_WINDOWS,
  PHYSIO_CHANNELS,
  StressInputBuilder,
  VEHICLE_CHANNELS,
} from '../../src/models/stress/inputs.ts';
import { CausalRrFilter, StressMessageSource } from '../../src/models/stress/source.ts';
import type {
  CanBatch,
  CanFrame,
  PhysioChannel,
  PhysioChannelKind,
  PhysioChunk,
  RrIntervals,
  SensorMessage,
} from '../../src/streams/contracts/messages.ts';
import { decodeWeather, encodeWeather } from '../../src/streams/contracts/weather.ts';
import { loadCanProfile } from '../../src/streams/features/can/load.ts';
import type { CanProfileResources } from '../../src/streams/features/driving-extractor.ts';
import { RR_MAX_MS, RR_MIN_MS } from '../../src/streams/features/ecg/rr.ts';
import { T0_US, prng } from '../support/fixtures.ts';

const CFG: StressWindowConfig = {
  ...DEFAULT_STRESS_WINDOWS,
  calibrationS: 60,
  windowS: 20,
  strideS: 5,
  sequenceLength: 3,
};
const S = CFG.sequenceLength;
const T = CFG.windowS * CFG.binHz;
const P = PHYSIO_CHANNELS.length;
const V = VEHICLE_CHANNELS.length;
const US = 1e6;
const tAt = (s: number) => (T0_US + s * US) / 1e6;

type Result = ReturnType<StressInputBuilder['inputsAt']>;
function input(r: Result): StressInput {
  assert.ok(!('calibrating' in r), 'expected an input, got calibrating');
  return r;
}
const physioAt = (x: StressInput, w: number, i: number, c: number) => x.physio[(w * T + i) * P + c]!;
const vehicleAt = (x: StressInput, w: number, i: number, c: number) => x.vehicle[(w * T + i) * V + c]!;

/** A builder that records what reaches it. */
class SpyBuilder extends StressInputBuilder {
  readonly hr: [number, number][] = [];
  readonly eda: { site: 'hand' | 'foot'; t0S: number; rateHz: number; first: number; n: number }[] = [];
  readonly resp: number[] = [];
  readonly faults: { reason: string; fromS: number; toS: number }[] = [];
  override pushHr(tS: number, bpm: number): void {
    this.hr.push([tS, bpm]);
    super.pushHr(tS, bpm);
  }
  override pushEda(site: 'hand' | 'foot', t0S: number, rateHz: number, samples: ArrayLike<number>): void {
    this.eda.push({ site, t0S, rateHz, first: samples[0]!, n: samples.length });
    super.pushEda(site, t0S, rateHz, samples);
  }
  override pushResp(t0S: number, rateHz: number, samples: ArrayLike<number>): void {
    this.resp.push(samples.length);
    super.pushResp(t0S, rateHz, samples);
  }
  override pushFault(
    source: 'hr' | 'eda' | 'resp',
    reason: 'flat' | 'saturated' | 'implausible' | 'inconsistent' | 'noisy',
    fromS: number,
    toS: number,
  ): void {
    if (source === 'hr') this.faults.push({ reason, fromS, toS });
    super.pushFault(source, reason, fromS, toS);
  }
}

let seq = 0;
function chunk(
  tUs: number,
  durS: number,
  channels: [PhysioChannelKind, number, ArrayLike<number>][],
): PhysioChunk {
  const chs: PhysioChannel[] = channels.map(([kind, rateHz, x]) => ({
    kind,
    rateHz,
    samples: Float32Array.from(x),
    nonFinite: 0,
  }));
  return {
    kind: 'physio',
    sessionId: 1,
    seq: seq++,
    tUs,
    endUs: tUs + durS * US,
    bytes: 0,
    sampleFormat: 'float32',
    channels: chs,
  };
}

const series = (n: number, f: (i: number) => number) => Float64Array.from({ length: n }, (_, i) => f(i));

// ---------------------------------------------------------------------------------------------------------
// CausalRrFilter
// ---------------------------------------------------------------------------------------------------------

describe('CausalRrFilter', () => {
  it('keeps only 300–2000 ms', () => {
    const f = new CausalRrFilter();
    assert.equal(RR_MIN_MS, 300);
    assert.equal(RR_MAX_MS, 2000);
    assert.equal(f.accept(299.9), false);
    assert.equal(f.accept(2000.1), false);
    assert.equal(f.accept(NaN), false);
    assert.equal(f.accept(Infinity), false);
    assert.equal(f.accept(-800), false);
    assert.equal(f.accept(300), true);
    assert.equal(f.accept(2000), true); // the first three in range are kept (no median yet)
    assert.deepEqual([f.kept, f.rejected], [2, 5]);
  });

  it('rejects an ectopic interval 40 % off the running median, keeps the next normal one', () => {
    const f = new CausalRrFilter();
    for (let i = 0; i < 10; i++) assert.equal(f.accept(800 + (i % 3) * 10), true);
    assert.equal(f.accept(480), false); // premature beat: −40 %
    assert.equal(f.accept(1120), false); // compensatory pause: +40 %
    assert.equal(f.accept(805), true);
    assert.equal(f.accept(800 * 1.19), true); // within 20 %
    assert.equal(f.accept(800 * 0.79), false);
    assert.equal(f.kept, 12);
    assert.equal(f.rejected, 3);
  });

  it('out-of-range intervals do not enter the median', () => {
    const f = new CausalRrFilter();
    for (let i = 0; i < 5; i++) f.accept(800);
    for (let i = 0; i < 20; i++) assert.equal(f.accept(2500), false);
    assert.equal(f.accept(810), true);
  });

  it('keeps a gradual HR change (800 → 500 ms, 1 % per beat)', () => {
    const f = new CausalRrFilter();
    let rr = 800;
    let n = 0;
    while (rr > 500) {
      assert.equal(f.accept(rr), true, `${rr} ms`);
      rr *= 0.99;
      n++;
    }
    assert.deepEqual([f.kept, f.rejected], [n, 0]);
  });

  it('after a sustained step, the new rate is taken once it dominates the median', () => {
    const f = new CausalRrFilter();
    for (let i = 0; i < 10; i++) f.accept(1000);
    const out = Array.from({ length: 10 }, () => f.accept(600));
    assert.deepEqual(out.slice(0, 5), [false, false, false, false, false]);
    assert.equal(out[out.length - 1], true);
  });

  it('custom history and deviation', () => {
    const f = new CausalRrFilter(3, 0.5);
    for (let i = 0; i < 3; i++) f.accept(800);
    assert.equal(f.accept(450), true); // 44 % off: within 50 %
    assert.equal(f.accept(1300), false);
  });

  it('property: never keeps an out-of-range interval; kept + rejected counts every call', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 3000, noNaN: true }), { maxLength: 60 }), (xs) => {
        const f = new CausalRrFilter();
        for (const x of xs) {
          const ok = f.accept(x);
          if (x < RR_MIN_MS || x > RR_MAX_MS) assert.equal(ok, false);
        }
        assert.equal(f.kept + f.rejected, xs.length);
      }),
      { numRuns: 200, seed: 5 },
    );
  });

  it('property: a steady rhythm with ±5 % jitter is all kept', () => {
    fc.assert(
      fc.property(fc.integer({ min: 400, max: 1500 }), fc.integer(), (base, seed) => {
        const rnd = prng(seed);
        const f = new CausalRrFilter();
        for (let i = 0; i < 50; i++) assert.equal(f.accept(base * (0.95 + 0.1 * rnd())), true);
      }),
      { numRuns: 100, seed: 9 },
    );
  });
});

// ---------------------------------------------------------------------------------------------------------
// StressMessageSource: physiology
// ---------------------------------------------------------------------------------------------------------

/** Physio support for calibration: hand EDA and respiration, 8 Hz, one second. */
function edaResp(s: number): [PhysioChannelKind, number, ArrayLike<number>][] {
  return [
    ['eda', 8, series(8, (i) => 5 + 0.2 * Math.sin((s + i / 8) / 20) + 0.05 * Math.sin((s + i / 8) * 1.3))],
    ['resp', 8, series(8, (i) => Math.sin(2 * Math.PI * 0.25 * (s + i / 8)))],
  ];
}

describe('StressMessageSource: heart rate', () => {
  it('rr messages (chest strap): filtered RR → HR points in the builder; hr used', () => {
    const b = new SpyBuilder(CFG);
    const src = new StressMessageSource(b);
    const rnd = prng(1);
    // beats every ~800 ms (75 bpm) with jitter; one ectopic beat; messages of 5 intervals
    let tUs = T0_US + 500_000;
    let last: Result = { calibrating: true };
    let nextEval = 1;
    for (let m = 0; m < 160; m++) {
      const rr = Float32Array.from({ length: 5 }, (_, i) => (m === 40 && i === 2 ? 450 : 780 + 40 * rnd()));
      const msg: RrIntervals = {
        kind: 'rr',
        sessionId: 1,
        seq: m,
        tUs,
        endUs: tUs + 1,
        bytes: 0,
        rrMs: rr,
      };
      src.push(msg);
      for (let i = 1; i < 5; i++) tUs += rr[i]! * 1000;
      tUs += 800_000;
      while (T0_US + nextEval * US <= tUs - 1_000_000) last = b.inputsAt(tAt(nextEval++));
    }
    assert.ok(b.hr.length > 700);
    assert.ok(
      b.hr.every(([, bpm]) => bpm > 70 && bpm < 80),
      'the ectopic beat is filtered out',
    );
    assert.equal(b.hr[0]![0], (T0_US + 500_000) / 1e6, 'stamped with the beat ending the interval');
    const x = input(last);
    assert.equal(x.sources.hr, 'used');
    assert.equal(x.sources.eda, 'absent');
    assert.ok(Math.abs(x.stats[(S - 1) * 13]!) < 2);
  });

  it('a physio hr channel: used; 0-valued and out-of-range samples are skipped', () => {
    const b = new SpyBuilder(CFG);
    const src = new StressMessageSource(b);
    let x: Result = { calibrating: true };
    for (let s = 0; s < 100; s++) {
      const hr = series(4, (i) => (i === 3 ? 0 : 72 + Math.sin((s + i / 4) / 3)));
      if (s === 80) hr[1] = 250;
      if (s === 81) hr[1] = NaN;
      src.push(chunk(T0_US + s * US, 1, [['hr', 4, hr], ...edaResp(s)]));
      x = b.inputsAt(tAt(s + 1));
    }
    assert.equal(b.hr.length, 100 * 3 - 2);
    assert.ok(b.hr.every(([, v]) => v >= 30 && v <= 220));
    assert.equal(b.hr[1]![0], tAt(0.25));
    const y = input(x);
    assert.deepEqual(y.sources, {
      hr: 'used',
      eda: 'used',
      resp: 'used',
      vehicle: 'absent',
      context: 'absent',
    });
    // zeros would pull the mean down by ~18 bpm
    for (let i = 0; i < T; i++) assert.ok(Math.abs(physioAt(y, S - 1, i, 0)) < 0.3);
  });

  it('eda channels: one is the hand site; two are foot then hand (drivedb order); resp to respiration', () => {
    const b = new SpyBuilder(CFG);
    const src = new StressMessageSource(b);
    src.push(
      chunk(T0_US, 1, [
        ['eda', 16, series(16, () => 7)],
        ['resp', 8, series(8, () => 0)],
        ['other', 8, series(8, () => 1)],
        ['eda', 4, series(4, () => 2)],
      ]),
    );
    assert.deepEqual(
      b.eda.map((e) => [e.site, e.rateHz, e.first, e.n]),
      [
        ['foot', 16, 7, 16],
        ['hand', 4, 2, 4],
      ],
    );
    assert.equal(b.eda[0]!.t0S, tAt(0));
    assert.deepEqual(b.resp, [8]);
    // a message with one EDA channel: the hand
    src.push(chunk(T0_US + US, 1, [['eda', 4, series(4, () => 9)]]));
    assert.deepEqual([b.eda[2]!.site, b.eda[2]!.first], ['hand', 9]);
    // and two again: foot then hand (the counter restarts per message)
    src.push(
      chunk(T0_US + 2 * US, 1, [
        ['eda', 4, series(4, () => 3)],
        ['eda', 4, series(4, () => 4)],
      ]),
    );
    assert.deepEqual(
      b.eda.slice(3).map((e) => [e.site, e.first]),
      [
        ['foot', 3],
        ['hand', 4],
      ],
    );
  });

  it('other message kinds are ignored', () => {
    const b = new SpyBuilder(CFG);
    const src = new StressMessageSource(b);
    const audio: SensorMessage = {
      kind: 'audio',
      sessionId: 1,
      seq: 0,
      tUs: T0_US,
      endUs: T0_US + US,
      bytes: 0,
      sampleFormat: 'f32',
      sampleRateHz: 16000,
      channels: 1,
      samples: new Float32Array(16),
      nonFinite: 0,
      clipped: 0,
    };
    src.push(audio);
    // CAN without a profile is dropped too
    src.push({ kind: 'can', sessionId: 1, seq: 1, tUs: T0_US, endUs: T0_US, bytes: 0, frames: [] });
    assert.equal(b.hr.length + b.eda.length + b.resp.length, 0);
    assert.ok('calibrating' in b.inputsAt(tAt(100)));
  });
});

// ---------------------------------------------------------------------------------------------------------
// ECG
// ---------------------------------------------------------------------------------------------------------

const ECG_HZ = 250;

/** R-peak times (s): RR ≈ 0.8 s with slow variability and jitter, so HR is not constant. */
function beatTimes(seed: number, durS: number): number[] {
  const rnd = prng(seed);
  const out: number[] = [];
  let t = 0.3;
  for (let k = 0; t < durS + 1; k++) {
    out.push(t);
    t += 0.8 + 0.03 * Math.sin(k / 6) + 0.01 * (rnd() - 0.5);
  }
  return out;
}

/**
 * Synthetic ECG second `s` (250 Hz): 1.5 mV QRS-like spikes at `beats`, small T waves, baseline noise; zeros
 * from `flatFromS` on.
 */
function ecgSecond(
  s: number,
  beats: readonly number[],
  rnd: () => number,
  flatFromS = Infinity,
): Float64Array {
  return series(ECG_HZ, (i) => {
    const t = s + i / ECG_HZ;
    if (t >= flatFromS) return 0;
    let v = 0.02 * (rnd() - 0.5);
    for (const b of beats) {
      const d = t - b;
      if (d < -0.1) break;
      if (d > 0.5) continue;
      v +=
        1.5 * Math.exp(-(d * d) / (2 * 0.008 ** 2)) - 0.3 * Math.exp(-((d - 0.025) ** 2) / (2 * 0.01 ** 2));
      v += 0.25 * Math.exp(-((d - 0.3) ** 2) / (2 * 0.04 ** 2));
    }
    return v;
  });
}

interface FlatEcgRun {
  readonly b: SpyBuilder;
  readonly src: StressMessageSource;
  readonly seen: { t: number; hr: string; eda: string; faults: string }[];
  readonly hrAt119: StressInput;
}
const FLAT_FROM = 120;
let flatEcg: FlatEcgRun | undefined;

/** 170 s of ECG (+ EDA, resp) in 1 s chunks, flat (zeros) from FLAT_FROM; inputsAt each second. */
function flatEcgRun(): FlatEcgRun {
  if (flatEcg) return flatEcg;
  const b = new SpyBuilder(CFG);
  const src = new StressMessageSource(b);
  const rnd = prng(42);
  const beats = beatTimes(42, 170);
  const seen: FlatEcgRun['seen'] = [];
  let hrAt119: StressInput | undefined;
  for (let s = 0; s < 170; s++) {
    src.push(chunk(T0_US + s * US, 1, [['ecg', ECG_HZ, ecgSecond(s, beats, rnd, FLAT_FROM)], ...edaResp(s)]));
    const r = b.inputsAt(tAt(s + 1));
    if (s + 1 < CFG.calibrationS) assert.ok('calibrating' in r);
    else {
      const x = input(r);
      seen.push({ t: s + 1, hr: x.sources.hr, eda: x.sources.eda, faults: JSON.stringify(x.faults) });
      if (s + 1 === 119) hrAt119 = x;
    }
  }
  assert.ok(hrAt119 !== undefined);
  flatEcg = { b, src, seen, hrAt119 };
  return flatEcg;
}

describe('StressMessageSource: ECG', () => {
  it('a clean ECG gives HR ≈ 75 bpm, hr used, no quality faults', () => {
    const { b, seen, hrAt119 } = flatEcgRun();
    const clean = b.hr.filter(([t]) => t < tAt(FLAT_FROM));
    assert.ok(clean.length > 140, `${clean.length} HR points`);
    for (const [, bpm] of clean) assert.ok(Math.abs(bpm - 75) < 4, `${bpm} bpm`);
    assert.ok(Math.abs(clean[0]![0] - tAt(1.1)) < 0.01, 'the first point is the second beat');
    assert.ok(
      seen.filter((e) => e.t < FLAT_FROM).every((e) => e.hr === 'used'),
      JSON.stringify(seen.filter((e) => e.hr !== 'used' && e.t < FLAT_FROM)),
    );
    assert.ok(Math.abs(hrAt119.stats[(S - 1) * 13]!) < 1.5);
    assert.equal(
      b.faults.filter((f) => f.toS <= tAt(FLAT_FROM)).length,
      0,
      JSON.stringify(b.faults.slice(0, 3)),
    );
  });

  it('the ECG flat-lining masks hr (flat) within 10 s of event time; estimates go on', () => {
    const { b, src, seen } = flatEcgRun();
    assert.equal(b.hr.filter(([t]) => t >= tAt(FLAT_FROM)).length, 0, 'no beats from a flat line');
    const first = seen.find((e) => e.t >= FLAT_FROM && e.hr === 'masked');
    assert.ok(first !== undefined && first.t <= FLAT_FROM + 10, JSON.stringify(seen.slice(58, 72)));
    for (const e of seen.filter((e) => e.t >= first.t && e.t < FLAT_FROM + CFG.windowS)) {
      assert.equal(e.hr, 'masked', JSON.stringify(e));
      assert.equal(e.faults, JSON.stringify([{ source: 'hr', reason: 'flat' }]));
    }
    assert.ok(
      seen.filter((e) => e.t >= first.t).every((e) => e.hr !== 'used'),
      JSON.stringify(seen.filter((e) => e.t >= first.t && e.hr === 'used')),
    );
    assert.ok(b.faults.length >= 20, `${b.faults.length} faults`);
    assert.ok(
      b.faults.every((f) => f.reason === 'flat'),
      JSON.stringify(b.faults),
    );
    assert.equal(src.qualityFaults['flat'], b.faults.length);
    // estimates continue with the other sources, one per second
    assert.equal(seen[seen.length - 1]!.t, 170);
    assert.ok(
      seen.every((e) => e.eda === 'used'),
      JSON.stringify(seen.filter((e) => e.eda !== 'used').slice(0, 5)),
    );
    assert.equal(b.counters.estimates, 170 - CFG.calibrationS + 1);
  });

  it('a flat-lined ECG stays masked (flat) once the flat line covers a whole window', {}, () => {
    const { seen } = flatEcgRun();
    for (const e of seen.filter((e) => e.t >= FLAT_FROM + CFG.windowS)) {
      assert.equal(e.hr, 'masked', JSON.stringify(e));
      assert.equal(e.faults, JSON.stringify([{ source: 'hr', reason: 'flat' }]));
    }
  });

  it('ECG takes priority over a device hr channel in the same stream', () => {
    const b = new SpyBuilder(CFG);
    const src = new StressMessageSource(b);
    const rnd = prng(3);
    const beats = beatTimes(3, 10);
    for (let s = 0; s < 10; s++)
      src.push(
        chunk(T0_US + s * US, 1, [
          ['ecg', ECG_HZ, ecgSecond(s, beats, rnd)],
          ['hr', 1, [120]],
        ]),
      );
    assert.ok(b.hr.length > 5);
    assert.ok(
      b.hr.every(([, bpm]) => Math.abs(bpm - 75) < 4),
      JSON.stringify(b.hr),
    );
  });

  it('quality blocks of qualityS: one fault per flat block, spanning the block', () => {
    const b = new SpyBuilder(CFG);
    const src = new StressMessageSource(b, { qualityS: 4 });
    for (let s = 0; s < 12; s++)
      src.push(chunk(T0_US + s * US, 1, [['ecg', ECG_HZ, new Float64Array(ECG_HZ)]]));
    assert.deepEqual(
      b.faults.map((f) => [f.reason, f.fromS - tAt(0), f.toS - tAt(0)]),
      [
        ['flat', 0, 4],
        ['flat', 4, 8],
        ['flat', 8, 12],
      ],
    );
  });
});

// ---------------------------------------------------------------------------------------------------------
// CAN and weather
// ---------------------------------------------------------------------------------------------------------

describe('StressMessageSource: vehicle (CAN) and context (weather)', () => {
  let rav4: CanProfileResources;
  let drive: SimulatedDrive;
  let frames: CanFrame[];
  before(async () => {
    rav4 = await loadCanProfile('devices/profiles/toyota-rav4-2018.json');
    drive = simulateDrive({ scenes: [{ scene: 'highway', durationS: 120 }], seed: 4, startUs: T0_US });
    frames = simulatedCanFrames(drive, rav4);
  });

  /** Physio (hr channel, EDA, resp) and the drive's CAN frames as 1 s messages; inputsAt each second. */
  function replay(
    b: StressInputBuilder,
    src: StressMessageSource,
    durS: number,
    extra?: (s: number) => void,
  ) {
    let k = 0;
    let x: Result = { calibrating: true };
    for (let s = 0; s < durS; s++) {
      const endUs = T0_US + (s + 1) * US;
      const batch: CanFrame[] = [];
      while (k < frames.length && frames[k]!.tUs < endUs) batch.push(frames[k++]!);
      const can: CanBatch = {
        kind: 'can',
        sessionId: 1,
        seq: s,
        tUs: T0_US + s * US,
        endUs,
        bytes: 0,
        frames: batch,
      };
      src.push(chunk(T0_US + s * US, 1, [['hr', 1, [72 + Math.sin(s / 3)]], ...edaResp(s)]));
      src.push(can);
      extra?.(s);
      x = b.inputsAt(tAt(s + 1));
    }
    return x;
  }

  it('RAV4 frames from the simulator: vehicle used, speed series ≈ simulated speed / 30', () => {
    const b = new StressInputBuilder(CFG);
    const src = new StressMessageSource(b, { canProfile: rav4 });
    const x = input(replay(b, src, 100));
    assert.equal(x.sources.vehicle, 'used');
    assert.deepEqual(x.faults, []);
    const endS = 100;
    let maxErr = 0;
    let meanSpeed = 0;
    for (let i = 0; i < T; i++) {
      const mid = endS - CFG.windowS + (i + 0.5) / CFG.binHz;
      const want = signalAt(drive, 'speedMps', T0_US + mid * US) / 30;
      maxErr = Math.max(maxErr, Math.abs(vehicleAt(x, S - 1, i, 0) - want));
      meanSpeed += (want * 30) / T;
      // throttle in [0, 1], brake 0/1 means in [0, 1]
      assert.ok(vehicleAt(x, S - 1, i, 4) >= 0 && vehicleAt(x, S - 1, i, 4) <= 1);
      assert.ok(vehicleAt(x, S - 1, i, 5) >= 0 && vehicleAt(x, S - 1, i, 5) <= 1);
    }
    assert.ok(meanSpeed > 10, `highway speed ${meanSpeed} m/s`);
    assert.ok(maxErr < 0.02, `speed error ${maxErr * 30} m/s`);
  });

  it('a weather observation (through its codec) makes the context used', () => {
    const b = new StressInputBuilder(CFG);
    const src = new StressMessageSource(b, { canProfile: rav4 });
    const obs = simulateWeather(4, T0_US, T0_US + 120 * US);
    assert.ok(obs.length >= 1);
    const w = obs[0]!;
    assert.ok(w.tUs <= T0_US + 60 * US);
    const x = input(
      replay(b, src, 90, (s) => {
        if (s === 0) src.push(decodeWeather(encodeWeather(weatherMessage(w, 1, 0))));
      }),
    );
    assert.deepEqual(x.sources, { hr: 'used', eda: 'used', resp: 'used', vehicle: 'used', context: 'used' });
    assert.ok(Math.abs(x.coverage - 1) < 1e-9);
    assert.ok(x.context.some((v) => v !== 0));
    assert.ok(x.context.every((v) => Number.isFinite(v) && Math.abs(v) <= 3));
  });

  it('without a weather message the context is absent', () => {
    const b = new StressInputBuilder(CFG);
    const src = new StressMessageSource(b, { canProfile: rav4 });
    const x = input(replay(b, src, 80));
    assert.equal(x.sources.context, 'absent');
    assert.ok(x.context.every((v) => v === 0));
  });
});
