/**
 * The stress model's input builder (src/models/stress/inputs.ts): the binned ring, gap filling, the window
 * configuration rules, tensor shapes, and the builder on synthetic signals fed second by second the way the
 * pipeline does (push one second of data, then `inputsAt` at its end).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type {
  StressInput,
  StressSource,
  StressWindowConfig,
  VehicleSignal,
} from '../../src/models/stress/inputs.ts';
import {
  BinRing,
  DEFAULT_STRESS_WINDOWS,
  FAULT_REASONS,
  N_CONTEXT,
  N_STATS,
  PHYSIO_CHANNELS,
  SOURCE_WEIGHTS,
  STAT_NAMES,
  STRESS_SOURCES,
  StressInputBuilder,
  VEHICLE_CHANNELS,
  fillGaps,
  inputShapes,
  validateWindowConfig,
} from '../../src/models/stress/inputs.ts';
import { CONTEXT_FEATURES } from '../../src/streams/features/weather.ts';
import { T0_US, prng } from '../support/fixtures.ts';

// ---------------------------------------------------------------------------------------------------------
// Synthetic drive
// ---------------------------------------------------------------------------------------------------------

/** Small config: 60 s calibration, three 20 s windows 5 s apart, 2 Hz bins, 10 s check. */
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
const F = STRESS_SOURCES.length;
const BASE = T0_US / 1e6;
const EDA_HZ = 8;
const RESP_HZ = 8;
const VEH_HZ = 10;

/** What one synthetic drive carries; each function takes seconds since BASE (undefined = nothing). */
interface Drive {
  readonly hr?: (t: number) => number | undefined;
  readonly hand?: (t: number) => number | undefined;
  readonly foot?: (t: number) => number | undefined;
  readonly resp?: (t: number) => number | undefined;
  readonly vehicle?: (t: number) => Partial<Record<VehicleSignal, number>> | undefined;
}

const hrNormal = (t: number) => 70 + Math.sin((2 * Math.PI * t) / 20) + 0.5 * Math.sin(t * 1.7);
/** Slowly varying skin conductance with a small SCR every 15 s (rise 0.3 µS over ~1.5 s, slow decay). */
const edaNormal = (level: number) => (t: number) => {
  const k = t % 15;
  const scr = k < 1.5 ? 0.2 * (k / 1.5) : 0.2 * Math.exp(-(k - 1.5) / 4);
  return level + 0.2 * Math.sin(t / 40) + scr + 0.002 * Math.sin(t * 13);
};
const respNormal = (t: number) => Math.sin(2 * Math.PI * 0.25 * t) + 0.05 * Math.sin(t * 7.3);
const vehicleNormal = (t: number): Partial<Record<VehicleSignal, number>> => ({
  speed: 15 + 5 * Math.sin(t / 10),
  steering_angle: 10 * Math.sin(t / 3),
  throttle: 20,
  brake: 0,
  gear: 0,
});

const CLEAN: Drive = {
  hr: hrNormal,
  hand: edaNormal(5),
  foot: edaNormal(3),
  resp: respNormal,
};

function uniform(
  f: ((t: number) => number | undefined) | undefined,
  s: number,
  hz: number,
): number[] | undefined {
  if (f === undefined) return undefined;
  const out: number[] = [];
  for (let i = 0; i < hz; i++) {
    const v = f(s + i / hz);
    if (v === undefined) return undefined;
    out.push(v);
  }
  return out;
}

/** Pushes second [s, s + 1) of the drive (s in seconds since BASE). */
function pushSecond(b: StressInputBuilder, d: Drive, s: number): void {
  const hand = uniform(d.hand, s, EDA_HZ);
  if (hand) b.pushEda('hand', BASE + s, EDA_HZ, hand);
  const foot = uniform(d.foot, s, EDA_HZ);
  if (foot) b.pushEda('foot', BASE + s, EDA_HZ, foot);
  const resp = uniform(d.resp, s, RESP_HZ);
  if (resp) b.pushResp(BASE + s, RESP_HZ, resp);
  if (d.vehicle)
    for (let i = 0; i < VEH_HZ; i++) {
      const v = d.vehicle(s + i / VEH_HZ);
      if (v === undefined) continue;
      for (const [k, x] of Object.entries(v) as [VehicleSignal, number][])
        b.pushVehicle(k, BASE + s + i / VEH_HZ, x);
    }
  const hr = d.hr?.(s + 0.3);
  if (hr !== undefined) b.pushHr(BASE + s + 0.3, hr);
}

type Result = ReturnType<StressInputBuilder['inputsAt']>;

function isInput(r: Result): r is StressInput {
  return !('calibrating' in r);
}

function input(r: Result): StressInput {
  assert.ok(isInput(r), 'expected an input, got calibrating');
  return r;
}

/**
 * Runs seconds [from, to): pushes each second then calls inputsAt at its end; returns the last result and
 * calls `each` with every result.
 */
function run(
  b: StressInputBuilder,
  d: Drive,
  from: number,
  to: number,
  each?: (tRel: number, r: Result) => void,
): Result {
  let r: Result = { calibrating: true };
  for (let s = from; s < to; s++) {
    pushSecond(b, d, s);
    r = b.inputsAt(BASE + s + 1);
    each?.(s + 1, r);
  }
  return r;
}

/** A builder calibrated on the clean drive (the first 60 s), optionally with disabled sources. */
function calibrated(d: Drive = CLEAN, disabled: StressSource[] = []): StressInputBuilder {
  const b = new StressInputBuilder(CFG, new Set(disabled));
  run(b, d, 0, 60);
  assert.ok(b.calibrated);
  return b;
}

/** Drive `after` from 60 s on, `before` until then. */
function switchAt(before: Drive, after: Drive, at = 60): Drive {
  const pick =
    <K extends keyof Drive>(k: K) =>
    (t: number) => {
      const f = t < at ? before[k] : after[k];
      return f?.(t) as ReturnType<NonNullable<Drive[K]>>;
    };
  return {
    hr: pick('hr'),
    hand: pick('hand'),
    foot: pick('foot'),
    resp: pick('resp'),
    vehicle: pick('vehicle'),
  };
}

