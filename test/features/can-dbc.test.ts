import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { DbcParseError, parseDbc, signalLastByte, splitDbcId } from '../../src/streams/features/can/dbc.ts';
import type { DbcDatabase, DbcSignal } from '../../src/streams/features/can/dbc.ts';
import { SHARED_SKIP, shared } from '../readers/shared-data.ts';

const FIX = new URL('../fixtures/can/', import.meta.url);
const syntheticText = readFileSync(new URL('synthetic.dbc', FIX), 'utf8');

function sig(db: DbcDatabase, m: string, s: string): DbcSignal {
  const found = db.byName.get(m)?.signals.find((x) => x.name === s);
  assert.ok(found, `${m}.${s} missing`);
  return found;
}

/** The parse error for `text`; fails the test if it parses. */
function parseError(text: string): DbcParseError {
  try {
    parseDbc(text, { source: 't.dbc' });
  } catch (e) {
    assert.ok(e instanceof DbcParseError, `expected DbcParseError, got ${String(e)}`);
    return e;
  }
  assert.fail(`expected a parse error for:\n${text}`);
}

describe('DBC parser: the synthetic fixture', () => {
  const db = parseDbc(syntheticText, { source: 'synthetic.dbc' });

  test('header, nodes, messages, ids, the pseudo message dropped', () => {
    assert.equal(db.version, '1.0 drivesense test');
    assert.deepEqual(db.nodes, ['ECU1', 'ECU2']);
    assert.deepEqual(
      db.messages.map((m) => [m.name, m.id, m.extended, m.size, m.transmitter]),
      [
        ['INTEL_MSG', 256, false, 8, 'ECU1'],
        ['MOTO_MSG', 257, false, 8, 'ECU1'],
        ['EXT_MUX', 0x18fef115, true, 8, 'ECU2'],
        ['WIDE', 512, false, 8, 'ECU1'],
        ['WIDE_M', 513, false, 8, 'ECU1'],
        ['WIDE53', 516, false, 8, 'ECU1'],
        ['FLOATS', 514, false, 8, 'ECU1'],
        ['FLOAT64', 515, false, 8, 'ECU1'],
        ['XMUX', 600, false, 2, 'ECU1'],
      ],
    );
    assert.equal(db.byName.has('VECTOR__INDEPENDENT_SIG_MSG'), false);
  });

  test('signal fields: byte order, sign, factor/offset, limits, unit, receivers', () => {
    assert.deepEqual(
      (({ startBit, length, byteOrder, signed, factor, offset, minimum, maximum, unit, receivers }) => ({
        startBit,
        length,
        byteOrder,
        signed,
        factor,
        offset,
        minimum,
        maximum,
        unit,
        receivers,
      }))(sig(db, 'INTEL_MSG', 'U12')),
      {
        startBit: 4,
        length: 12,
        byteOrder: 'intel',
        signed: false,
        factor: 0.5,
        offset: -10,
        minimum: -10,
        maximum: 2037.5,
        unit: 'km/h',
        receivers: ['ECU2'],
      },
    );
    const m12 = sig(db, 'MOTO_MSG', 'M12');
    assert.deepEqual([m12.byteOrder, m12.signed, m12.factor], ['motorola', true, 1.5]);
    assert.deepEqual(sig(db, 'INTEL_MSG', 'FLAG').receivers, ['ECU2', 'ECU1']);
    assert.equal(sig(db, 'WIDE', 'U64').maximum, 1.8446744073709552e19);
  });

  test('comments (multi-line, escaped quotes), value tables, float value types', () => {
    assert.equal(db.comment, 'synthetic database for the decoder tests');
    assert.equal(
      db.byName.get('INTEL_MSG')!.comment,
      'Intel message,\ncomment over two lines; with a semicolon',
    );
    assert.equal(sig(db, 'MOTO_MSG', 'M12').comment, 'big-endian, signed; "quoted"');
    assert.deepEqual(
      [...sig(db, 'INTEL_MSG', 'FLAG').valueTable!],
      [
        [0, 'off'],
        [1, 'on'],
      ],
    );
    assert.deepEqual(
      [...sig(db, 'EXT_MUX', 'MUX').valueTable!],
      [
        [0, 'page A'],
        [1, 'page B'],
      ],
    );
    assert.equal(sig(db, 'FLOATS', 'F32').valueType, 'float32');
    assert.equal(sig(db, 'FLOATS', 'F32B').valueType, 'float32');
    assert.equal(sig(db, 'FLOAT64', 'F64').valueType, 'float64');
    assert.equal(sig(db, 'WIDE', 'U64').valueType, 'integer');
  });

  test('multiplexing: M / mN, and mNM with SG_MUL_VAL_ ranges', () => {
    assert.equal(sig(db, 'EXT_MUX', 'MUX').isMultiplexer, true);
    assert.deepEqual(sig(db, 'EXT_MUX', 'A').multiplexedBy, {
      switchName: 'MUX',
      ranges: [{ lo: 0, hi: 0 }],
    });
    assert.deepEqual(sig(db, 'EXT_MUX', 'B').multiplexedBy, {
      switchName: 'MUX',
      ranges: [{ lo: 1, hi: 1 }],
    });
    assert.equal(sig(db, 'EXT_MUX', 'ALWAYS').multiplexedBy, undefined);
    const sw2 = sig(db, 'XMUX', 'SW2');
    assert.equal(sw2.isMultiplexer, true);
    assert.deepEqual(sw2.multiplexedBy, { switchName: 'SW1', ranges: [{ lo: 1, hi: 1 }] });
    assert.deepEqual(sig(db, 'XMUX', 'X').multiplexedBy, {
      switchName: 'SW2',
      ranges: [
        { lo: 2, hi: 3 },
        { lo: 5, hi: 5 },
      ],
    });
  });

  test('skipped statements are counted, the unknown line is reported with its number', () => {
    assert.deepEqual(db.skipped, { NS_: 1, BS_: 1, 'CM_ BU_': 1, BA_DEF_: 1, BA_DEF_DEF_: 1, BA_: 1 });
    const lines = syntheticText.split('\n');
    const bogus = lines.indexOf('BOGUS_STATEMENT 1 2 3') + 1;
    assert.deepEqual(db.diagnostics, [
      { line: bogus, kind: 'unknown', message: 'unknown statement: BOGUS_STATEMENT 1 2 3' },
    ]);
  });

  test('frozen output', () => {
    assert.ok(
      Object.isFrozen(db.messages) &&
        Object.isFrozen(db.messages[0]) &&
        Object.isFrozen(db.messages[0]!.signals[0]),
    );
  });
});

