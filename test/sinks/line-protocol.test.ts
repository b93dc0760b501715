/**
 * Line protocol encoder: exact lines for known inputs, and properties checked by parsing the output back
 * with the test-local reader in sink-contract.ts (InfluxDB 1.x grammar). The same escaping is proven
 * against a real influxd in influx-sink.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import fc from 'fast-check';

import {
  encodePoint,
  formatFloat,
  MAX_TIME_NS,
  MIN_TIME_NS,
  normalizeIdentifier,
  toLineProtocol,
} from '../../src/sinks/line-protocol.ts';
import type { FieldValue, Point } from '../../src/sinks/point.ts';
import { parseLine, setOwn, splitLines } from './sink-contract.ts';

const pt = (
  measurement: string,
  tags: Record<string, string>,
  fields: Record<string, FieldValue>,
  timeNs = 1n,
): Point => ({ measurement, tags, fields, timeNs });

const line = (p: Point): string => {
  const r = encodePoint(p);
  assert.ok(r.ok, r.ok ? '' : r.reason);
  return r.line;
};

const reason = (p: Point): string => {
  const r = encodePoint(p);
  assert.ok(!r.ok, 'expected a rejection');
  return r.reason;
};

describe('line protocol: exact output', () => {
  it('writes measurement, sorted tags, fields and the ns timestamp', () => {
    assert.equal(
      line(pt('cpu', { region: 'eu', host: 'a' }, { v: 1.5 }, 1_768_424_400_123_456_789n)),
      'cpu,host=a,region=eu v=1.5 1768424400123456789',
    );
    assert.equal(line(pt('m', { b: '1', a: '2', B: '3' }, { x: true })), 'm,B=3,a=2,b=1 x=true 1');
  });

  it('sorts tag keys in code-point (UTF-8 byte) order, not UTF-16 order', () => {
    // UTF-16 puts U+1F600 (a surrogate pair, 0xD83D…) before U+FF01; UTF-8 bytes put it after.
    assert.equal(line(pt('m', { '😀': 'y', '！': 'x' }, { v: 1 })), 'm,！=x,😀=y v=1 1');
  });

  it('escapes commas and spaces in measurements, and commas, equals and spaces in keys and tag values', () => {
    assert.equal(line(pt('my meas,ure=x', {}, { v: 1 })), 'my\\ meas\\,ure=x v=1 1');
    assert.equal(line(pt('m', { 'k ,=': 'v ,=' }, { 'f ,=': 1 })), 'm,k\\ \\,\\==v\\ \\,\\= f\\ \\,\\==1 1');
    assert.equal(line(pt('m"#', { 'k"': 'v"' }, { 'f"': 1 })), 'm"#,k"=v" f"=1 1');
  });

  it('quotes strings, escaping double quotes and backslashes only', () => {
    assert.equal(line(pt('m', {}, { s: 'say "hi" \\ bye' })), 'm s="say \\"hi\\" \\\\ bye" 1');
    assert.equal(line(pt('m', {}, { s: '' })), 'm s="" 1');
    // A newline stays inside the quoted value: still one line for InfluxDB.
    const l = line(pt('m', {}, { s: 'a\nb', t: 1 }));
    assert.equal(l, 'm s="a\nb",t=1 1');
    assert.equal(splitLines(`${l}\n${l}`).length, 2);
  });

  it('writes integers with i, floats in shortest round-trip form, and booleans', () => {
    assert.equal(line(pt('m', {}, { i: 42n })), 'm i=42i 1');
    assert.equal(line(pt('m', {}, { i: -(2n ** 63n) })), 'm i=-9223372036854775808i 1');
    assert.equal(line(pt('m', {}, { i: 2n ** 63n - 1n })), 'm i=9223372036854775807i 1');
    for (const [v, text] of [
      [3, '3'],
      [-0, '-0'],
      [0.1, '0.1'],
      [1e21, '1e+21'],
      [1.5e-7, '1.5e-7'],
      [5e-324, '5e-324'],
      [-1.7976931348623157e308, '-1.7976931348623157e+308'],
    ] as const) {
      assert.equal(line(pt('m', {}, { v })), `m v=${text} 1`);
    }
    assert.equal(line(pt('m', {}, { a: true, b: false })), 'm a=true,b=false 1');
  });

  it('omits non-finite floats and out-of-range integers, and reports them', () => {
    const r = encodePoint(pt('m', {}, { a: Number.NaN, b: 1, c: Number.NEGATIVE_INFINITY, d: 2n ** 63n }));
    assert.ok(r.ok);
    assert.equal(r.line, 'm b=1 1');
    assert.deepEqual(r.omittedFields, ['a', 'c', 'd']);
  });

  it('rejects what cannot be written, with a reason (toLineProtocol gives null)', () => {
    assert.equal(reason(pt('m', {}, { a: Number.NaN })), 'no representable field');
    assert.equal(toLineProtocol(pt('m', {}, { a: Number.NaN })), null);
    assert.equal(reason(pt('m', {}, {})), 'no fields');
    assert.equal(reason(pt('', {}, { v: 1 })), 'empty measurement');
    assert.equal(reason(pt('\\', {}, { v: 1 })), 'empty measurement');
    assert.equal(reason(pt('#comment', {}, { v: 1 })), "measurement starts with '#'");
    assert.equal(reason(pt('m', { '': 'x' }, { v: 1 })), 'empty tag key');
    assert.equal(reason(pt('m', {}, { '': 1 })), 'empty field key');
    assert.equal(reason(pt('m', { a: 'x', 'a\\': 'y' }, { v: 1 })), 'duplicate tag key after normalisation');
    assert.equal(reason(pt('m', {}, { f: 1, 'f\\': 2 })), 'duplicate field key after normalisation');
    assert.equal(reason(pt('m', {}, { v: 1 }, MAX_TIME_NS + 1n)), 'timestamp out of range');
    assert.equal(reason(pt('m', {}, { v: 1 }, MIN_TIME_NS - 1n)), 'timestamp out of range');
    assert.equal(line(pt('m', {}, { v: 1 }, MAX_TIME_NS)), 'm v=1 9223372036854775806');
    assert.equal(line(pt('m', {}, { v: 1 }, MIN_TIME_NS)), 'm v=1 -9223372036854775806');
    assert.equal(toLineProtocol(pt('m#', {}, { v: 1 })), 'm# v=1 1');
  });

  it('leaves out tags with an empty value (InfluxDB treats them as absent)', () => {
    assert.equal(line(pt('m', { a: '', b: 'x' }, { v: 1 })), 'm,b=x v=1 1');
  });

  it('normalises what identifiers cannot carry: newlines, and backslashes before separators or at the end', () => {
    assert.equal(line(pt('m', { t: 'a\nb\r' }, { v: 1 })), 'm,t=a\\nb\\r v=1 1');
    assert.equal(line(pt('m\n', {}, { v: 1 })), 'm\\n v=1 1');
    assert.equal(line(pt('m', { path: 'C:\\dir\\' }, { v: 1 })), 'm,path=C:\\dir v=1 1');
    assert.equal(line(pt('m', { t: 'a\\,b' }, { v: 1 })), 'm,t=a\\,b v=1 1'); // stored as "a,b"
    assert.equal(line(pt('m\\"x', {}, { 'f\\\\=g': 1 })), 'm"x f\\=g=1 1');
    assert.equal(normalizeIdentifier('a\\b\\\\c'), 'a\\b\\\\c', 'backslashes elsewhere are kept');
  });
});

// ---------------------------------------------------------------------------------------------------
// Properties

const special = fc.constantFrom(
  ',',
  ' ',
  '=',
  '"',
  "'",
  '\\',
  '\n',
  '\r',
  '\t',
  '#',
  '\u0000',
  'é',
  '漢',
  '🚗',
);
const anyChar = fc.oneof(special, fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }));
const ident = fc.string({ unit: anyChar, minLength: 1, maxLength: 12 });
const plainIdent = fc
  .string({ unit: anyChar, minLength: 1, maxLength: 12 })
  .filter((s) => !/[\\\n\r]/.test(s));
const fieldValue: fc.Arbitrary<FieldValue> = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
  fc.boolean(),
  fc.string({ unit: anyChar, maxLength: 20 }),
);
const timeNs = fc.bigInt({ min: MIN_TIME_NS, max: MAX_TIME_NS });

const pointArb = (name: fc.Arbitrary<string>): fc.Arbitrary<Point> =>
  fc.record({
    measurement: name.filter((m) => !normalizeIdentifier(m).startsWith('#') && normalizeIdentifier(m) !== ''),
    tags: fc.dictionary(name, name, { maxKeys: 4 }),
    fields: fc.dictionary(name, fieldValue, { minKeys: 1, maxKeys: 4 }),
    timeNs,
  });

/** What the reader must find: normalised names, empty-valued tags left out, values unchanged. */
function expectedOf(p: Point): Point {
  const tags: Record<string, string> = {};
  for (const [k, v] of Object.entries(p.tags)) {
    if (normalizeIdentifier(v) !== '') setOwn(tags, normalizeIdentifier(k), normalizeIdentifier(v));
  }
  const fields: Record<string, FieldValue> = {};
  for (const [k, v] of Object.entries(p.fields)) setOwn(fields, normalizeIdentifier(k), v);
  return { measurement: normalizeIdentifier(p.measurement), tags, fields, timeNs: p.timeNs };
}