const flagsOf = (x: StressInput, w: number) => Array.from(x.flags.subarray(w * F, (w + 1) * F));
const physioAt = (x: StressInput, w: number, i: number, c: number) => x.physio[(w * T + i) * P + c]!;
const vehicleAt = (x: StressInput, w: number, i: number, c: number) => x.vehicle[(w * T + i) * V + c]!;
const statAt = (x: StressInput, w: number, k: number) => x.stats[w * N_STATS + k]!;

/** Typed view of the builder's private state for the memory checks. */
interface BuilderInternals {
  readonly rings: Record<string, BinRing>;
  readonly faultRings: Record<string, BinRing>;
  readonly cache: Map<number, unknown>;
  readonly context: readonly unknown[];
}
const internals = (b: StressInputBuilder) => b as unknown as BuilderInternals;

// ---------------------------------------------------------------------------------------------------------
// BinRing
// ---------------------------------------------------------------------------------------------------------

describe('BinRing', () => {
  it('holds the mean of the samples of each bin; empty bins read NaN', () => {
    const r = new BinRing(8);
    r.add(3, 1);
    r.add(3, 2);
    r.add(3, 6);
    r.add(5, -4);
    const out = r.read(2, 7, new Float64Array(5));
    assert.ok(Number.isNaN(out[0]!));
    assert.equal(out[1], 3);
    assert.ok(Number.isNaN(out[2]!));
    assert.equal(out[3], -4);
    assert.ok(Number.isNaN(out[4]!));
    assert.equal(r.late, 0);
  });

  it('wraps around: a slot reused by a newer bin forgets the old one (NaN), keeps the newer mean', () => {
    const r = new BinRing(4);
    for (let b = 0; b < 10; b++) r.add(b, b * 10);
    const held = r.read(6, 10, new Float64Array(4));
    assert.deepEqual(Array.from(held), [60, 70, 80, 90]);
    const gone = r.read(0, 6, new Float64Array(6));
    assert.ok(
      gone.every((v) => Number.isNaN(v)),
      'bins no longer held read NaN',
    );
    // Reading a future bin that shares a slot with a held one is NaN too.
    assert.ok(Number.isNaN(r.read(10, 11, new Float64Array(1))[0]!));
  });

  it('counts late samples (older than the ring) and ignores them', () => {
    const r = new BinRing(4);
    r.add(10, 1);
    r.add(6, 5); // 10 − 4: no longer held
    r.add(2, 5);
    assert.equal(r.late, 2);
    r.add(7, 3); // still inside the ring: accepted
    assert.equal(r.late, 2);
    assert.deepEqual(Array.from(r.read(7, 11, new Float64Array(4))).slice(0, 1), [3]);
    assert.equal(r.read(10, 11, new Float64Array(1))[0], 1);
  });

  it('handles negative bins', () => {
    const r = new BinRing(3);
    r.add(-5, 2);
    r.add(-4, 4);
    r.add(-4, 6);
    assert.deepEqual(Array.from(r.read(-5, -3, new Float64Array(2))), [2, 5]);
  });

  it('property: agrees with a naive map of the last `capacity` bins', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.array(fc.tuple(fc.integer({ min: -20, max: 60 }), fc.integer({ min: -100, max: 100 })), {
          maxLength: 80,
        }),
        (cap, adds) => {
          const r = new BinRing(cap);
          const model = new Map<number, { s: number; n: number }>();
          let newest = -Infinity;
          let late = 0;
          for (const [b, v] of adds) {
            if (b <= newest - cap) {
              late++;
              continue;
            }
            // a bin evicts whatever was in its slot
            for (const k of [...model.keys()])
              if (k !== b && ((k % cap) + cap) % cap === ((b % cap) + cap) % cap) model.delete(k);
            const e = model.get(b) ?? { s: 0, n: 0 };
            e.s += v;
            e.n++;
            model.set(b, e);
            newest = Math.max(newest, b);
          }
          assert.equal(r.late, 0);
          for (const [b, v] of adds) r.add(b, v);
          assert.equal(r.late, late);
          const out = r.read(-25, 65, new Float64Array(90));
          for (let b = -25; b < 65; b++) {
            const e = model.get(b);
            const got = out[b + 25]!;
            if (e === undefined) assert.ok(Number.isNaN(got), `bin ${b}: ${got}`);
            else assert.ok(Math.abs(got - e.s / e.n) < 1e-9, `bin ${b}: ${got} vs ${e.s / e.n}`);
          }
        },
      ),
      { numRuns: 200, seed: 7 },
    );
  });
});

// ---------------------------------------------------------------------------------------------------------
// fillGaps
// ---------------------------------------------------------------------------------------------------------

describe('fillGaps', () => {
  it('interpolates interior gaps linearly and holds the ends', () => {
    const x = Float64Array.from([NaN, NaN, 1, NaN, NaN, 4, NaN, 8, NaN]);
    assert.deepEqual(Array.from(fillGaps(x)), [1, 1, 1, 2, 3, 4, 6, 8, 8]);
    assert.ok(Number.isNaN(x[0]!), 'input is not modified');
  });

  it('treats ±Infinity as gaps', () => {
    assert.deepEqual(Array.from(fillGaps(Float64Array.from([0, Infinity, -Infinity, 3]))), [0, 1, 2, 3]);
  });

  it('an all-NaN series is filled with `fill` (default 0); empty stays empty', () => {
    assert.deepEqual(Array.from(fillGaps(new Float64Array(4).fill(NaN))), [0, 0, 0, 0]);
    assert.deepEqual(Array.from(fillGaps(new Float64Array(3).fill(NaN), 7)), [7, 7, 7]);
    assert.equal(fillGaps(new Float64Array(0)).length, 0);
  });

  it('a single finite value fills everything', () => {
    assert.deepEqual(Array.from(fillGaps(Float64Array.from([NaN, NaN, -2, NaN]))), [-2, -2, -2, -2]);
  });

  it('property: finite everywhere, finite inputs unchanged, gaps within their neighbours', () => {
    fc.assert(
      fc.property(
        fc.array(fc.option(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { nil: undefined }), {
          maxLength: 50,
        }),
        (xs) => {
          const x = Float64Array.from(xs, (v) => (v === undefined ? NaN : v));
          const y = fillGaps(x);
          assert.equal(y.length, x.length);
          let prev = -1;
          for (let i = 0; i < x.length; i++) {
            assert.ok(Number.isFinite(y[i]!));
            if (Number.isFinite(x[i]!)) {
              assert.equal(y[i], x[i]);
              for (let k = prev + 1; k < i; k++) {
                const a = prev >= 0 ? x[prev]! : x[i]!;
                const lo = Math.min(a, x[i]!) - 1e-6;
                const hi = Math.max(a, x[i]!) + 1e-6;
                assert.ok(y[k]! >= lo && y[k]! <= hi);
              }
              prev = i;
            }
          }
          for (let k = prev + 1; k < x.length; k++) assert.equal(y[k], prev >= 0 ? x[prev] : 0);
        },
      ),
      { numRuns: 200, seed: 11 },
    );
  });
});

