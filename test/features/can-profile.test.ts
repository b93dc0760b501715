import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { parseDbc } from '../../src/streams/features/can/dbc.ts';
import {
  ProfileError,
  lookupSignal,
  parseVehicleProfile,
  parseVehicleProfileText,
  resolveProfile,
  resolveProfileSignal,
} from '../../src/streams/features/can/profile.ts';
import type { VehicleProfileInput } from '../../src/streams/features/can/profile.ts';
import { SignalExtractor } from '../../src/streams/features/can/signals.ts';
import { applyConversion, normaliseUnit, unitConversion } from '../../src/streams/features/can/units.ts';
import { REPO_ROOT, SHARED_SKIP, shared } from '../readers/shared-data.ts';

const RAV4_PROFILE = `${REPO_ROOT}/devices/profiles/toyota-rav4-2018.json`;
const excerpt = parseDbc(
  readFileSync(new URL('../fixtures/can/toyota-rav4-excerpt.dbc', import.meta.url), 'utf8'),
);
const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));

function minimal(over: Partial<VehicleProfileInput> = {}): VehicleProfileInput {
  return { id: 'test', signals: { speed: { inputs: ['SPEED.SPEED'], unit: 'm/s' } }, ...over };
}

function profileError(json: unknown): string {
  try {
    parseVehicleProfile(json, 'p.json');
  } catch (e) {
    assert.ok(e instanceof ProfileError);
    return e.message;
  }
  assert.fail('expected the profile to be rejected');
}

describe('units', () => {
  test('conversions: km/h → m/s is an exact ÷ 3.6; deg ↔ rad; % ↔ ratio; spellings', () => {
    const kmh = unitConversion('km/h', 'm/s')!;
    assert.deepEqual(kmh, { multiply: 1, divide: 3.6, offset: 0 });
    assert.equal(applyConversion(kmh, 28.7075), 28.7075 / 3.6);
    assert.equal(applyConversion(unitConversion('m/s', 'kph')!, 10), 36);
    assert.equal(applyConversion(unitConversion('mph', 'm/s')!, 1), 0.44704);
    assert.equal(applyConversion(unitConversion('deg', 'rad')!, 180), Math.PI);
    assert.equal(applyConversion(unitConversion('%', '')!, 50), 0.5);
    assert.equal(normaliseUnit(' Degrees '), 'deg');
    assert.equal(unitConversion('km/h', 'deg'), undefined);
    assert.equal(unitConversion('furlong', 'm'), undefined);
    assert.deepEqual(unitConversion('Nm', 'Nm'), { multiply: 1, divide: 1, offset: 0 });
  });
});