function normalisedKeysDistinct(p: Point): boolean {
  const tagKeys = Object.keys(p.tags).map(normalizeIdentifier);
  const fieldKeys = Object.keys(p.fields).map(normalizeIdentifier);
  return (
    !tagKeys.includes('') &&
    !fieldKeys.includes('') &&
    new Set(tagKeys).size === tagKeys.length &&
    new Set(fieldKeys).size === fieldKeys.length
  );
}

function assertParsesBack(p: Point): void {
  const r = encodePoint(p);
  assert.ok(r.ok, r.ok ? '' : r.reason);
  assert.equal(splitLines(r.line).length, 1, 'one line for InfluxDB');
  const back = parseLine(r.line);
  const want = expectedOf(p);
  assert.equal(back.measurement, want.measurement);
  assert.deepEqual(back.tags, want.tags);
  assert.equal(back.timeNs, want.timeNs);
  assert.deepEqual(Object.keys(back.fields).sort(), Object.keys(want.fields).sort());
  for (const [k, v] of Object.entries(want.fields)) {
    const got = back.fields[k];
    assert.ok(
      typeof v === 'number' ? Object.is(got, v) : got === v,
      `field ${k}: ${String(got)} vs ${String(v)}`,
    );
  }
}

describe('line protocol: properties', () => {
  it('any point parses back to its normalised names and exact values, on one line', () => {
    fc.assert(
      fc.property(pointArb(ident), (p) => {
        fc.pre(normalisedKeysDistinct(p));
        assertParsesBack(p);
      }),
      { numRuns: 2000 },
    );
  });

  it('names without backslashes or line breaks round-trip unchanged', () => {
    fc.assert(
      fc.property(pointArb(plainIdent), (p) => {
        fc.pre(normalisedKeysDistinct(p));
        assert.deepEqual(
          expectedOf(p).tags,
          Object.fromEntries(Object.entries(p.tags).filter(([, v]) => v !== '')),
        );
        assert.equal(expectedOf(p).measurement, p.measurement);
        assertParsesBack(p);
      }),
      { numRuns: 1000 },
    );
  });

  it('normalisation is idempotent and leaves nothing the parser cannot carry', () => {
    fc.assert(
      fc.property(ident, (s) => {
        const n = normalizeIdentifier(s);
        assert.equal(normalizeIdentifier(n), n);
        assert.ok(!/[\n\r]/.test(n));
        assert.ok(!/\\(?=[,= "]|$)/.test(n));
      }),
      { numRuns: 2000 },
    );
  });

  it('floats, int64 integers and timestamps survive exactly', () => {
    fc.assert(
      fc.property(
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
        timeNs,
        (f, i, t) => {
          const back = parseLine(line(pt('m', {}, { f, i }, t)));
          assert.ok(Object.is(back.fields['f'], f), `${formatFloat(f)} -> ${String(back.fields['f'])}`);
          assert.equal(back.fields['i'], i);
          assert.equal(back.timeNs, t);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('a batch joined with newlines splits back into the same points', () => {
    fc.assert(
      fc.property(fc.array(pointArb(ident), { minLength: 1, maxLength: 20 }), (points) => {
        const ok = points.filter(normalisedKeysDistinct);
        const lines = ok.map(line);
        const split = splitLines(lines.join('\n'));
        assert.deepEqual(split, lines);
      }),
      { numRuns: 300 },
    );
  });
});