// ---------------------------------------------------------------------------------------------------------
// Configuration and shapes
// ---------------------------------------------------------------------------------------------------------

describe('validateWindowConfig and inputShapes', () => {
  it('accepts the default and the small test configuration', () => {
    validateWindowConfig(DEFAULT_STRESS_WINDOWS);
    validateWindowConfig(CFG);
  });

  const bad: [string, Partial<StressWindowConfig>, RegExp][] = [
    ['window not whole bins', { windowS: 20.25 }, /whole numbers of bins/],
    ['stride not whole bins', { strideS: 0.3 }, /whole numbers of bins/],
    ['zero window', { windowS: 0 }, /whole numbers of bins/],
    ['negative stride', { strideS: -5 }, /whole numbers of bins/],
    ['NaN binHz', { binHz: NaN }, /binHz NaN must be in \(0, 100\]/],
    [
      'bin rate above 100 Hz',
      { binHz: 2 ** 20, windowS: 20 / 2 ** 20, strideS: 5 / 2 ** 20 },
      /binHz 1048576/,
    ],
    ['look-back above a million bins', { strideS: 1e9 }, /1000000 bins of look-back/],
    ['zero sequence', { sequenceLength: 0 }, /sequenceLength/],
    ['fractional sequence', { sequenceLength: 2.5 }, /sequenceLength/],
    ['zero context steps', { contextSteps: 0 }, /contextSteps/],
    ['calibration shorter than a window', { calibrationS: 19 }, /calibrationS/],
    ['NaN calibration', { calibrationS: NaN }, /calibrationS/],
    ['zero checkS', { checkS: 0 }, /checkS/],
    ['checkS longer than the window', { checkS: 21 }, /checkS/],
  ];
  for (const [name, patch, msg] of bad)
    it(`rejects: ${name}`, () => {
      const c = { ...CFG, ...patch };
      assert.throws(
        () => validateWindowConfig(c),
        (e: unknown) => e instanceof RangeError && msg.test(e.message),
      );
      assert.throws(() => new StressInputBuilder(c), RangeError);
    });

  it('accepts edge values: checkS = windowS, calibrationS = windowS, half-second bins', () => {
    validateWindowConfig({ ...CFG, checkS: 20, calibrationS: 20 });
    validateWindowConfig({ ...CFG, windowS: 20.5, strideS: 0.5 });
  });

  it('shapes follow the configuration', () => {
    const s = inputShapes(CFG);
    assert.deepEqual(s.physio, [3, 40, 4]);
    assert.deepEqual(s.stats, [3, 13]);
    assert.deepEqual(s.vehicle, [3, 40, 6]);
    assert.deepEqual(s.context, [3, 6, CONTEXT_FEATURES.length]);
    assert.deepEqual(s.flags, [3, 5]);
    const d = inputShapes(DEFAULT_STRESS_WINDOWS);
    assert.deepEqual(d.physio, [6, 120, 4]);
    assert.deepEqual(d.context, [6, 6, 17]);
    assert.equal(N_STATS, STAT_NAMES.length);
    assert.equal(N_CONTEXT, 17);
  });

  it('source weights sum to 1', () => {
    const sum = STRESS_SOURCES.reduce((a, s) => a + SOURCE_WEIGHTS[s], 0);
    assert.ok(Math.abs(sum - 1) < 1e-12);
  });
});

// ---------------------------------------------------------------------------------------------------------
// The builder
// ---------------------------------------------------------------------------------------------------------

describe('StressInputBuilder: calibration', () => {
  it('is calibrating until calibrationS after the first physiological sample', () => {
    const b = new StressInputBuilder(CFG);
    assert.ok('calibrating' in b.inputsAt(BASE - 100), 'no data: calibrating');
    let firstInput = NaN;
    run(b, CLEAN, 0, 70, (t, r) => {
      if (Number.isNaN(firstInput) && isInput(r)) firstInput = t;
    });
    assert.equal(firstInput, 60);
    assert.ok(b.calibrated);
  });

  it('calibration starts at the first sample, whatever the source (EDA only here)', () => {
    const b = new StressInputBuilder(CFG);
    const d: Drive = { hand: edaNormal(5) };
    run(b, {}, 0, 30); // nothing for 30 s
    let firstInput = NaN;
    run(b, d, 30, 100, (t, r) => {
      if (Number.isNaN(firstInput) && isInput(r)) firstInput = t;
    });
    assert.equal(firstInput, 90);
  });

  it('vehicle data alone never starts the calibration', () => {
    const b = new StressInputBuilder(CFG);
    const r = run(b, { vehicle: vehicleNormal }, 0, 120);
    assert.ok('calibrating' in r);
    assert.equal(b.calibrated, false);
  });

  it('an explicit startCalibration wins over the first sample and is set only once', () => {
    const b = new StressInputBuilder(CFG);
    b.startCalibration(BASE + 10);
    b.startCalibration(BASE - 1000);
    let firstInput = NaN;
    run(b, CLEAN, 0, 100, (t, r) => {
      if (Number.isNaN(firstInput) && isInput(r)) firstInput = t;
    });
    assert.equal(firstInput, 70);
  });
});