describe('vehicle profile schema', () => {
  test('the RAV4 profile is valid and resolves against the DBC (committed excerpt)', () => {
    const p = parseVehicleProfileText(readFileSync(RAV4_PROFILE, 'utf8'), RAV4_PROFILE);
    assert.equal(p.id, 'toyota-rav4-2018');
    assert.equal(p.bus, 'can0');
    assert.equal(p.includeTx, false);
    const all = resolveProfile(p, excerpt);
    assert.deepEqual(
      all.map((r) => [r.name, r.message.id, r.inputs.length, r.unit]),
      [
        ['speed', 0xaa, 4, 'm/s'],
        ['wheel_speed_fl', 0xaa, 1, 'm/s'],
        ['wheel_speed_fr', 0xaa, 1, 'm/s'],
        ['wheel_speed_rl', 0xaa, 1, 'm/s'],
        ['wheel_speed_rr', 0xaa, 1, 'm/s'],
        ['dash_speed', 0xb4, 1, 'm/s'],
        ['steering_angle', 0x25, 2, 'deg'],
        ['steering_rate', 0x25, 1, 'deg/s'],
        ['brake', 0x224, 1, ''],
        ['brake_pressure', 0x224, 1, ''],
        ['throttle', 0x2c1, 1, '%'],
        ['gear', 0x3bc, 1, ''],
        ['yaw_rate', 0x24, 1, 'deg/s'],
        ['accel_x', 0x24, 1, 'm/s^2'],
      ],
    );
    const speed = all[0]!;
    assert.equal(speed.combine, 'mean');
    assert.deepEqual(speed.conversions[0], { multiply: 1, divide: 3.6, offset: 0 });
    assert.equal(all.find((r) => r.name === 'brake')!.activeThreshold, 0.5);
  });

  test('derived signals on the real frames: speed = mean of four wheel speeds / 3.6, steering = angle + fraction', () => {
    const p = parseVehicleProfileText(readFileSync(RAV4_PROFILE, 'utf8'));
    const ex = new SignalExtractor(excerpt, ['speed', 'steering_angle', 'steering_rate'], { profile: p });
    const row = new Float64Array(3);
    // 0AA#25B525B525A0258D: wheel speeds (raw × 0.01 − 67.67 km/h) 28.86, 28.86, 28.65, 28.46 (see
    // can-decoder.test.ts); each ÷ 3.6, then the mean, in the profile's order FL, FR, RL, RR.
    assert.equal(
      ex.decode({ bus: 'can0', tx: false, id: 0xaa, extended: false, data: hex('25B525B525A0258D') }, row),
      true,
    );
    const k = (raw: number): number => (raw * 0.01 + -67.67) / 3.6;
    assert.equal(row[0], (k(9653) + k(9653) + k(9613) + k(9632)) / 4);
    assert.ok(Number.isNaN(row[1]!) && Number.isNaN(row[2]!));
    // 025#0FFD10007FE600AE: STEER_ANGLE −3 × 1.5 = −4.5, STEER_FRACTION 7 × 0.1; rate −26 deg/s.
    ex.decode({ bus: 'can0', tx: false, id: 0x25, extended: false, data: hex('0FFD10007FE600AE') }, row);
    assert.deepEqual([...row], [NaN, -3 * 1.5 + 7 * 0.1, -26]);
    // Bus and tx filtering: the same frame on can1, or sent by the logger, gives no row.
    assert.equal(
      ex.decode({ bus: 'can1', tx: false, id: 0x25, extended: false, data: hex('0FFD10007FE600AE') }, row),
      false,
    );
    assert.equal(
      ex.decode({ bus: 'can0', tx: true, id: 0x25, extended: false, data: hex('0FFD10007FE600AE') }, row),
      false,
    );
    // A frame too short for STEER_FRACTION (byte 4) leaves the derived angle absent, the rate too (byte 5).
    assert.equal(
      ex.decode({ bus: 'can0', tx: false, id: 0x25, extended: false, data: hex('0FFD1000') }, row),
      false,
    );
    assert.deepEqual(
      [ex.stats.otherBus, ex.stats.txSkipped, ex.stats.framesWithoutValues, ex.stats.rows],
      [1, 1, 1, 2],
    );
  });

  test('rejections name the path and the reason', () => {
    assert.match(profileError({ ...minimal(), extra: 1 }), /\(root\): Unrecognized key/);
    assert.match(profileError(minimal({ signals: {} })), /signals: a profile needs at least one signal/);
    assert.match(
      profileError(minimal({ signals: { speed: { inputs: ['A.X', 'A.Y'], unit: 'm/s' } } })),
      /signals\.speed\.combine: several inputs need "combine"/,
    );
    assert.match(
      profileError(minimal({ signals: { speed: { inputs: ['A.X', 'B.Y'], combine: 'mean', unit: 'm/s' } } })),
      /signals\.speed\.inputs: all inputs of a signal must come from one message/,
    );
    assert.match(
      profileError(minimal({ signals: { speed: { inputs: ['SPEED'], unit: 'm/s' } } })),
      /expected MESSAGE\.SIGNAL/,
    );
    assert.match(
      profileError(minimal({ signals: { speed: { inputs: ['SPEED.SPEED'], unit: 'km/h' } } })),
      /speed must be in m\/s/,
    );
    assert.match(
      profileError(minimal({ signals: { brake: { inputs: ['B.P'], unit: '' } } })),
      /signals\.brake\.activeThreshold: brake needs an activeThreshold/,
    );
    assert.match(
      profileError(minimal({ signals: { Speed: { inputs: ['S.S'], unit: '' } } })),
      /lower_snake_case/,
    );
    assert.throws(() => parseVehicleProfileText('{ nope', 'x.json'), /x\.json is not valid JSON/);
  });

  test('resolution against a DBC: unknown message/signal with suggestions, impossible unit conversion', () => {
    const p = (inputs: string[], unit = 'm/s', extra = {}) =>
      parseVehicleProfile(minimal({ signals: { speed: { inputs, unit, ...extra } } }));
    assert.throws(
      () => resolveProfileSignal(p(['WHEEL_SPEED.X']), 'speed', excerpt),
      /no message "WHEEL_SPEED" in the DBC \(did you mean WHEEL_SPEEDS, SPEED\?\)/,
    );
    assert.throws(
      () => resolveProfileSignal(p(['WHEEL_SPEEDS.WHEEL_SPEED']), 'speed', excerpt),
      /message WHEEL_SPEEDS has no signal "WHEEL_SPEED" \(did you mean WHEEL_SPEED_FR_FAULT, WHEEL_SPEED_FR/,
    );
    assert.throws(
      () => resolveProfileSignal(p(['STEER_ANGLE_SENSOR.STEER_ANGLE']), 'speed', excerpt),
      /cannot convert STEER_ANGLE_SENSOR\.STEER_ANGLE from "deg" to "m\/s"/,
    );
    assert.throws(
      () => resolveProfileSignal(p(['SPEED.SPEED']), 'nope', excerpt),
      /has no signal "nope" \(it has: speed\)/,
    );
    // fromUnit overrides the DBC's unit (here: declare the raw value already in m/s, then scale it).
    const r = resolveProfileSignal(
      p(['BRAKE_MODULE.BRAKE_PRESSURE'], 'm/s', { fromUnit: 'm/s', scale: 0.5 }),
      'speed',
      excerpt,
    );
    assert.deepEqual([r.conversions[0], r.scale], [{ multiply: 1, divide: 1, offset: 0 }, 0.5]);
  });

  test('MESSAGE.SIGNAL lookup accepts ids', () => {
    assert.equal(lookupSignal(excerpt, '0xAA.WHEEL_SPEED_FL').message.name, 'WHEEL_SPEEDS');
    assert.equal(lookupSignal(excerpt, '37.STEER_RATE').signal.name, 'STEER_RATE');
    assert.throws(() => lookupSignal(excerpt, 'nodot'), /not MESSAGE\.SIGNAL/);
  });

  test('signal extractor: requests and errors', () => {
    assert.throws(() => new SignalExtractor(excerpt, ['speed']), /no vehicle profile was given/);
    assert.throws(() => new SignalExtractor(excerpt, []), /no signals requested/);
    assert.throws(() => new SignalExtractor(excerpt, ['SPEED.SPEED', 'SPEED.SPEED']), /requested twice/);
    // RTR and error frames with a requested id are counted, not decoded.
    const ex = new SignalExtractor(excerpt, ['SPEED.SPEED']);
    const row = new Float64Array(1);
    assert.equal(
      ex.decode({ bus: 'x', tx: false, id: 0xb4, extended: false, rtr: true, data: new Uint8Array(0) }, row),
      false,
    );
    assert.equal(ex.stats.rtrOrError, 1);
    // 0B4#000000001D0B7A5E: SPEED 47|16@0+ (0.01 km/h) = bytes 5..6 = 0x0B7A = 2938 → 29.38 km/h.
    assert.equal(
      ex.decode({ bus: 'x', tx: false, id: 0xb4, extended: false, data: hex('000000001D0B7A5E') }, row),
      true,
    );
    assert.equal(row[0], 2938 * 0.01);
    assert.equal(ex.columns[0]!.unit, 'km/h');
  });
});

describe('vehicle profile: the real DBC', { skip: SHARED_SKIP }, () => {
  test('every RAV4 profile signal resolves against the full opendbc file', () => {
    const db = parseDbc(readFileSync(shared('can/dbc/toyota_new_mc_pt_generated.dbc'), 'utf8'));
    const p = parseVehicleProfileText(readFileSync(RAV4_PROFILE, 'utf8'));
    assert.equal(resolveProfile(p, db).length, Object.keys(p.signals).length);
  });
});
