/**
 * CAN encoder: property tests that decoding an encoded value gives the value back, quantised to the
 * signal's factor and clamped to its raw range, for random Intel/Motorola, signed/unsigned layouts, and for
 * the RAV4 messages the drive simulator writes.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { ByteOrder, DbcMessage, DbcSignal } from '../../src/streams/features/can/dbc.ts';
import { parseDbc, signalLastByte } from '../../src/streams/features/can/dbc.ts';
import {
  compileMessage,
  decodeSignal,
  rawBigInt,
  signalSegments,
} from '../../src/streams/features/can/decoder.ts';
import { encodeMessage, encodeSignal } from '../../src/streams/features/can/encoder.ts';

function signal(p: {
  startBit: number;
  length: number;
  byteOrder: ByteOrder;
  signed: boolean;
  factor: number;
  offset: number;
}): DbcSignal {
  return {
    name: 'S',
    ...p,
    valueType: 'integer',
    minimum: 0,
    maximum: 0,
    unit: '',
    receivers: [],
    isMultiplexer: false,
    multiplexedBy: undefined,
    comment: undefined,
    valueTable: undefined,
    line: 1,
  };
}

const FACTORS = [1, 0.5, 0.01, 1.5, 0.1, 2, 0.03125, 3];
const OFFSETS = [0, -67.67, 10, -192, 0.5];

/** Random signal layouts that fit an 8-byte payload. */
const arbSignal = (maxLength: number): fc.Arbitrary<DbcSignal> =>
  fc
    .record({
      startBit: fc.integer({ min: 0, max: 63 }),
      length: fc.integer({ min: 1, max: maxLength }),
      byteOrder: fc.constantFrom<ByteOrder>('intel', 'motorola'),
      signed: fc.boolean(),
      factor: fc.constantFrom(...FACTORS),
      offset: fc.constantFrom(...OFFSETS),
    })
    .filter((s) => signalLastByte(s.byteOrder, s.startBit, s.length) < 8)
    .map(signal);

function rawRange(sig: DbcSignal): [number, number] {
  return sig.signed ? [-(2 ** (sig.length - 1)), 2 ** (sig.length - 1) - 1] : [0, 2 ** sig.length - 1];
}

/** The value the decoder must return for `x`: quantised to the factor, clamped to the raw range. */
function quantised(sig: DbcSignal, x: number): number {
  const [lo, hi] = rawRange(sig);
  return Math.min(hi, Math.max(lo, Math.round((x - sig.offset) / sig.factor))) * sig.factor + sig.offset;
}