describe('StressInputBuilder: clean signals', () => {
  const b = calibrated();
  const x = input(run(b, CLEAN, 60, 120));

  it('all physiological sources are used; vehicle and context absent when never pushed', () => {
    assert.deepEqual(x.sources, {
      hr: 'used',
      eda: 'used',
      resp: 'used',
      vehicle: 'absent',
      context: 'absent',
    });
    assert.deepEqual(x.faults, []);
    for (let w = 0; w < S; w++) assert.deepEqual(flagsOf(x, w), [1, 1, 1, 0, 0]);
    assert.ok(Math.abs(x.coverage - 0.8) < 1e-9, `coverage ${x.coverage}`);
  });

  it('tensors have the shapes of inputShapes, tS is the requested time, and all values are finite', () => {
    const s = inputShapes(CFG);
    const size = (d: readonly number[]) => d.reduce((a, c) => a * c, 1);
    assert.equal(x.physio.length, size(s.physio));
    assert.equal(x.stats.length, size(s.stats));
    assert.equal(x.vehicle.length, size(s.vehicle));
    assert.equal(x.context.length, size(s.context));
    assert.equal(x.flags.length, size(s.flags));
    assert.equal(x.tS, BASE + 120);
    for (const a of [x.physio, x.stats, x.vehicle, x.context, x.flags])
      assert.ok(a.every((v) => Number.isFinite(v)));
    assert.ok(x.vehicle.every((v) => v === 0));
    assert.ok(x.context.every((v) => v === 0));
  });

  it('statistics are near the baseline for an unchanged drive', () => {
    for (let w = 0; w < S; w++) {
      assert.ok(Math.abs(statAt(x, w, 0)) < 1.5, `hr_mean − base ${statAt(x, w, 0)}`);
      assert.ok(Math.abs(statAt(x, w, 7)) < 0.15, `hand level ratio ${statAt(x, w, 7)}`);
      assert.ok(Math.abs(statAt(x, w, 3)) < 0.15, `foot level ratio ${statAt(x, w, 3)}`);
      assert.ok(Math.abs(statAt(x, w, 11)) < 3, `resp rate − base ${statAt(x, w, 11)}`);
      assert.ok(Math.abs(statAt(x, w, 12)) < 0.3, `log resp amp ratio ${statAt(x, w, 12)}`);
    }
  });

  it('physio channels: HR near 0, EDA ratio − 1 near 0 (hand and foot), respiration centred', () => {
    const w = S - 1;
    let respMean = 0;
    let respMax = 0;
    for (let i = 0; i < T; i++) {
      assert.ok(Math.abs(physioAt(x, w, i, 0)) < 0.3);
      assert.ok(Math.abs(physioAt(x, w, i, 1)) < 0.15);
      assert.ok(Math.abs(physioAt(x, w, i, 2)) < 0.2);
      assert.notEqual(physioAt(x, w, i, 2), 0);
      respMean += physioAt(x, w, i, 3) / T;
      respMax = Math.max(respMax, Math.abs(physioAt(x, w, i, 3)));
    }
    assert.ok(Math.abs(respMean) < 0.05);
    assert.ok(respMax > 0.5 && respMax < 5, `resp over calibration amplitude: ${respMax}`);
  });

  it('is deterministic: the same drive into a new builder gives identical inputs', () => {
    const b2 = calibrated();
    const y = input(run(b2, CLEAN, 60, 120));
    assert.deepEqual(y, x);
  });

  it('windows are oldest first: the newest window is the one ending at t', () => {
    // HR ramps in the last 10 s only: it reaches the newest window, less the middle, not the oldest.
    const b3 = calibrated();
    run(b3, CLEAN, 60, 110);
    const ramp = switchAt(CLEAN, { ...CLEAN, hr: (t) => hrNormal(t) + 30 }, 110);
    const y = input(run(b3, ramp, 110, 120));
    const m = (w: number) => statAt(y, w, 0);
    assert.ok(Math.abs(m(0)) < 1.5, `oldest ${m(0)}`); // [85, 105)
    assert.ok(m(1) > 5 && m(1) < 10, `middle ${m(1)}`); // [95, 115): 5 s raised
    assert.ok(m(2) > 13 && m(2) < 17, `newest ${m(2)}`); // [100, 120): 10 s raised
    // The newest window's last bins hold the raised HR, its first bins the normal one.
    assert.ok(physioAt(y, 2, T - 1, 0) > 2.5);
    assert.ok(Math.abs(physioAt(y, 2, 0, 0)) < 0.5);
  });
});

describe('StressInputBuilder: HR raised after calibration', () => {
  it('shows in the statistics (hr_mean − baseline ≈ 20) and the series ((hr − base)/10 ≈ 2)', () => {
    const b = calibrated();
    const d = switchAt(CLEAN, { ...CLEAN, hr: (t) => hrNormal(t) + 20 });
    const x = input(run(b, d, 60, 100));
    assert.equal(x.sources.hr, 'used');
    for (let w = 0; w < S; w++) {
      assert.ok(Math.abs(statAt(x, w, 0) - 20) < 1.5, `window ${w}: ${statAt(x, w, 0)}`);
      for (let i = 0; i < T; i++) assert.ok(Math.abs(physioAt(x, w, i, 0) - 2) < 0.2);
    }
    // hr_sd is relative (log ratio), unchanged by an offset
    assert.ok(Math.abs(statAt(x, S - 1, 1)) < 0.5);
  });

  it('HR beyond ±60 bpm of the baseline is clamped in the series (±6)', () => {
    const b = calibrated();
    const d = switchAt(CLEAN, { ...CLEAN, hr: (t) => hrNormal(t) + 100 });
    const x = input(run(b, d, 60, 100));
    assert.equal(x.sources.hr, 'used'); // 170 bpm: plausible
    for (let i = 0; i < T; i++) assert.equal(physioAt(x, S - 1, i, 0), 6);
  });
});

