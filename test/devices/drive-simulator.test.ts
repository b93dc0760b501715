/**
 * Drive simulator: determinism, physical bounds, scene statistics, the honesty rule (weather independent of
 * the scenes), CAN frames decoded back through the project's SignalExtractor with the RAV4 profile, and the
 * weather observation through the weather contract's decoder.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { SceneSpec, SimulatedDrive } from '../../devices/drive-simulator.ts';
import {
  GEAR_D,
  GEAR_P,
  driveStats,
  sceneRanges,
  signalAt,
  simulateDrive,
  simulatedCanFrames,
  simulateWeather,
  weatherMessage,
} from '../../devices/drive-simulator.ts';
import type { CanFrame } from '../../src/streams/contracts/messages.ts';
import { decodeWeather, encodeWeather } from '../../src/streams/contracts/weather.ts';
import type { CanProfileResources } from '../../src/streams/features/driving-extractor.ts';
import { loadCanProfile } from '../../src/streams/features/can/load.ts';
import { SignalExtractor } from '../../src/streams/features/can/signals.ts';
import { weatherContext } from '../../src/streams/features/weather.ts';

const START_US = Date.UTC(2026, 0, 15, 7, 30) * 1000;
const SCENES: SceneSpec[] = [
  { scene: 'rest', durationS: 120 },
  { scene: 'city', durationS: 600 },
  { scene: 'highway', durationS: 600 },
  { scene: 'city', durationS: 300 },
  { scene: 'rest', durationS: 60 },
];
const drive = simulateDrive({ scenes: SCENES, seed: 1, startUs: START_US });
const ranges = sceneRanges(drive);

describe('drive simulator: signals', () => {
  test('deterministic from the seed; another seed gives another drive', () => {
    const again = simulateDrive({ scenes: SCENES, seed: 1, startUs: START_US });
    for (const k of ['tUs', 'speedMps', 'steeringDeg', 'throttlePct', 'brake', 'gear'] as const)
      assert.deepEqual(again[k], drive[k], k);
    assert.deepEqual(again.context, drive.context);
    const other = simulateDrive({ scenes: SCENES, seed: 2, startUs: START_US });
    assert.notDeepEqual(other.speedMps, drive.speedMps);
  });

  test('sample times, lengths and scene indices', () => {
    const n = (120 + 600 + 600 + 300 + 60) * 10;
    assert.equal(drive.tUs.length, n);
    assert.equal(drive.tUs[0], START_US);
    assert.equal(drive.tUs[1]! - drive.tUs[0]!, 100_000);
    assert.equal(drive.endUs, START_US + n * 100_000);
    assert.deepEqual(
      ranges.map((r) => [r.scene, r.to - r.from]),
      SCENES.map((s) => [s.scene, s.durationS * 10]),
    );
  });

  test('physical bounds: speed ≥ 0, |accel| ≤ 4 m/s², pedals exclusive, steering rate = dθ/dt', () => {
    for (const seed of [1, 2, 3, 42]) {
      const d = seed === 1 ? drive : simulateDrive({ scenes: SCENES, seed, startUs: START_US });
      const n = d.tUs.length;
      for (let i = 0; i < n; i++) {
        const v = d.speedMps[i]!;
        assert.ok(v >= 0 && v < 40, `speed ${v}`);
        if (i > 0) assert.ok(Math.abs(v - d.speedMps[i - 1]!) / 0.1 <= 4 + 1e-9, `accel at ${i}`);
        assert.ok(!(d.brake[i] === 1 && d.throttlePct[i]! > 0), `brake and throttle at ${i}`);
        assert.ok(d.throttlePct[i]! >= 0 && d.throttlePct[i]! <= 100);
        assert.ok(d.gear[i] === GEAR_D || d.gear[i] === GEAR_P);
        if (d.gear[i] === GEAR_P) assert.equal(v, 0, 'moving in P');
        assert.ok(Math.abs(d.steeringDeg[i]!) <= 480);
        if (i > 0 && i < n - 1) {
          const rate = (d.steeringDeg[i + 1]! - d.steeringDeg[i - 1]!) / 0.2;
          assert.ok(Math.abs(d.steeringRateDegS[i]! - rate) < 1e-9);
        }
        // Turns happen at low speed: lateral acceleration v²·tan(δ/15.5)/2.66 stays moderate.
        const lat = (v * v * Math.tan((Math.abs(d.steeringDeg[i]!) / 15.5) * (Math.PI / 180))) / 2.66;
        assert.ok(lat < 4.5, `lateral acceleration ${lat.toFixed(2)} at ${i}`);
      }
    }
  });

  test('transitions: standstill before rest, rest is parked, pulling away selects D under brake', () => {
    for (const r of ranges) {
      if (r.scene === 'rest') {
        for (let i = r.from; i < r.to; i++) {
          assert.equal(drive.speedMps[i], 0);
          assert.equal(drive.gear[i], GEAR_P);
        }
      } else if (r.from > 0 && drive.gear[r.from - 1] === GEAR_P) {
        // From P: brake pressed until D is engaged and the car rolls.
        assert.equal(drive.brake[r.from], 1);
        const firstMove = drive.speedMps.findIndex((v, i) => i >= r.from && v > 0);
        assert.equal(drive.gear[firstMove], GEAR_D);
      }
    }
  });

  test('scene statistics differ as intended', () => {
    const stats = ranges.map((r) => ({ scene: r.scene, ...driveStats(drive, r.from, r.to) }));
    for (const s of stats) {
      if (s.scene === 'rest') {
        assert.equal(s.maxSpeedMps, 0);
        assert.ok(s.maxAbsSteeringDeg < 25 && s.steeringStdDeg < 5);
        assert.equal(s.brakeFraction, 0);
      }
    }
    const city = stats[1]!;
    const highway = stats[2]!;
    assert.ok(city.stops >= 4, `city stops ${city.stops}`);
    assert.ok(city.maxAbsSteeringDeg >= 90, `city max steering ${city.maxAbsSteeringDeg}`);
    assert.ok(city.meanSpeedMps > 3 && city.meanSpeedMps < 12);
    assert.ok(city.throttleBrakeSwitches >= 20, `city pedal switches ${city.throttleBrakeSwitches}`);
    assert.equal(highway.stops, 0);
    assert.ok(highway.maxAbsSteeringDeg < 20, `highway max steering ${highway.maxAbsSteeringDeg}`);
    assert.ok(highway.brakeFraction < 0.1);
    // After the acceleration onto the highway: steady 25–33 m/s (minus rare slow-downs), throttle ~15–30 %.
    const cruise = driveStats(drive, ranges[2]!.from + 400, ranges[2]!.to);
    assert.ok(cruise.meanSpeedMps > 24 && cruise.meanSpeedMps < 33, `${cruise.meanSpeedMps}`);
    assert.ok(cruise.meanThrottlePct > 12 && cruise.meanThrottlePct < 32, `${cruise.meanThrottlePct}`);
    assert.ok(city.steeringStdDeg > 5 * highway.steeringStdDeg);
  });

  test('rejects bad options', () => {
    assert.throws(() => simulateDrive({ scenes: [], seed: 1, startUs: START_US }), RangeError);
    assert.throws(
      () => simulateDrive({ scenes: [{ scene: 'city', durationS: 0 }], seed: 1, startUs: START_US }),
      RangeError,
    );
    assert.throws(
      () =>
        simulateDrive({ scenes: [{ scene: 'rest', durationS: 1 }], seed: 1, startUs: START_US, rateHz: 0 }),
      RangeError,
    );
  });
});

describe('drive simulator: weather context', () => {
  test('independent of the scenes (honesty rule): same seed, same weather', () => {
    const n = drive.tUs.length / 10;
    const highwayOnly = simulateDrive({
      scenes: [{ scene: 'highway', durationS: n }],
      seed: 1,
      startUs: START_US,
    });
    assert.deepEqual(highwayOnly.context, drive.context);
    assert.deepEqual(simulateWeather(1, drive.startUs, drive.endUs), drive.context);
    assert.notDeepEqual(simulateWeather(2, drive.startUs, drive.endUs), drive.context);
  });

  test('one observation per started 15 min; each passes the weather decoder with every field known', () => {
    assert.equal(drive.context.length, Math.ceil((drive.endUs - drive.startUs) / 900e6));
    drive.context.forEach((w, seq) => {
      assert.equal(w.tUs, drive.startUs + seq * 900e6);
      const obs = decodeWeather(encodeWeather(weatherMessage(w, 7, seq)));
      assert.equal(obs.tUs, w.tUs);
      assert.equal(obs.sessionId, 7);
      const ctx = weatherContext(obs);
      assert.deepEqual(ctx.missing, []);
      assert.ok(ctx.temperatureC! > -40 && ctx.temperatureC! < 50);
      assert.ok(ctx.visibilityM! > 0 && ctx.cloudCoverPct! >= 0 && ctx.cloudCoverPct! <= 100);
      assert.notEqual(ctx.wmoCategory, null);
      // The Open-Meteo local slot holds the observation time.
      const slotUs = Date.parse(`${String(obs.current['time'])}Z`) * 1000 - obs.utcOffsetSeconds! * 1e6;
      assert.ok(w.tUs >= slotUs && w.tUs < slotUs + 900e6);
    });
  });

  test('varies across drives: hours, weather codes and temperatures spread', () => {
    const hours = new Set<number>();
    const codes = new Set<number>();
    const temps: number[] = [];
    for (let seed = 0; seed < 200; seed++) {
      const w = simulateWeather(seed, START_US, START_US + 60e6)[0]!;
      const obs = decodeWeather(encodeWeather(weatherMessage(w, 1, 0)));
      const ctx = weatherContext(obs);
      hours.add(Math.floor(ctx.localHour));
      codes.add(ctx.wmoCode!);
      temps.push(ctx.temperatureC!);
    }
    assert.ok(hours.size >= 15, `hours ${hours.size}`);
    assert.ok(codes.size >= 6, `codes ${[...codes].join(',')}`);
    assert.ok(Math.max(...temps) - Math.min(...temps) > 20);
  });
});

describe('drive simulator: CAN frames through the RAV4 profile', () => {
  let resources: CanProfileResources;
  let frames: CanFrame[];
  before(async () => {
    resources = await loadCanProfile('devices/profiles/toyota-rav4-2018.json');
    frames = simulatedCanFrames(drive, resources);
  });

  test('messages at their rates, time-ordered, on bus 0', () => {
    const counts = new Map<number, number>();
    for (let i = 0; i < frames.length; i++) {
      const f = frames[i]!;
      if (i > 0) assert.ok(f.tUs >= frames[i - 1]!.tUs);
      assert.equal(f.bus, 0);
      assert.equal(f.data.length, 8);
      counts.set(f.id, (counts.get(f.id) ?? 0) + 1);
    }
    const seconds = (drive.endUs - drive.startUs) / 1e6;
    const rate = (id: number): number => (counts.get(id) ?? 0) / seconds;
    assert.ok(Math.abs(rate(0xaa) - 80) < 1);
    assert.ok(Math.abs(rate(0x25) - 80) < 1);
    assert.ok(Math.abs(rate(0x224) - 40) < 1);
    assert.ok(Math.abs(rate(0x2c1) - 33) < 1);
    assert.ok(Math.abs(rate(0x3bc) - 20) < 1);
    assert.equal(counts.size, 5);
  });

  test('decoded speed, steering, pedals and gear reproduce the simulated signals', () => {
    const roles = ['speed', 'steering_angle', 'steering_rate', 'brake', 'throttle', 'gear'] as const;
    const ex = new SignalExtractor(resources.db, roles, { profile: resources.profile });
    const row = new Float64Array(roles.length);
    const maxErr = [0, 0, 0, 0, 0, 0];
    const seen = [0, 0, 0, 0, 0, 0];
    const truth = [
      (t: number) => signalAt(drive, 'speedMps', t),
      (t: number) => signalAt(drive, 'steeringDeg', t),
      (t: number) => signalAt(drive, 'steeringRateDegS', t),
      (t: number) => signalAt(drive, 'brake', t),
      (t: number) => signalAt(drive, 'throttlePct', t),
      (t: number) => signalAt(drive, 'gear', t),
    ];
    for (const f of frames) {
      const input = { bus: `can${f.bus}`, tx: false, id: f.id, extended: f.extended, data: f.data };
      if (!ex.decode(input, row)) continue;
      for (let c = 0; c < roles.length; c++) {
        const v = row[c]!;
        if (Number.isNaN(v)) continue;
        seen[c]!++;
        maxErr[c] = Math.max(maxErr[c]!, Math.abs(v - truth[c]!(f.tUs)));
      }
    }
    assert.ok(
      seen.every((n) => n > 1000),
      `decoded counts ${seen.join(',')}`,
    );
    assert.ok(maxErr[0]! <= 0.005 / 3.6 + 1e-9, `speed error ${maxErr[0]} m/s`); // 0.01 km/h steps
    assert.ok(maxErr[1]! <= 0.05 + 1e-9, `steering error ${maxErr[1]}°`); // 0.1° steps
    assert.ok(maxErr[2]! <= 0.5 + 1e-9, `steering rate error ${maxErr[2]} deg/s`); // 1 deg/s steps
    assert.equal(maxErr[3], 0, 'brake');
    assert.ok(maxErr[4]! <= 0.25 + 1e-9, `throttle error ${maxErr[4]} %`); // 0.5 % steps
    assert.equal(maxErr[5], 0, 'gear');
  });

  test('frames at 10 Hz sample times carry the samples themselves', () => {
    // signalAt is the identity at sample times, so the round trip is checked against the raw arrays too.
    const d: SimulatedDrive = drive;
    for (const i of [0, 1234, 5000, 9999, d.tUs.length - 1]) {
      assert.equal(signalAt(d, 'speedMps', d.tUs[i]!), d.speedMps[i]);
      assert.equal(signalAt(d, 'gear', d.tUs[i]!), d.gear[i]);
    }
  });
});