describe('CAN encoder: round trips through the decoder', () => {
  // ≤ 48 bits: a physical value raw × factor is a double, so near 2^52 (factor 0.1) its rounding error
  // reaches half a raw step and no encoder could recover the raw value (found by this property).
  test('exact raw values come back exactly (≤ 48 bits)', () => {
    fc.assert(
      fc.property(arbSignal(48), fc.double({ min: 0, max: 1, noNaN: true }), (sig, u) => {
        const [lo, hi] = rawRange(sig);
        const raw = Math.round(lo + u * (hi - lo)) + 0; // + 0: no −0
        const data = new Uint8Array(8);
        encodeSignal(sig, raw * sig.factor + sig.offset, data);
        assert.equal(Number(rawBigInt(sig, data)), raw);
        assert.equal(decodeSignal(sig, data), raw * sig.factor + sig.offset);
      }),
      { numRuns: 2000 },
    );
  });

  test('arbitrary physical values decode quantised and clamped; other bits are untouched', () => {
    fc.assert(
      fc.property(
        arbSignal(52),
        fc.double({ min: -1e17, max: 1e17, noNaN: true }),
        fc.uint8Array({ minLength: 8, maxLength: 8 }),
        (sig, x, before) => {
          const data = before.slice();
          encodeSignal(sig, x, data);
          const got = decodeSignal(sig, data);
          const want = quantised(sig, x);
          assert.ok(Math.abs(got - want) <= 1e-9 * Math.max(1, Math.abs(want)), `${got} vs ${want}`);
          // Bits outside the signal keep their previous value.
          const mask = new Uint8Array(8);
          for (const s of signalSegments(sig)) mask[s.byte]! |= ((1 << s.width) - 1) << s.lsb;
          for (let i = 0; i < 8; i++) assert.equal(data[i]! & ~mask[i]!, before[i]! & ~mask[i]!);
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('wide signals (53..64 bits) are exact in the raw domain', () => {
    fc.assert(
      fc.property(
        arbSignal(64).filter((s) => s.length >= 53),
        fc.bigInt(),
        (s, big) => {
          const sig = { ...s, factor: 1, offset: 0 };
          const n = BigInt(sig.length);
          const lo = sig.signed ? -(1n << (n - 1n)) : 0n;
          const hi = sig.signed ? (1n << (n - 1n)) - 1n : (1n << n) - 1n;
          // A double-representable value inside the range (multiples of 2^12 are exact up to 2^64).
          const raw = BigInt(Number(lo + (((big % (hi - lo + 1n)) + (hi - lo + 1n)) % (hi - lo + 1n))));
          const want = raw > hi ? hi : raw < lo ? lo : raw;
          const data = new Uint8Array(8);
          encodeSignal(sig, Number(raw), data);
          assert.equal(rawBigInt(sig, data), want);
        },
      ),
      { numRuns: 500 },
    );
  });

  test('rejects NaN and short payloads', () => {
    const sig = signal({
      startBit: 7,
      length: 16,
      byteOrder: 'motorola',
      signed: false,
      factor: 1,
      offset: 0,
    });
    assert.throws(() => encodeSignal(sig, NaN, new Uint8Array(8)), RangeError);
    assert.throws(() => encodeSignal(sig, 1, new Uint8Array(1)), RangeError);
  });
});

describe('CAN encoder: RAV4 messages of the simulator profile', () => {
  const db = parseDbc(readFileSync('devices/profiles/toyota_new_mc_pt_generated.dbc', 'latin1'));
  const msg = (name: string): DbcMessage => {
    const m = db.byName.get(name);
    assert.ok(m, name);
    return m;
  };

  for (const name of ['WHEEL_SPEEDS', 'STEER_ANGLE_SENSOR', 'BRAKE_MODULE', 'GAS_PEDAL', 'GEAR_PACKET']) {
    test(`${name}: every signal round-trips`, () => {
      const m = msg(name);
      const compiled = compileMessage(m);
      fc.assert(
        fc.property(
          fc.array(fc.double({ min: -5000, max: 5000, noNaN: true }), {
            minLength: m.signals.length,
            maxLength: m.signals.length,
          }),
          (xs) => {
            const values = Object.fromEntries(m.signals.map((s, i) => [s.name, xs[i]!]));
            const data = encodeMessage(m, values);
            assert.equal(data.length, m.size);
            const got = compiled.decodeToRecord(data);
            for (const s of m.signals) {
              const want = quantised(s, values[s.name]!);
              assert.ok(Math.abs(got[s.name]! - want) < 1e-9, `${s.name}: ${got[s.name]} vs ${want}`);
            }
          },
        ),
        { numRuns: 500 },
      );
    });
  }

  test('known vectors: 50 km/h on every wheel, unspecified signals are raw 0', () => {
    const m = msg('WHEEL_SPEEDS');
    const data = encodeMessage(m, { WHEEL_SPEED_FL: 50, WHEEL_SPEED_RR: 50 });
    // raw = (50 + 67.67) / 0.01 = 11767 = 0x2DF7, 15 bits Motorola from bit 22 (byte 2 bit 6).
    const r = compileMessage(m).decodeToRecord(data);
    assert.ok(Math.abs(r['WHEEL_SPEED_FL']! - 50) < 1e-9);
    assert.ok(Math.abs(r['WHEEL_SPEED_RR']! - 50) < 1e-9);
    assert.ok(Math.abs(r['WHEEL_SPEED_FR']! + 67.67) < 1e-9);
    assert.throws(() => encodeMessage(m, { NOPE: 1 }), RangeError);
  });
});