describe('StressInputBuilder: checks', () => {
  it('a constant EDA is masked (flat); its series and statistics are zero', () => {
    const b = calibrated();
    const d = switchAt(CLEAN, { ...CLEAN, hand: () => 4.5 });
    const x = input(run(b, d, 60, 100));
    assert.equal(x.sources.eda, 'masked');
    assert.deepEqual(x.faults, [{ source: 'eda', reason: 'flat' }]);
    assert.equal(x.flags[(S - 1) * F + 1], 0);
    for (let i = 0; i < T; i++) {
      assert.equal(physioAt(x, S - 1, i, 1), 0);
      assert.equal(physioAt(x, S - 1, i, 2), 0, 'foot only joins a used hand EDA');
    }
    for (const k of [3, 4, 5, 6, 7, 8, 9, 10]) assert.equal(statAt(x, S - 1, k), 0);
    assert.equal(x.sources.hr, 'used');
  });

  it('EDA going flat is flagged within checkS (the newest 10 s decide)', () => {
    const b = calibrated();
    run(b, CLEAN, 60, 100);
    const d = switchAt(CLEAN, { ...CLEAN, hand: () => 4.5 }, 100);
    const seen: { t: number; use: string }[] = [];
    run(b, d, 100, 115, (t, r) => seen.push({ t, use: input(r).sources.eda }));
    const first = seen.find((e) => e.use === 'masked');
    assert.ok(first !== undefined && first.t <= 110, JSON.stringify(seen));
  });

  it('a constant value that is not a binary fraction (5.1 µS, 72.3 bpm) is flat too', {}, () => {
    const b = calibrated();
    const d = switchAt(CLEAN, { ...CLEAN, hand: () => 5.1, hr: () => 72.3 });
    const x = input(run(b, d, 60, 100));
    assert.deepEqual(x.sources, {
      hr: 'masked',
      eda: 'masked',
      resp: 'used',
      vehicle: 'absent',
      context: 'absent',
    });
    assert.deepEqual(x.faults, [
      { source: 'hr', reason: 'flat' },
      { source: 'eda', reason: 'flat' },
    ]);
  });

  it('EDA stuck at its window maximum is masked (flat or saturated) within checkS', () => {
    const b = calibrated();
    run(b, CLEAN, 60, 100);
    const d = switchAt(CLEAN, { ...CLEAN, hand: () => 9 }, 100);
    const x = input(run(b, d, 100, 110));
    assert.equal(x.sources.eda, 'masked');
    assert.equal(x.faults.length, 1);
  });

  it('EDA stuck at its window maximum is masked (saturated)', {}, () => {
    const b = calibrated();
    run(b, CLEAN, 60, 100);
    const d = switchAt(CLEAN, { ...CLEAN, hand: () => 9 }, 100);
    const x = input(run(b, d, 100, 112));
    assert.equal(x.sources.eda, 'masked');
    assert.deepEqual(x.faults, [{ source: 'eda', reason: 'saturated' }]);
  });

  it('EDA far from its calibration level or ≤ 0 is masked (implausible)', () => {
    for (const level of [0.2, -1, 80]) {
      const b = calibrated();
      const d = switchAt(CLEAN, { ...CLEAN, hand: (t) => edaNormal(level)(t) });
      const x = input(run(b, d, 60, 100));
      assert.equal(x.sources.eda, 'masked', `level ${level}`);
      assert.deepEqual(x.faults, [{ source: 'eda', reason: 'implausible' }]);
    }
  });

  it('HR of 250 bpm is masked (implausible); so is 30 bpm', () => {
    for (const bpm of [250, 30]) {
      const b = calibrated();
      const d = switchAt(CLEAN, { ...CLEAN, hr: (t) => bpm + Math.sin(t) });
      const x = input(run(b, d, 60, 100));
      assert.equal(x.sources.hr, 'masked', `${bpm} bpm`);
      assert.deepEqual(x.faults, [{ source: 'hr', reason: 'implausible' }]);
      for (let i = 0; i < T; i++) assert.equal(physioAt(x, S - 1, i, 0), 0);
      for (const k of [0, 1, 2]) assert.equal(statAt(x, S - 1, k), 0);
    }
  });

  it('an unchanging HR device value is masked (flat)', () => {
    const b = calibrated();
    const d = switchAt(CLEAN, { ...CLEAN, hr: () => 72 });
    const x = input(run(b, d, 60, 100));
    assert.deepEqual(x.faults, [{ source: 'hr', reason: 'flat' }]);
  });

  it('HR stopping (no beats in the newest checkS) is masked within 10 s; after a window it is absent', () => {
    const b = calibrated();
    run(b, CLEAN, 60, 100);
    const d = switchAt(CLEAN, { ...CLEAN, hr: () => undefined }, 100);
    const seen: string[] = [];
    let faultsAt110 = '';
    run(b, d, 100, 130, (t, r) => {
      seen.push(input(r).sources.hr);
      if (t === 110) faultsAt110 = JSON.stringify(input(r).faults);
    });
    assert.ok(
      seen.slice(0, 9).every((u) => u === 'used') && seen.slice(9, 19).every((u) => u === 'masked'),
      seen.join(),
    );
    assert.equal(faultsAt110, JSON.stringify([{ source: 'hr', reason: 'noisy' }]));
    assert.equal(seen[19], 'absent'); // [100, 120): no HR at all
  });

  it('respiration: a flat belt is masked (flat)', () => {
    const flat = calibrated();
    const x = input(run(flat, switchAt(CLEAN, { ...CLEAN, resp: () => 0.3 }), 60, 100));
    assert.deepEqual(x.faults, [{ source: 'resp', reason: 'flat' }]);
  });

  it('respiration faster than 60 /min is masked (noisy) — needs bins finer than 2 Hz to be seen', () => {
    const cfg: StressWindowConfig = { ...CFG, binHz: 4 };
    const b = new StressInputBuilder(cfg);
    const fast: Drive = { ...CLEAN, resp: (t) => (t < 60 ? respNormal(t) : Math.sin(2 * Math.PI * 1.5 * t)) };
    const x = input(run(b, fast, 0, 100));
    assert.equal(x.sources.hr, 'used');
    assert.deepEqual(x.faults, [{ source: 'resp', reason: 'noisy' }]);
    // At the default 2 Hz bins the fastest countable rate is 60 /min: the same breathing is not flagged.
    const b2 = calibrated();
    const y = input(run(b2, fast, 60, 100));
    assert.notEqual(y.faults.find((f) => f.source === 'resp')?.reason, 'noisy');
  });

  it('no EDA at all: eda absent (zeros), others used', () => {
    const d: Drive = { hr: hrNormal, resp: respNormal };
    const b = calibrated(d);
    const x = input(run(b, d, 60, 100));
    assert.deepEqual(x.sources, {
      hr: 'used',
      eda: 'absent',
      resp: 'used',
      vehicle: 'absent',
      context: 'absent',
    });
    assert.deepEqual(x.faults, []);
    for (let w = 0; w < S; w++) assert.deepEqual(flagsOf(x, w), [1, 0, 1, 0, 0]);
    for (let i = 0; i < T; i++) assert.equal(physioAt(x, S - 1, i, 1), 0);
  });

  it("pushFault('hr','noisy') over the newest seconds masks hr (noisy) within checkS of the fault start", () => {
    const b = calibrated();
    run(b, CLEAN, 60, 100);
    const seen: { t: number; use: string; faults: string }[] = [];
    for (let s = 100; s < 115; s++) {
      pushSecond(b, CLEAN, s);
      b.pushFault('hr', 'noisy', BASE + s, BASE + s + 1); // reported each second, as the source does
      const x = input(b.inputsAt(BASE + s + 1));
      seen.push({ t: s + 1, use: x.sources.hr, faults: JSON.stringify(x.faults) });
    }
    for (const e of seen) {
      assert.equal(e.use, 'masked', JSON.stringify(e));
      assert.equal(e.faults, JSON.stringify([{ source: 'hr', reason: 'noisy' }]));
    }
  });

  it('a fault reported for the last 3 s only masks hr right away, and clears once out of the checks', () => {
    const b = calibrated();
    run(b, CLEAN, 60, 97);
    for (let s = 97; s < 100; s++) pushSecond(b, CLEAN, s);
    b.pushFault('hr', 'saturated', BASE + 97, BASE + 100);
    assert.deepEqual(input(b.inputsAt(BASE + 100)).faults, [{ source: 'hr', reason: 'saturated' }]);
    // 3 s of 20 s = 15 % > 10 %: masked while in the window; gone once the window has passed it.
    const seen: string[] = [];
    run(b, CLEAN, 100, 125, (_, r) => seen.push(input(r).sources.hr));
    assert.ok(
      seen.slice(0, 17).every((u) => u === 'masked'),
      seen.join(),
    );
    assert.ok(
      seen.slice(17).every((u) => u === 'used'),
      seen.join(),
    );
  });

  it('a short old fault (≤ 10 % of the window, outside checkS) does not mask', () => {
    const b = calibrated();
    run(b, CLEAN, 60, 100);
    b.pushFault('eda', 'noisy', BASE + 99, BASE + 100); // 1 s = 5 %
    const x = input(run(b, CLEAN, 100, 112));
    assert.equal(x.sources.eda, 'used');
  });

  it('a fault older than checkS but over > 10 % of the window keeps its own reason', () => {
    const b = calibrated();
    run(b, CLEAN, 60, 100);
    b.pushFault('hr', 'noisy', BASE + 95, BASE + 100); // 5 s = 25 % of [92, 112)
    const x = input(run(b, CLEAN, 100, 112));
    assert.equal(x.sources.hr, 'masked');
    assert.deepEqual(x.faults, [{ source: 'hr', reason: 'noisy' }]);
  });

  it('fault reasons map one to one', () => {
    for (const reason of FAULT_REASONS) {
      const b = calibrated();
      run(b, CLEAN, 60, 100);
      b.pushFault('resp', reason, BASE + 95, BASE + 101);
      const x = input(run(b, CLEAN, 100, 101));
      assert.deepEqual(x.faults, [{ source: 'resp', reason }]);
    }
  });
});

