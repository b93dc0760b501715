/**
 * Decoder test vectors. Bit numbering as in DBC files: payload bit b = bit (b mod 8) of byte floor(b/8),
 * bit 0 = the byte's LSB. Intel start bit = LSB of the signal; Motorola start bit = its MSB, continuing
 * towards bit 0 of that byte and then bit 7 of the NEXT byte. Every expected value below is derived by hand
 * in the comment next to it; `raw × factor + offset` is written as that expression so the float rounding
 * matches the decoder's.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { parseDbc } from '../../src/streams/features/can/dbc.ts';
import type { DbcDatabase, DbcMessage, DbcSignal } from '../../src/streams/features/can/dbc.ts';
import {
  CanDatabaseDecoder,
  compileMessage,
  decodeSignal,
  rawBigInt,
  signalMinLength,
  signalSegments,
} from '../../src/streams/features/can/decoder.ts';
import { SHARED_SKIP, shared } from '../readers/shared-data.ts';

const FIX = new URL('../fixtures/can/', import.meta.url);
const synthetic: DbcDatabase = parseDbc(readFileSync(new URL('synthetic.dbc', FIX), 'utf8'), {
  source: 'synthetic.dbc',
});
const rav4: DbcDatabase = parseDbc(readFileSync(new URL('toyota-rav4-excerpt.dbc', FIX), 'utf8'));

function msg(db: DbcDatabase, name: string): DbcMessage {
  const m = db.byName.get(name);
  assert.ok(m, `no message ${name}`);
  return m;
}

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

/** Decodes with both implementations and checks they agree; returns the generated one's record. */
function decodeBoth(m: DbcMessage, data: Uint8Array): Record<string, number> {
  const gen = compileMessage(m);
  const clo = compileMessage(m, { codegen: false });
  assert.equal(gen.generated, true);
  assert.equal(clo.generated, false);
  const a = gen.decodeToRecord(data);
  assert.deepEqual(clo.decodeToRecord(data), a, 'closure and generated decoders disagree');
  return a;
}