describe('DBC parser: errors carry line numbers', () => {
  const head = 'VERSION ""\n\nBO_ 100 M: 8 X\n';
  const cases: [string, string, number, RegExp][] = [
    ['bad byte order', `${head} SG_ S : 0|8@2+ (1,0) [0|0] "" X\n`, 4, /byte order\/sign "2\+"/],
    ['length 0', `${head} SG_ S : 0|0@1+ (1,0) [0|0] "" X\n`, 4, /length must be 1\.\.64/],
    ['length 65', `${head} SG_ S : 0|65@1+ (1,0) [0|0] "" X\n`, 4, /signal length 65 exceeds 64/],
    ['missing factor', `${head} SG_ S : 0|8@1+ (,0) [0|0] "" X\n`, 4, /expected the factor/],
    ['non-numeric offset', `${head} SG_ S : 0|8@1+ (1,abc) [0|0] "" X\n`, 4, /offset must be a number/],
    ['unterminated unit', `${head} SG_ S : 0|8@1+ (1,0) [0|0] "deg X\n`, 4, /unterminated string/],
    ['bad mux indicator', `${head} SG_ S x3 : 0|8@1+ (1,0) [0|0] "" X\n`, 4, /multiplex indicator "x3"/],
    ['SG_ before any BO_', 'VERSION ""\n SG_ S : 0|8@1+ (1,0) [0|0] "" X\n', 2, /outside a message/],
    ['negative id', 'BO_ -5 M: 8 X\n', 1, /message id must be a non-negative integer/],
    ['id above 32 bits', 'BO_ 4294967296 M: 8 X\n', 1, /exceeds 4294967295/],
    [
      'duplicate id',
      'BO_ 1 A: 8 X\nBO_ 1 B: 8 X\n',
      2,
      /duplicate message id 1 \(B; first defined as A on line 1\)/,
    ],
    [
      'duplicate signal',
      `${head} SG_ S : 0|8@1+ (1,0) [0|0] "" X\n SG_ S : 8|8@1+ (1,0) [0|0] "" X\n`,
      5,
      /duplicate signal S/,
    ],
    ['Motorola past byte 63', `${head} SG_ S : 511|16@0+ (1,0) [0|0] "" X\n`, 4, /runs past byte 63/],
    ['mN without a switch', `${head} SG_ S m1 : 0|8@1+ (1,0) [0|0] "" X\n`, 4, /no multiplexer switch/],
    [
      'two switches, no SG_MUL_VAL_',
      `${head} SG_ A M : 0|4@1+ (1,0) [0|0] "" X\n SG_ B M : 4|4@1+ (1,0) [0|0] "" X\n SG_ C m1 : 8|8@1+ (1,0) [0|0] "" X\n`,
      6,
      /2 multiplexer switches/,
    ],
    ['CM_ without ;', `${head}\nCM_ "never ends\n\nBO_ 2 N: 8 X\n`, 5, /no terminating ";"/],
    ['CM_ of an unknown kind', `${head}CM_ XX_ 1 "c";\n`, 4, /CM_ must comment/],
    [
      'float type on a 16-bit signal',
      `${head} SG_ S : 0|16@1+ (1,0) [0|0] "" X\nSIG_VALTYPE_ 100 S : 1;\n`,
      5,
      /float32 needs 32/,
    ],
    [
      'VAL_ with a non-integer value',
      `${head} SG_ S : 0|8@1+ (1,0) [0|0] "" X\nVAL_ 100 S 1.5 "a";\n`,
      5,
      /expected a value in VAL_/,
    ],
    [
      'SG_MUL_VAL_ naming a non-switch',
      `${head} SG_ A M : 0|4@1+ (1,0) [0|0] "" X\n SG_ B m1 : 8|8@1+ (1,0) [0|0] "" X\nSG_MUL_VAL_ 100 B NOPE 1-1;\n`,
      6,
      /NOPE is not a multiplexer switch/,
    ],
    ['VERSION without a string', 'VERSION 1\n', 1, /expected the version/],
  ];
  for (const [name, text, line, re] of cases) {
    test(name, () => {
      const e = parseError(text);
      assert.equal(e.line, line, `line of: ${e.message}`);
      assert.match(e.message, re);
      assert.ok(e.message.startsWith(`t.dbc:${line}: `), e.message);
    });
  }

  test('warnings, not errors: dangling references, signal past the declared size, big standard id', () => {
    const db = parseDbc(
      [
        'BO_ 100 M: 2 X',
        ' SG_ S : 8|16@1+ (1,0) [0|0] "" X',
        'BO_ 4000 BIG: 8 X',
        'CM_ SG_ 100 NOPE "c";',
        'VAL_ 999 S 1 "a";',
        'CM_ BO_ 7 "c";',
      ].join('\n'),
    );
    assert.deepEqual(
      db.diagnostics.map((d) => [d.line, d.kind]),
      [
        [2, 'warning'],
        [3, 'warning'],
        [4, 'warning'],
        [5, 'warning'],
        [6, 'warning'],
      ],
    );
    assert.match(db.diagnostics[0]!.message, /needs 3 bytes but the message declares 2/);
    assert.match(db.diagnostics[1]!.message, /standard id 0xfa0 exceeds 0x7FF/);
  });

  test('tolerant syntax: no space before ":", CRLF, optional transmitter, text after ";" on a line', () => {
    const db = parseDbc('BO_ 5 M:8\r\n SG_ S: 0|8@1+ (1,0) [0|0] ""\r\nCM_ BO_ 5 "a"; CM_ SG_ 5 S "b";\r\n');
    const m = db.byName.get('M')!;
    assert.deepEqual(
      [m.size, m.transmitter, m.comment, m.signals[0]!.comment, m.signals[0]!.receivers],
      [8, '', 'a', 'b', []],
    );
    assert.deepEqual(db.diagnostics, []);
  });

  test('helpers', () => {
    assert.deepEqual(splitDbcId(0x80000123), { id: 0x123, extended: true, pseudo: false });
    assert.deepEqual(splitDbcId(0xc0000000), { id: 0, extended: true, pseudo: true });
    // Motorola 7|16: bytes 0..1 → last byte 1. Motorola 0|2: bit 0 of byte 0, then bit 7 of byte 1.
    assert.equal(signalLastByte('motorola', 7, 16), 1);
    assert.equal(signalLastByte('motorola', 0, 2), 1);
    assert.equal(signalLastByte('intel', 60, 4), 7);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Fuzzing
// ---------------------------------------------------------------------------------------------------------

const ident = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,12}$/);
const num = fc.oneof(
  fc.integer({ min: -100000, max: 100000 }),
  fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true }).filter((x) => !Object.is(x, -0)),
);