describe('StressInputBuilder: vehicle and context', () => {
  const withVehicle: Drive = { ...CLEAN, vehicle: vehicleNormal };

  it('a normal vehicle is used: channel 0 = speed / 30, throttle / 100, brake, steering', () => {
    const b = calibrated(withVehicle);
    const x = input(run(b, withVehicle, 60, 100));
    assert.equal(x.sources.vehicle, 'used');
    for (let w = 0; w < S; w++) assert.equal(flagsOf(x, w)[3], 1);
    const endS = 100;
    for (let i = 0; i < T; i++) {
      const t0 = endS - CFG.windowS + i / CFG.binHz;
      let sp = 0;
      let ang = 0;
      for (let k = 0; k < 5; k++) {
        sp += vehicleNormal(t0 + k / VEH_HZ).speed! / 5;
        ang += vehicleNormal(t0 + k / VEH_HZ).steering_angle! / 5;
      }
      assert.ok(Math.abs(vehicleAt(x, S - 1, i, 0) - sp / 30) < 1e-4, `bin ${i}`);
      assert.ok(Math.abs(vehicleAt(x, S - 1, i, 2) - ang / 180) < 1e-4);
      assert.ok(Math.abs(vehicleAt(x, S - 1, i, 4) - 0.2) < 1e-6);
      assert.equal(vehicleAt(x, S - 1, i, 5), 0);
      if (i > 0) {
        const accel = (vehicleAt(x, S - 1, i, 0) - vehicleAt(x, S - 1, i - 1, 0)) * 30 * CFG.binHz;
        assert.ok(Math.abs(vehicleAt(x, S - 1, i, 1) - accel / 3) < 1e-4);
      }
    }
    assert.ok(Math.abs(x.coverage - 0.95) < 1e-9);
  });

  it('moving > 2 m/s in park for the whole window: vehicle masked (inconsistent)', () => {
    const parked: Drive = { ...CLEAN, vehicle: (t) => ({ ...vehicleNormal(t), gear: 32 }) };
    const b = calibrated(parked);
    const x = input(run(b, parked, 60, 100));
    assert.equal(x.sources.vehicle, 'masked');
    assert.deepEqual(x.faults, [{ source: 'vehicle', reason: 'inconsistent' }]);
    assert.ok(x.vehicle.every((v) => v === 0));
  });

  it('standing still in park is fine', () => {
    const parked: Drive = { ...CLEAN, vehicle: () => ({ speed: 0, gear: 32, throttle: 0, brake: 1 }) };
    const b = calibrated(parked);
    const x = input(run(b, parked, 60, 100));
    assert.equal(x.sources.vehicle, 'used');
  });

  it('implausible speeds (negative mean, > 70 m/s) mask the vehicle', () => {
    for (const speed of [-5, 90]) {
      const d: Drive = { ...CLEAN, vehicle: (t) => ({ ...vehicleNormal(t), speed }) };
      const b = calibrated(d);
      const x = input(run(b, d, 60, 100));
      assert.deepEqual(x.faults, [{ source: 'vehicle', reason: 'implausible' }], `speed ${speed}`);
    }
  });

  it('context pushed: used, known entries scaled, unknown (mask 0) entries stay 0', () => {
    const b = calibrated();
    const values = new Float32Array(CONTEXT_FEATURES.length);
    const mask = new Uint8Array(CONTEXT_FEATURES.length);
    const iTemp = CONTEXT_FEATURES.indexOf('temperature_c');
    const iDay = CONTEXT_FEATURES.indexOf('is_day');
    const iHum = CONTEXT_FEATURES.indexOf('relative_humidity');
    values[iTemp] = 15;
    mask[iTemp] = 1;
    values[iDay] = 1;
    mask[iDay] = 1;
    values[iHum] = 0.9; // not flagged known: must not appear
    b.pushContext(BASE + 62, values, mask);
    const x = input(run(b, CLEAN, 60, 100));
    assert.equal(x.sources.context, 'used');
    for (let w = 0; w < S; w++) assert.equal(flagsOf(x, w)[4], 1);
    const steps = CFG.contextSteps;
    for (let k = 0; k < steps; k++) {
      const row = x.context.subarray(
        ((S - 1) * steps + k) * N_CONTEXT,
        ((S - 1) * steps + k + 1) * N_CONTEXT,
      );
      assert.equal(row[iTemp], 0.5); // 15 / 30
      assert.equal(row[iDay], 1);
      row.forEach((v, j) => {
        if (j !== iTemp && j !== iDay) assert.equal(v, 0);
      });
    }
  });

  it('context steps before the first observation are zero; the latest observation at each step is used', () => {
    const b = calibrated();
    const mk = (temp: number) => {
      const v = new Float32Array(N_CONTEXT);
      const m = new Uint8Array(N_CONTEXT);
      v[0] = temp;
      m[0] = 1;
      return { v, m };
    };
    run(b, CLEAN, 60, 90);
    const a = mk(3);
    b.pushContext(BASE + 90, a.v, a.m);
    run(b, CLEAN, 90, 95);
    const c = mk(6);
    b.pushContext(BASE + 95, c.v, c.m);
    const x = input(run(b, CLEAN, 95, 100));
    // newest window [80, 100): steps at 100 − (5 − k)·20/6 s
    const steps = CFG.contextSteps;
    const got = Array.from({ length: steps }, (_, k) => x.context[((S - 1) * steps + k) * N_CONTEXT]!);
    const want = Array.from({ length: steps }, (_, k) => {
      const at = 100 - (steps - 1 - k) * (CFG.windowS / steps);
      return at >= 95 ? 6 / 30 : at >= 90 ? 3 / 30 : 0;
    });
    for (let k = 0; k < steps; k++) assert.ok(Math.abs(got[k]! - want[k]!) < 1e-6, `${got} vs ${want}`);
    assert.equal(x.sources.context, 'used');
  });

  it('disabled sources are absent, even when their data is clean', () => {
    const values = new Float32Array(N_CONTEXT).fill(1);
    const mask = new Uint8Array(N_CONTEXT).fill(1);
    for (const off of STRESS_SOURCES) {
      const b = calibrated(withVehicle, [off]);
      b.pushContext(BASE + 60, values, mask);
      const x = input(run(b, withVehicle, 60, 100));
      assert.equal(x.sources[off], 'absent', off);
      for (const s of STRESS_SOURCES) if (s !== off) assert.equal(x.sources[s], 'used', `${off} off: ${s}`);
      const j = STRESS_SOURCES.indexOf(off);
      for (let w = 0; w < S; w++) assert.equal(flagsOf(x, w)[j], 0);
      assert.ok(Math.abs(x.coverage - (1 - SOURCE_WEIGHTS[off])) < 1e-9);
    }
  });
});