describe('CAN decoder: hand-derived vectors', () => {
  test('Intel: unsigned across a byte boundary, signed 16-bit, top bit', () => {
    // Data A5 3C 18 FC 00 00 00 80.
    // U12 4|12@1+: bits 4..15 = high nibble of byte 0 (0xA) as bits 0..3, byte 1 (0x3C) as bits 4..11:
    //   raw = 0xA | 0x3C << 4 = 0x3CA = 970; 970 × 0.5 − 10 = 475.
    // S16 16|16@1-: byte 2 + byte 3 << 8 = 0xFC18 = 64536 → two's complement 64536 − 65536 = −1000.
    // FLAG 63|1@1+: bit 7 of byte 7 (0x80) = 1.
    const r = decodeBoth(msg(synthetic, 'INTEL_MSG'), hex('A5 3C 18 FC 00 00 00 80'));
    assert.deepEqual(r, { U12: 970 * 0.5 - 10, S16: -1000, FLAG: 1 });
  });

  test('Motorola: signed 12-bit, unsigned 20-bit over three bytes, signed nibble', () => {
    // Data BF F6 2A 55 FC 90 00 00.
    // M12 3|12@0-: MSB = byte 0 bit 3; bits 3..0 of byte 0 (0xBF & 0xF = 0xF), then all of byte 1 (0xF6):
    //   raw = 0xF << 8 | 0xF6 = 0xFF6 = 4086 → 12-bit signed 4086 − 4096 = −10; × 1.5 = −15.
    // M20 21|20@0+: MSB = byte 2 bit 5; 6 bits of byte 2 (0x2A & 0x3F = 0x2A = 42), 8 of byte 3 (0x55 = 85),
    //   top 6 of byte 4 (0xFC >> 2 = 63): raw = 42 << 14 | 85 << 6 | 63 = 688128 + 5440 + 63 = 693631.
    // M4 47|4@0-: byte 5 bits 7..4 = 0x9 = 0b1001 → −7; × 0.1.
    const r = decodeBoth(msg(synthetic, 'MOTO_MSG'), hex('BF F6 2A 55 FC 90 00 00'));
    assert.deepEqual(r, { M12: -10 * 1.5, M20: 693631 * 0.1, M4: -7 * 0.1 });
  });

  test('Motorola on a real RAV4 frame (0x25 STEER_ANGLE_SENSOR at 1533226497.841637)', () => {
    // 025#0FFD10007FE600AE: bytes 0F FD 10 00 7F E6 00 AE.
    // STEER_ANGLE 3|12@0- (1.5): bits 3..0 of byte 0 (0xF) then byte 1 (0xFD): 0xFFD = 4093 → −3 → −4.5 deg.
    // STEER_FRACTION 39|4@0- (0.1): byte 4 bits 7..4 = 0x7 → +7 → 0.7 deg.
    // STEER_RATE 35|12@0- (1): byte 4 bits 3..0 (0xF) then byte 5 (0xE6): 0xFE6 = 4070 → 4070 − 4096 = −26 deg/s.
    // A decoder that took the Motorola start bit as the LSB (the candied bug class) would read other bits.
    const r = decodeBoth(msg(rav4, 'STEER_ANGLE_SENSOR'), hex('0FFD10007FE600AE'));
    assert.deepEqual(r, { STEER_ANGLE: -3 * 1.5, STEER_FRACTION: 7 * 0.1, STEER_RATE: -26 });
  });

  test('Motorola 15-bit wheel speeds on a real RAV4 frame (0xAA at 1533226488.235503)', () => {
    // 0AA#25B525B525A0258D. WHEEL_SPEED_FR 6|15@0+ (0.01, −67.67): bits 6..0 of byte 0 (0x25 & 0x7F)
    // then byte 1: 0x25B5 = 9653 → 28.86 km/h. FL 22|15: bytes 2-3 → 0x25B5. RR 38|15: bytes 4-5 → 0x25A0
    // = 9632. RL 54|15: bytes 6-7 → 0x258D = 9613. The *_FAULT bits (bit 7 of bytes 0, 2, 4, 6) are 0.
    const r = decodeBoth(msg(rav4, 'WHEEL_SPEEDS'), hex('25B525B525A0258D'));
    const k = (raw: number): number => raw * 0.01 + -67.67;
    assert.deepEqual(r, {
      WHEEL_SPEED_FR_FAULT: 0,
      WHEEL_SPEED_FR: k(9653),
      WHEEL_SPEED_FL_FAULT: 0,
      WHEEL_SPEED_FL: k(9653),
      WHEEL_SPEED_RR_FAULT: 0,
      WHEEL_SPEED_RR: k(9632),
      WHEEL_SPEED_RL_FAULT: 0,
      WHEEL_SPEED_RL: k(9613),
    });
  });

  test('multiplexed: only the signals the switch selects are present (extended id)', () => {
    const m = msg(synthetic, 'EXT_MUX');
    // Id 2566844693 = 0x98FEF115: bit 31 set → extended id 0x18FEF115.
    assert.deepEqual([m.id, m.extended], [0x18fef115, true]);
    // MUX = byte 0. A m0 / B m1 share bits 8..23 (Intel); C m1 = byte 3; ALWAYS 63|8@0+ = byte 7 (0x2A = 42).
    // MUX 0: A = 0x34 | 0x12 << 8 = 0x1234 = 4660.
    assert.deepEqual(decodeBoth(m, hex('00 34 12 07 00 00 00 2A')), { MUX: 0, A: 4660, ALWAYS: 42 });
    // MUX 1: B = 0xFFFE → −2 × 0.01; C = 7.
    assert.deepEqual(decodeBoth(m, hex('01 FE FF 07 00 00 00 2A')), {
      MUX: 1,
      B: -2 * 0.01,
      C: 7,
      ALWAYS: 42,
    });
    // MUX 2 selects none of them.
    assert.deepEqual(decodeBoth(m, hex('02 FE FF 07 00 00 00 2A')), { MUX: 2, ALWAYS: 42 });
  });

  test('extended multiplexing (mNM + SG_MUL_VAL_): a switch that is itself multiplexed', () => {
    const m = msg(synthetic, 'XMUX');
    // SW1 = bits 0..3 of byte 0; SW2 (m1M) = bits 4..7, present when SW1 ∈ [1,1];
    // X = byte 1 when SW2 ∈ [2,3] ∪ [5,5]; Y = byte 1 when SW1 ∈ [0,0].
    // 0x31: SW1 = 1, SW2 = 3 → X = 0x77 = 119.
    assert.deepEqual(decodeBoth(m, hex('31 77')), { SW1: 1, SW2: 3, X: 119 });
    // 0x30: SW1 = 0 → SW2 absent, so X absent; Y = 119.
    assert.deepEqual(decodeBoth(m, hex('30 77')), { SW1: 0, Y: 119 });
    // 0x41: SW1 = 1, SW2 = 4 → neither X nor Y. 0x51: SW2 = 5 → X.
    assert.deepEqual(decodeBoth(m, hex('41 77')), { SW1: 1, SW2: 4 });
    assert.deepEqual(decodeBoth(m, hex('51 77')), { SW1: 1, SW2: 5, X: 119 });
    // Range bounds are inclusive: 0x21 → SW2 = 2 (the low end of 2-3) selects X; 0x61 → SW2 = 6 does not.
    assert.deepEqual(decodeBoth(m, hex('21 77')), { SW1: 1, SW2: 2, X: 119 });
    assert.deepEqual(decodeBoth(m, hex('61 77')), { SW1: 1, SW2: 6 });
    // Asking for X alone still decodes the switches it needs (appended to the output).
    const only = compileMessage(m, { signals: ['X'] });
    assert.deepEqual(
      only.signals.map((s) => s.name),
      ['X', 'SW2', 'SW1'],
    );
    assert.deepEqual(only.decodeToRecord(hex('31 77')), { X: 119, SW2: 3, SW1: 1 });
  });

  test('64-bit signals: exact raw as bigint, one correctly rounded double', () => {
    // U64 0|64@1+ over 01 23 45 67 89 AB CD EF (little-endian) = 0xEFCDAB8967452301.
    const wide = msg(synthetic, 'WIDE');
    const d = hex('0123456789ABCDEF');
    assert.equal(rawBigInt(wide.signals[0]!, d), 0xefcdab8967452301n);
    assert.deepEqual(decodeBoth(wide, d), { U64: Number(0xefcdab8967452301n) });
    // S64 7|64@0- (Motorola, MSB = byte 0 bit 7): big-endian FF…FE = −2; 80 00 … 01 = −2^63 + 1.
    const wm = msg(synthetic, 'WIDE_M');
    assert.deepEqual(decodeBoth(wm, hex('FFFFFFFFFFFFFFFE')), { S64: -2 });
    assert.equal(rawBigInt(wm.signals[0]!, hex('8000000000000001')), -(2n ** 63n) + 1n);
    assert.deepEqual(decodeBoth(wm, hex('8000000000000001')), { S64: Number(-(2n ** 63n) + 1n) });
    // U53 0|53@1+ all ones: 2^53 − 1 = 9007199254740991, exactly representable.
    assert.deepEqual(decodeBoth(msg(synthetic, 'WIDE53'), hex('FFFFFFFFFFFF1F00')), {
      U53: 9007199254740991,
    });
  });

  test('IEEE float signals (SIG_VALTYPE_), Intel and Motorola, factor/offset applied', () => {
    // F32 0|32@1 float: bytes 00 00 C0 3F = 0x3FC00000 LE = 1.5. F32B 39|32@0 float: bytes 4..7 big-endian
    // C0 10 00 00 = 0xC0100000 = −2.25; × 2 + 1 = −3.5.
    assert.deepEqual(decodeBoth(msg(synthetic, 'FLOATS'), hex('0000C03FC0100000')), { F32: 1.5, F32B: -3.5 });
    const pi = new Uint8Array(8);
    new DataView(pi.buffer).setFloat64(0, Math.PI, true);
    assert.deepEqual(decodeBoth(msg(synthetic, 'FLOAT64'), pi), { F64: Math.PI });
  });

  test('short frames: signals whose bytes are missing are absent, the rest decode', () => {
    // U12 needs bytes 0..1; S16 bytes 2..3; FLAG byte 7.
    assert.deepEqual(decodeBoth(msg(synthetic, 'INTEL_MSG'), hex('A53C')), { U12: 970 * 0.5 - 10 });
    assert.deepEqual(decodeBoth(msg(synthetic, 'INTEL_MSG'), new Uint8Array(0)), {});
  });

  test('segments: Motorola goes to the next byte, Intel to the next byte up', () => {
    // STEER_RATE 35|12@0-: LSB at byte 5 bit 0 (8 bits), then byte 4 bits 0..3.
    const rate = msg(rav4, 'STEER_ANGLE_SENSOR').signals.find((s) => s.name === 'STEER_RATE')!;
    assert.deepEqual(signalSegments(rate), [
      { byte: 5, lsb: 0, width: 8, shift: 0 },
      { byte: 4, lsb: 0, width: 4, shift: 8 },
    ]);
    assert.equal(signalMinLength(rate), 6);
    // Intel 4|12: byte 0 bits 4..7 then byte 1.
    assert.deepEqual(signalSegments({ startBit: 4, length: 12, byteOrder: 'intel' }), [
      { byte: 0, lsb: 4, width: 4, shift: 0 },
      { byte: 1, lsb: 0, width: 8, shift: 4 },
    ]);
  });

  test('CanDatabaseDecoder: lookup by (id, extended), caching', () => {
    const dec = new CanDatabaseDecoder(synthetic.messages);
    assert.equal(dec.compiled(0x18fef115, true)?.message.name, 'EXT_MUX');
    assert.equal(dec.compiled(0x18fef115, false), undefined);
    assert.equal(dec.compiled(256, false), dec.compiled(256, false));
    assert.equal(dec.compiled(0x7ff, false), undefined);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Property test against an independent bit-by-bit reference
// ---------------------------------------------------------------------------------------------------------

/**
 * Reference: walks the signal bit by bit. Intel: bit i of the value = payload bit start + i. Motorola: the
 * classic "sawtooth" walk from the MSB — next bit = pos − 1, except from a byte's bit 0 (pos % 8 == 0),
 * where it jumps to bit 7 of the next byte (pos + 15). Shares no code with the decoder.
 */
function referenceRaw(sig: DbcSignal, data: Uint8Array): bigint | undefined {
  const positions: number[] = [];
  if (sig.byteOrder === 'intel') for (let i = 0; i < sig.length; i++) positions.push(sig.startBit + i);
  else {
    let pos = sig.startBit;
    const fromMsb: number[] = [];
    for (let i = 0; i < sig.length; i++) {
      fromMsb.push(pos);
      pos = pos % 8 === 0 ? pos + 15 : pos - 1;
    }
    positions.push(...fromMsb.reverse());
  }
  let v = 0n;
  for (let i = 0; i < positions.length; i++) {
    const p = positions[i]!;
    const byte = data[p >> 3];
    if (byte === undefined) return undefined;
    if ((byte >> (p & 7)) & 1) v |= 1n << BigInt(i);
  }
  return sig.signed ? BigInt.asIntN(sig.length, v) : v;
}

const signalArb = fc
  .record({
    byteOrder: fc.constantFrom<'intel' | 'motorola'>('intel', 'motorola'),
    length: fc.integer({ min: 1, max: 64 }),
    signed: fc.boolean(),
    startBit: fc.integer({ min: 0, max: 63 }),
    factor: fc.constantFrom(1, 0.5, 0.01, -2, 1e-7),
    offset: fc.constantFrom(0, -67.67, 1000),
    multiplexed: fc.boolean(),
  })
  .filter((s) => {
    if (s.byteOrder === 'intel') return s.startBit + s.length <= 64;
    const lin = (s.startBit & ~7) + 7 - (s.startBit & 7);
    return lin + s.length <= 64;
  });

type SignalSpec = typeof signalArb extends fc.Arbitrary<infer T> ? T : never;

function makeMessage(spec: SignalSpec): DbcMessage {
  const sig = (name: string, over: Partial<DbcSignal>): DbcSignal => ({
    name,
    startBit: 0,
    length: 8,
    byteOrder: 'intel',
    signed: false,
    valueType: 'integer',
    factor: 1,
    offset: 0,
    minimum: 0,
    maximum: 0,
    unit: '',
    receivers: [],
    isMultiplexer: false,
    multiplexedBy: undefined,
    comment: undefined,
    valueTable: undefined,
    line: 0,
    ...over,
  });
  return {
    id: 1,
    extended: false,
    name: 'P',
    size: 8,
    transmitter: '',
    comment: undefined,
    line: 0,
    signals: [
      sig('S', {
        startBit: spec.startBit,
        length: spec.length,
        byteOrder: spec.byteOrder,
        signed: spec.signed,
        factor: spec.factor,
        offset: spec.offset,
        // A switch in a separate 9th byte selects the signal when it is odd.
        multiplexedBy: spec.multiplexed
          ? {
              switchName: 'SW',
              ranges: [
                { lo: 1, hi: 1 },
                { lo: 3, hi: 255 },
              ],
            }
          : undefined,
      }),
      sig('SW', { startBit: 64, length: 8, isMultiplexer: true }),
    ],
  };
}

describe('CAN decoder: properties', () => {
  test('generated = closures = bit-by-bit reference, any layout, any data (incl. short frames)', () => {
    fc.assert(
      fc.property(signalArb, fc.uint8Array({ minLength: 0, maxLength: 9 }), (spec, data) => {
        const m = makeMessage(spec);
        const sig = m.signals[0]!;
        const gen = compileMessage(m);
        const clo = compileMessage(m, { codegen: false });
        const a = new Float64Array(2);
        const b = new Float64Array(2);
        gen.decode(data, a);
        clo.decode(data, b);
        assert.ok(
          Object.is(a[0], b[0]) || (Number.isNaN(a[0]!) && Number.isNaN(b[0]!)),
          `gen ${a[0]} closure ${b[0]}`,
        );
        assert.ok(Object.is(a[1], b[1]) || (Number.isNaN(a[1]!) && Number.isNaN(b[1]!)));
        const raw = referenceRaw(sig, data);
        const sw = data[8];
        const selected = !spec.multiplexed || (sw !== undefined && (sw === 1 || sw >= 3));
        if (raw === undefined || !selected) {
          assert.ok(Number.isNaN(a[0]!), `expected absent, got ${a[0]}`);
          return;
        }
        // Number(bigint) rounds once, to nearest: the decoder must give exactly that (exact up to 2^53).
        assert.equal(a[0], Number(raw) * spec.factor + spec.offset);
        assert.equal(rawBigInt(sig, data), raw);
        assert.equal(decodeSignal(sig, data), Number(raw) * spec.factor + spec.offset);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('CAN decoder: real RAV4 log', { skip: SHARED_SKIP }, () => {
  test('every frame of every DBC message: generated = closures = reference', async () => {
    const { readCandumpFile } = await import('../../src/streams/readers/candump.ts');
    const db = parseDbc(readFileSync(shared('can/dbc/toyota_new_mc_pt_generated.dbc'), 'utf8'));
    const log = await readCandumpFile(shared('can/rav4_2018-08-02--08-34-47_seg40.candump.log'));
    const gen = new CanDatabaseDecoder(db.messages);
    const clo = new CanDatabaseDecoder(db.messages, { codegen: false });
    let decoded = 0;
    let values = 0;
    for (const f of log.frames) {
      const g = gen.compiled(f.id, f.extended);
      if (g === undefined) continue;
      const c = clo.compiled(f.id, f.extended)!;
      const a = new Float64Array(g.signals.length);
      const b = new Float64Array(g.signals.length);
      g.decode(f.data, a);
      c.decode(f.data, b);
      g.signals.forEach((s, i) => {
        const raw = referenceRaw(s, f.data);
        const want = raw === undefined ? NaN : Number(raw) * s.factor + s.offset;
        if (!Object.is(a[i], want) || !Object.is(b[i], want))
          assert.fail(
            `${g.message.name}.${s.name} at ${f.tUs}: gen ${a[i]} closure ${b[i]} reference ${want}`,
          );
        if (!Number.isNaN(want)) values++;
      });
      decoded++;
    }
    // Of the 135,468 frames (all buses, logger-sent ones included), 58,904 carry an id the DBC defines,
    // giving 337,635 present signal values (counted when this test was written; a change means the parser
    // or the length checks now see a different set of messages or signals).
    assert.equal(decoded, 58_904);
    assert.equal(values, 337_635);
  });
});