const signalSpec = fc
  .record({
    name: ident,
    startBit: fc.integer({ min: 0, max: 63 }),
    length: fc.integer({ min: 1, max: 64 }),
    intel: fc.boolean(),
    signed: fc.boolean(),
    factor: num,
    offset: num,
    minimum: num,
    maximum: num,
    unit: fc.stringMatching(/^[A-Za-z%/°^0-9 ]{0,8}$/),
    receivers: fc.array(ident, { maxLength: 3 }),
  })
  .filter((s) =>
    s.intel ? s.startBit + s.length <= 64 : (s.startBit & ~7) + 7 - (s.startBit & 7) + s.length <= 64,
  );

const messageSpec = fc.record({
  id: fc.integer({ min: 0, max: 0x7ff }),
  extended: fc.boolean(),
  name: ident,
  signals: fc.uniqueArray(signalSpec, { selector: (s) => s.name, maxLength: 6 }),
  ws: fc.constantFrom(' ', '  ', '\t'),
});

describe('DBC parser: fuzz', () => {
  test('round trip: generated DBC text parses back to the same definitions', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(messageSpec, { selector: (m) => `${m.extended}${m.id}`, maxLength: 5 }),
        (msgs) => {
          const names = new Set<string>();
          const unique = msgs.filter((m) => !names.has(m.name) && names.add(m.name));
          const text = [
            'VERSION ""',
            'NS_ :',
            '    CM_',
            'BS_:',
            'BU_: A',
            ...unique.flatMap((m) => [
              `BO_${m.ws}${m.extended ? m.id + 0x80000000 : m.id} ${m.name}: 8 A`,
              ...m.signals.map(
                (s) =>
                  `${m.ws}SG_ ${s.name} : ${s.startBit}|${s.length}@${s.intel ? 1 : 0}${s.signed ? '-' : '+'}${m.ws}(${s.factor},${s.offset}) [${s.minimum}|${s.maximum}] "${s.unit}" ${s.receivers.join(',')}`,
              ),
              '',
            ]),
          ].join('\n');
          const db = parseDbc(text);
          assert.deepEqual(
            db.messages.map((m) => [
              m.name,
              m.id,
              m.extended,
              m.signals.map((s) => [
                s.name,
                s.startBit,
                s.length,
                s.byteOrder,
                s.signed,
                s.factor,
                s.offset,
                s.minimum,
                s.maximum,
                s.unit,
                s.receivers,
              ]),
            ]),
            unique.map((m) => [
              m.name,
              m.id,
              m.extended,
              m.signals.map((s) => [
                s.name,
                s.startBit,
                s.length,
                s.intel ? 'intel' : 'motorola',
                s.signed,
                s.factor,
                s.offset,
                s.minimum,
                s.maximum,
                s.unit,
                s.receivers,
              ]),
            ]),
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  test('arbitrary input: a database or a DbcParseError, nothing else, never a hang', () => {
    const tokens = fc.constantFrom(
      'BO_',
      'SG_',
      'CM_',
      'VAL_',
      'BA_',
      'NS_',
      'BU_:',
      'VERSION',
      'SIG_VALTYPE_',
      'SG_MUL_VAL_',
      'M',
      'm1',
      'm2M',
      ':',
      ';',
      '|',
      '@',
      '(',
      ')',
      '[',
      ']',
      ',',
      '"',
      '"x"',
      '0',
      '8',
      '1+',
      '0-',
      '12',
      '255',
      '-1',
      '1.5',
      'X',
      '\n',
      ' ',
      '\\',
    );
    const texts = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.array(tokens, { maxLength: 60 }).map((t) => t.join(' ')),
      fc.array(tokens, { maxLength: 60 }).map((t) => `BO_ 1 M: 8 X\n SG_ S : ${t.join('')}`),
      fc
        .nat({ max: syntheticText.length })
        .chain((cut) =>
          fc
            .string({ maxLength: 20 })
            .map((junk) => syntheticText.slice(0, cut) + junk + syntheticText.slice(cut + 1)),
        ),
    );
    fc.assert(
      fc.property(texts, (text) => {
        try {
          parseDbc(text);
        } catch (e) {
          if (!(e instanceof DbcParseError)) throw e;
          assert.ok(e.line >= 1 && e.line <= text.split('\n').length + 1, `line ${e.line} out of range`);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('DBC parser: the real RAV4 DBC (opendbc)', { skip: SHARED_SKIP }, () => {
  test('58 messages, 353 signals, nothing unknown; known signals as opendbc defines them', () => {
    const db = parseDbc(readFileSync(shared('can/dbc/toyota_new_mc_pt_generated.dbc'), 'utf8'));
    assert.equal(db.messages.length, 58);
    assert.equal(
      db.messages.reduce((a, m) => a + m.signals.length, 0),
      353,
    );
    assert.deepEqual(db.diagnostics, []);
    const sa = sig(db, 'STEER_ANGLE_SENSOR', 'STEER_ANGLE');
    assert.deepEqual(
      [sa.startBit, sa.length, sa.byteOrder, sa.signed, sa.factor, sa.unit],
      [3, 12, 'motorola', true, 1.5, 'deg'],
    );
    assert.equal(sig(db, 'STEER_ANGLE_SENSOR', 'STEER_RATE').comment, 'factor is tbd');
    assert.deepEqual(
      [...sig(db, 'GEAR_PACKET', 'GEAR').valueTable!.entries()],
      [
        [0, 'D'],
        [1, 'S'],
        [8, 'N'],
        [16, 'R'],
        [32, 'P'],
      ],
    );
    // The file's four database-level CM_ "…"; lines, joined.
    assert.equal(
      db.comment,
      [
        'AUTOGENERATED FILE, DO NOT EDIT',
        'Imported file _toyota_2017.dbc starts here',
        'Imported file _toyota_adas_standard.dbc starts here',
        'toyota_new_mc_pt.dbc starts here',
      ].join('\n'),
    );
  });
});