describe('StressInputBuilder: sequence, coverage, causality', () => {
  it('windows before any data have all flags 0 (and zero tensors)', () => {
    const long: StressWindowConfig = { ...CFG, sequenceLength: 16 };
    const b = new StressInputBuilder(long);
    let x: Result = { calibrating: true };
    for (let s = 0; s < 60; s++) {
      pushSecond(b, CLEAN, s);
      x = b.inputsAt(BASE + s + 1);
    }
    const y = input(x);
    // oldest window ends at 60 − 15·5 = −15: wholly before the data
    assert.deepEqual(Array.from(y.flags.subarray(0, F)), [0, 0, 0, 0, 0]);
    assert.ok(y.physio.subarray(0, T * P).every((v) => v === 0));
    assert.ok(y.stats.subarray(0, N_STATS).every((v) => v === 0));
    // the newest is used
    assert.deepEqual(Array.from(y.flags.subarray(15 * F, 16 * F)), [1, 1, 1, 0, 0]);
    assert.ok(y.coverage < 0.8);
  });

  it('coverage drops when a source is dropped, and is weighted per window', () => {
    const b = calibrated();
    const full = input(run(b, CLEAN, 60, 100));
    const d = switchAt(CLEAN, { hr: hrNormal, hand: edaNormal(5), foot: edaNormal(3) }, 100);
    const seen: number[] = [full.coverage];
    run(b, d, 100, 140, (_, r) => seen.push(input(r).coverage));
    assert.ok(Math.abs(full.coverage - 0.8) < 1e-9);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i]! <= seen[i - 1]! + 1e-12, seen.join());
    assert.ok(Math.abs(seen[seen.length - 1]! - 0.7) < 1e-9, 'resp gone from every window');
    // an intermediate value: some windows still had resp
    assert.ok(seen.some((c) => c > 0.7 + 1e-9 && c < 0.8 - 1e-9));
  });

  it('causality: data after t does not change inputsAt(t)', () => {
    // Noise as a pure function of time, so that both builders see identical samples.
    const noise = (t: number, k: number) => prng(Math.round(t * 64) * 8 + k)() - 0.5;
    const noisy: Drive = {
      hr: (t) => hrNormal(t) + noise(t, 0),
      hand: (t) => edaNormal(5)(t) + 0.01 * noise(t, 1),
      foot: (t) => edaNormal(3)(t) + 0.01 * noise(t, 2),
      resp: (t) => respNormal(t) + 0.1 * noise(t, 3),
      vehicle: (t) => ({ ...vehicleNormal(t), speed: 15 + noise(t, 4) }),
    };
    const tape = (b: StressInputBuilder, s: number) => pushSecond(b, noisy, s);
    const values = new Float32Array(N_CONTEXT).fill(2);
    const mask = new Uint8Array(N_CONTEXT).fill(1);
    const tEval = 110;

    // A: pushes and evaluates every second up to tEval.
    const a = new StressInputBuilder(CFG);
    a.pushContext(BASE + 70, values, mask);
    let xa: Result = { calibrating: true };
    for (let s = 0; s < tEval; s++) {
      tape(a, s);
      xa = a.inputsAt(BASE + s + 1);
    }
    // B: same up to 80 s (calibration), then nothing evaluated; receives data (and a fault and context)
    // up to 150 s before asking for tEval.
    const b = new StressInputBuilder(CFG);
    b.pushContext(BASE + 70, values, mask);
    for (let s = 0; s < 80; s++) {
      tape(b, s);
      b.inputsAt(BASE + s + 1);
    }
    for (let s = 80; s < 150; s++) tape(b, s);
    b.pushFault('hr', 'flat', BASE + tEval, BASE + tEval + 20);
    b.pushContext(BASE + tEval + 1, new Float32Array(N_CONTEXT).fill(9), mask);
    const xb = b.inputsAt(BASE + tEval);
    assert.deepEqual(input(xb), input(xa));
    assert.equal(input(xa).sources.vehicle, 'used');
    assert.equal(input(xa).sources.context, 'used');
  });

  it('inputsAt at a fractional time uses the bins ending at its bin boundary', () => {
    const b = calibrated();
    run(b, CLEAN, 60, 100);
    const x = input(b.inputsAt(BASE + 100));
    const y = input(b.inputsAt(BASE + 100.4));
    assert.deepEqual({ ...y, tS: 0 }, { ...x, tS: 0 });
    assert.equal(y.tS, BASE + 100.4);
  });
});

describe('StressInputBuilder: counters and memory', () => {
  it('counts non-finite pushes and skips them', () => {
    const b = calibrated();
    const before = b.counters.nonFinite;
    b.pushHr(BASE + 60.2, NaN);
    b.pushHr(BASE + 60.3, Infinity);
    b.pushEda('hand', BASE + 60, 8, [5, NaN, 5, -Infinity, 5, 5, 5, 5]);
    b.pushResp(BASE + 60, 8, [NaN]);
    b.pushVehicle('speed', BASE + 60, NaN);
    b.pushVehicle('gear', BASE + 60, Infinity);
    b.pushHr(NaN, 70);
    assert.equal(b.counters.nonFinite - before, 8);
    const x = input(run(b, CLEAN, 60, 100));
    assert.ok(x.physio.every((v) => Number.isFinite(v)));
    assert.equal(x.sources.hr, 'used');
  });

  it('a non-finite time as the very first sample does not block the calibration', {}, () => {
    const b = new StressInputBuilder(CFG);
    b.pushHr(NaN, 70);
    assert.equal(b.counters.nonFinite, 1);
    const r = run(b, CLEAN, 0, 80);
    assert.ok(isInput(r), 'still calibrating after 80 s of clean data');
  });

  it('counts late samples (older than the ring) in counters.late', () => {
    const b = calibrated();
    run(b, CLEAN, 60, 100);
    assert.equal(b.counters.late, 0);
    b.pushHr(BASE + 0.5, 70); // ring holds 90 s: 100 s ago is gone
    b.pushEda('hand', BASE + 1, 8, [5]);
    b.pushVehicle('speed', BASE + 1, 10); // the speed ring never held anything: not late
    input(b.inputsAt(BASE + 100));
    assert.equal(b.counters.late, 2);
  });

  it('three hours of in-order data: ring sizes fixed, cache bounded, no late samples, estimates keep coming', () => {
    const d: Drive = { ...CLEAN, vehicle: (t) => ({ speed: 20 + 3 * Math.sin(t / 9), gear: 0 }) };
    const b = new StressInputBuilder(CFG);
    const inner = internals(b);
    const caps = Object.fromEntries(Object.entries(inner.rings).map(([k, r]) => [k, r.capacity]));
    const expected = Math.ceil(((S - 1) * CFG.strideS + CFG.windowS + 60) * CFG.binHz);
    for (const c of Object.values(caps)) assert.equal(c, expected);
    const values = new Float32Array(N_CONTEXT);
    const mask = new Uint8Array(N_CONTEXT).fill(1);
    let maxCache = 0;
    let inputs = 0;
    const hours = 3 * 3600;
    for (let s = 0; s < hours; s++) {
      pushSecond(b, d, s);
      if (s % 900 === 0) b.pushContext(BASE + s, values, mask);
      if (s % 3 === 0 || s > hours - 20) {
        const r = b.inputsAt(BASE + s + 1);
        if (isInput(r)) {
          inputs++;
          maxCache = Math.max(maxCache, inner.cache.size);
        }
      }
    }
    const x = input(b.inputsAt(BASE + hours));
    assert.deepEqual(x.sources, { hr: 'used', eda: 'used', resp: 'used', vehicle: 'used', context: 'used' });
    assert.ok(inputs > 3000);
    assert.equal(b.counters.late, 0);
    assert.equal(b.counters.nonFinite, 0);
    assert.equal(b.counters.estimates, inputs + 1);
    for (const [k, r] of Object.entries(inner.rings)) assert.equal(r.capacity, caps[k]);
    for (const r of Object.values(inner.faultRings)) assert.equal(r.capacity, expected);
    assert.ok(maxCache <= S * CFG.strideS * CFG.binHz, `cache ${maxCache}`);
    assert.ok(inner.context.length <= 64);
  });
});
