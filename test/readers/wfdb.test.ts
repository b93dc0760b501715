import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  AAMI_BEAT_SYMBOLS,
  ANNOTATION_SYMBOLS,
  aamiClass,
  annotationSymbol,
  decodeMitAnnotations,
  decodeWfdbSamples,
  decodeWfdbSignals,
  encodeMitAnnotations,
  encodeWfdbRecord,
  encodeWfdbSamples,
  formatWfdbHeader,
  parseWfdbHeader,
  readAnnotationFile,
  readWfdbHeaderFile,
  readWfdbRecordFile,
  wfdbChecksum,
} from '../../src/streams/readers/wfdb.ts';
import type { WfdbAnnotationInput, WfdbHeader } from '../../src/streams/readers/wfdb.ts';
import { SHARED_SKIP, fixture, shared } from './shared-data.ts';

/** Asserts `fn` throws an Error whose message starts with `prefix` (a reader's own clear error). */
function assertReaderError(fn: () => unknown, prefix: RegExp, what?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof Error, `threw a non-Error: ${String(e)}`);
    assert.match(e.message, prefix);
    if (what) assert.match(e.message, what);
    return true;
  });
}

function bytesMap(name: string, bytes: Uint8Array): Map<string, Uint8Array> {
  return new Map([[name, bytes]]);
}

describe('WFDB header', () => {
  test('parses the MIT-BIH 100 fixture header (format 212, defaults from the ADC zero)', async () => {
    const h = await readWfdbHeaderFile(fixture('mitdb100-6s.hea'));
    assert.equal(h.recordName, 'mitdb100-6s');
    assert.equal(h.frameRateHz, 360);
    assert.equal(h.frameCount, 2160);
    assert.equal(h.counterFrequencyHz, undefined);
    assert.deepEqual(
      h.signals.map((s) => [
        s.description,
        s.format,
        s.adcGain,
        s.baseline,
        s.units,
        s.adcResolution,
        s.adcZero,
        s.initialValue,
      ]),
      [
        ['MLII', 212, 200, 1024, 'mV', 11, 1024, 995],
        ['V5', 212, 200, 1024, 'mV', 11, 1024, 1011],
      ],
    );
    assert.deepEqual(h.comments.slice(0, 2), ['69 M 1085 1629 x1', 'Aldomet, Inderal']);
  });

  test('parses multi-rate drivedb signal specs (16x32, 1/bpm, descriptions with spaces)', async () => {
    const h = await readWfdbHeaderFile(fixture('drive05-2s.hea'));
    assert.equal(h.frameRateHz, 15.5);
    assert.deepEqual(
      h.signals.map((s) => [s.description, s.samplesPerFrame, s.rateHz, s.adcGain, s.units]),
      [
        ['ECG', 32, 496, 1000, 'mV'],
        ['EMG', 1, 15.5, 1000, 'mV'],
        ['foot GSR', 2, 31, 1000, 'mV'],
        ['hand GSR', 2, 31, 1000, 'mV'],
        ['HR', 1, 15.5, 1, 'bpm'],
        ['marker', 1, 15.5, 100, 'mV'],
        ['RESP', 2, 31, 100, 'mV'],
      ],
    );
  });

  test('record line: counter frequency, base counter, base time and date; CRLF; blank lines', () => {
    const h = parseWfdbHeader(
      '# leading comment\r\nrec 1 250/360(12.5) 1000 13:45:07.250 25/12/2001\r\n\r\nrec.dat 212 200(-3)/uV 12 0 5 7 0  lead  II  \r\n',
    );
    assert.equal(h.frameRateHz, 250);
    assert.equal(h.counterFrequencyHz, 360);
    assert.equal(h.baseCounter, 12.5);
    assert.equal(h.frameCount, 1000);
    assert.equal(h.baseTime, '13:45:07.250');
    assert.equal(h.baseDate, '25/12/2001');
    const s = h.signals[0]!;
    assert.equal(s.baseline, -3);
    assert.equal(s.units, 'uV');
    assert.equal(s.description, 'lead  II');
    assert.deepEqual(h.comments, ['leading comment']);
  });

  test('defaults: frequency 250, gain 0 = uncalibrated 200, resolution by format, unknown sample count', () => {
    const h = parseWfdbHeader('r 3\nr.dat 212\nr.dat 16 0\nr.dat 16x4 7(2)\n');
    assert.equal(h.frameRateHz, 250);
    assert.equal(h.frameCount, undefined);
    const [a, b, c] = h.signals;
    assert.deepEqual(
      [a!.adcGain, a!.calibrated, a!.adcResolution, a!.units, a!.baseline],
      [200, false, 12, 'mV', 0],
    );
    assert.deepEqual([b!.adcGain, b!.calibrated, b!.adcResolution], [200, false, 16]);
    assert.deepEqual([c!.adcGain, c!.baseline, c!.rateHz, c!.checksum], [7, 2, 1000, undefined]);
  });

  test('rejects malformed and unsupported headers with the line number', () => {
    assertReaderError(() => parseWfdbHeader(''), /^WFDB header/, /no record line/);
    assertReaderError(() => parseWfdbHeader('r/3 2 250\n'), /^WFDB header line 1/, /multi-segment/);
    assertReaderError(() => parseWfdbHeader('r 2 250\nr.dat 16\n'), /^WFDB header/, /2 signals, found 1/);
    assertReaderError(() => parseWfdbHeader('r x 250\n'), /^WFDB header line 1/, /signal count/);
    assertReaderError(() => parseWfdbHeader('r 1 -5\nr.dat 16\n'), /line 1/, /must be > 0/);
    assertReaderError(() => parseWfdbHeader('r 1 250 10 noon\nr.dat 16\n'), /line 1/, /base time/);
    assertReaderError(() => parseWfdbHeader('r 1 250\n\nr.dat 16y2\n'), /^WFDB header line 3/, /format/);
    assertReaderError(() => parseWfdbHeader('r 1 250\nr.dat 16x0\n'), /line 2/, /samples per frame/);
    assertReaderError(() => parseWfdbHeader('r 1 250\nr.dat 16 abc\n'), /line 2/, /ADC gain/);
    assertReaderError(() => parseWfdbHeader('r 1 250\nr.dat 16 200(x)\n'), /line 2/, /baseline/);
    assertReaderError(() => parseWfdbHeader('r 1 250\nr.dat 16 200/\n'), /line 2/, /units/);
    assertReaderError(() => parseWfdbHeader('r 1 250\nr.dat 16 200 16 0 0 99999\n'), /line 2/, /checksum/);
  });

  test('format → parse round trip (property)', () => {
    const spec = fc.record({
      format: fc.constantFrom(16, 212),
      samplesPerFrame: fc.integer({ min: 1, max: 64 }),
      byteOffset: fc.constantFrom(0, 0, 24),
      adcGain: fc.oneof(fc.integer({ min: 1, max: 100000 }), fc.constantFrom(0.5, 12.75, 1e-3)),
      calibrated: fc.boolean(),
      baselineDelta: fc.integer({ min: -2000, max: 2000 }),
      units: fc.constantFrom('mV', 'uV', 'bpm', 'mmHg', '%'),
      adcZero: fc.integer({ min: -2048, max: 2047 }),
      description: fc.constantFrom('', 'ECG', 'foot GSR', 'lead II (chest)'),
    });
    fc.assert(
      fc.property(
        fc.array(spec, { minLength: 0, maxLength: 6 }),
        fc.constantFrom(360, 15.5, 250, 1000, 0.25),
        fc.option(fc.integer({ min: 1, max: 1e9 }), { nil: undefined }),
        (specs, rate, frameCount) => {
          const h: WfdbHeader = {
            recordName: 'rec',
            frameRateHz: rate,
            counterFrequencyHz: undefined,
            baseCounter: undefined,
            frameCount,
            baseTime: undefined,
            baseDate: undefined,
            comments: ['made by a property test'],
            signals: specs.map((s) => ({
              fileName: 'rec.dat',
              format: s.format,
              samplesPerFrame: s.samplesPerFrame,
              skew: 0,
              byteOffset: s.byteOffset,
              adcGain: s.calibrated ? s.adcGain || 1 : 200,
              calibrated: s.calibrated,
              baseline: s.adcZero + s.baselineDelta,
              units: s.units,
              adcResolution: s.format === 212 ? 12 : 16,
              adcZero: s.adcZero,
              initialValue: 3,
              checksum: -17,
              blockSize: 0,
              description: s.description,
              rateHz: rate * s.samplesPerFrame,
            })),
          };
          assert.deepEqual(parseWfdbHeader(formatWfdbHeader(h)), h);
        },
      ),
    );
  });

  test('fuzz: arbitrary text gives a header or a WFDB error, never anything else', () => {
    const token = fc.oneof(
      fc.constantFrom(
        'r',
        'r.dat',
        '212',
        '16x32',
        '16+8',
        '16:2',
        '200(0)/mV',
        '1/bpm',
        '0',
        '250/360(1)',
        '#',
        '(',
        ')',
        '/',
      ),
      fc.integer({ min: -70000, max: 70000 }).map(String),
      fc.string({ maxLength: 8 }),
    );
    const line = fc.array(token, { maxLength: 10 }).map((t) => t.join(' '));
    fc.assert(
      fc.property(
        fc.oneof(
          fc.array(line, { maxLength: 6 }).map((l) => l.join('\n')),
          fc.string({ maxLength: 200 }),
        ),
        (text) => {
          try {
            const h = parseWfdbHeader(text);
            assert.ok(h.frameRateHz > 0);
            for (const s of h.signals) assert.ok(s.samplesPerFrame >= 1 && Number.isFinite(s.adcGain));
          } catch (e) {
            assert.ok(e instanceof Error);
            assert.match(e.message, /^WFDB header/);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('WFDB signals', () => {
  test('format 212: hand-decoded first byte triple of record 100 (995, 1011), both nibble paths', () => {
    const dat = readFileSync(fixture('mitdb100-6s.dat'));
    assert.deepEqual([...dat.subarray(0, 3)], [0xe3, 0x33, 0xf3]);
    assert.deepEqual([...decodeWfdbSamples(212, dat, 0, 0, 2)], [0x3e3, 0x3f3]);
    // Negative 12-bit values: 0xFFF = −1, 0x800 = −2048 (the invalid marker).
    assert.deepEqual([...decodeWfdbSamples(212, Uint8Array.of(0xff, 0x8f, 0x00), 0, 0, 2)], [-1, -2048]);
  });

  test('reads the MIT-BIH 100 fixture: 2 × 2160 samples at 360 Hz in mV', async () => {
    const rec = await readWfdbRecordFile(fixture('mitdb100-6s.hea'));
    assert.equal(rec.frameCount, 2160);
    const [mlii, v5] = rec.signals;
    assert.equal(mlii!.raw.length, 2160);
    assert.equal(mlii!.rateHz, 360);
    assert.equal(mlii!.raw[0], 995);
    assert.equal(v5!.raw[0], 1011);
    assert.ok(Math.abs(mlii!.physical[0]! - -0.145) < 1e-6);
    assert.ok(Math.abs(v5!.physical[0]! - -0.065) < 1e-6);
    // Signal and annotations line up: each annotated beat is an R peak ≥ 0.8 mV above the median level.
    const sorted = [...mlii!.physical].sort((a, b) => a - b);
    const median = sorted[sorted.length >> 1]!;
    const { annotations } = await readAnnotationFile(fixture('mitdb100-6s.atr'));
    for (const a of annotations.filter((x) => AAMI_BEAT_SYMBOLS.has(x.symbol))) {
      const win = mlii!.physical.subarray(a.sample - 15, a.sample + 16);
      const peak = Math.max(...win);
      assert.ok(peak - median > 0.8, `beat at ${a.sample}: peak ${peak} mV, median ${median} mV`);
      assert.ok(
        Math.abs(win.indexOf(peak) - 15) <= 10,
        `beat at ${a.sample}: peak ${win.indexOf(peak) - 15} samples off`,
      );
    }
  });

  test('reads the multi-rate drive05 fixture: each signal at its own rate, deinterleaved per frame', async () => {
    const rec = await readWfdbRecordFile(fixture('drive05-2s.hea'));
    const dat = readFileSync(fixture('drive05-2s.dat'));
    const view = new DataView(dat.buffer, dat.byteOffset, dat.byteLength);
    // Independent layout: per frame ECG×32, EMG, foot GSR×2, hand GSR×2, HR, marker, RESP×2 (41 int16).
    const layout = [
      [0, 32],
      [32, 1],
      [33, 2],
      [35, 2],
      [37, 1],
      [38, 1],
      [39, 2],
    ] as const;
    assert.equal(dat.byteLength, 31 * 41 * 2);
    rec.signals.forEach((s, j) => {
      const [slot, spf] = layout[j]!;
      const expected: number[] = [];
      for (let f = 0; f < 31; f++)
        for (let k = 0; k < spf; k++) expected.push(view.getInt16((f * 41 + slot + k) * 2, true));
      assert.deepEqual([...s.raw], expected, s.name);
    });
    // First values equal the original drive05 header's initial values.
    assert.deepEqual(
      rec.signals.map((s) => s.raw[0]),
      [-49, 373, 6252, 10955, 89, 1248, 3378],
    );
    const hr = rec.signals[4]!;
    assert.equal(hr.units, 'bpm');
    assert.equal(hr.physical[0], 89);
    assert.equal(rec.signals[0]!.physical.length, 31 * 32);
  });

  test('decodes a window of frames and rejects windows outside the record', async () => {
    const header = await readWfdbHeaderFile(fixture('drive05-2s.hea'));
    const files = bytesMap('drive05-2s.dat', readFileSync(fixture('drive05-2s.dat')));
    const all = decodeWfdbSignals(header, files);
    const win = decodeWfdbSignals(header, files, { startFrame: 10, frameCount: 5 });
    assert.deepEqual([...win.signals[0]!.raw], [...all.signals[0]!.raw.subarray(320, 480)]);
    assert.deepEqual([...win.signals[6]!.raw], [...all.signals[6]!.raw.subarray(20, 30)]);
    assertReaderError(
      () => decodeWfdbSignals(header, files, { startFrame: 30, frameCount: 2 }),
      /^WFDB/,
      /run past/,
    );
    assertReaderError(() => decodeWfdbSignals(header, files, { startFrame: -1 }), /^WFDB/, /start frame/);
  });

  test('checksums are verified on whole-record reads', () => {
    const header = parseWfdbHeader('r 1 100 4\nr.dat 16 100 16 0 1 99 0 x\n');
    const dat = encodeWfdbSamples(16, [1, 2, 3, 4]);
    assertReaderError(
      () => decodeWfdbSignals(header, bytesMap('r.dat', dat)),
      /^WFDB/,
      /checksum 10 ≠ header 99/,
    );
    assert.equal(
      decodeWfdbSignals(header, bytesMap('r.dat', dat), { verifyChecksums: false }).signals[0]!.raw.length,
      4,
    );
    // A partial read cannot be checked, so it does not throw.
    assert.equal(decodeWfdbSignals(header, bytesMap('r.dat', dat), { frameCount: 2 }).frameCount, 2);
    assert.equal(wfdbChecksum([32767, 1]), -32768);
  });

  test('invalid-sample markers decode to NaN and are counted', () => {
    const header = parseWfdbHeader('r 2 100 3\nr.dat 212 100\nr.dat 212 100\n');
    const dat = encodeWfdbSamples(212, [5, -2048, -2048, 7, 100, 0]);
    const rec = decodeWfdbSignals(header, bytesMap('r.dat', dat));
    assert.deepEqual([...rec.signals[0]!.physical], [0.05, NaN, 1].map(Math.fround));
    assert.equal(rec.signals[0]!.invalidSamples, 1);
    assert.equal(rec.signals[1]!.invalidSamples, 1);
  });

  test('sample count from the file size when the header has none; byte offset honoured; short files rejected', () => {
    const noCount = parseWfdbHeader('r 1 100\nr.dat 16+4 100\n');
    const dat = new Uint8Array([9, 9, 9, 9, ...encodeWfdbSamples(16, [10, -20, 30]), 0x55]); // odd trailing byte
    const rec = decodeWfdbSignals(noCount, bytesMap('r.dat', dat));
    assert.deepEqual([...rec.signals[0]!.raw], [10, -20, 30]);
    const withCount = parseWfdbHeader('r 1 100 4\nr.dat 16+4 100\n');
    assertReaderError(() => decodeWfdbSignals(withCount, bytesMap('r.dat', dat)), /^WFDB/, /holds 3 frames/);
    assertReaderError(() => decodeWfdbSignals(withCount, new Map()), /^WFDB/, /not provided/);
  });

  test('unsupported formats, skew and file names are clear errors', async () => {
    assertReaderError(
      () => decodeWfdbSignals(parseWfdbHeader('r 1\nr.dat 80\n'), bytesMap('r.dat', new Uint8Array(4))),
      /^WFDB/,
      /format 80 is not supported/,
    );
    assertReaderError(
      () => decodeWfdbSignals(parseWfdbHeader('r 1\nr.dat 16:3\n'), bytesMap('r.dat', new Uint8Array(4))),
      /^WFDB/,
      /skew/,
    );
    assertReaderError(
      () =>
        decodeWfdbSignals(
          parseWfdbHeader('r 2\nr.dat 16\nr.dat 212\n'),
          bytesMap('r.dat', new Uint8Array(4)),
        ),
      /^WFDB/,
      /disagree/,
    );
    await assert.rejects(readWfdbRecordFile(fixture('no-such-record.hea')), /ENOENT/);
  });

  test('format 16 and 212 encode → decode round trip, odd counts included (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(16 as const, 212 as const),
        fc.array(fc.integer({ min: -2048, max: 2047 }), { maxLength: 301 }),
        (format, values) => {
          const bytes = encodeWfdbSamples(format, values);
          assert.deepEqual([...decodeWfdbSamples(format, bytes, 0, 0, values.length)], values);
          if (values.length > 0) {
            // One byte short of the last sample is refused, never read past the end.
            assertReaderError(
              () => decodeWfdbSamples(format, bytes.subarray(0, bytes.length - 1), 0, 0, values.length),
              /^WFDB/,
            );
          }
        },
      ),
    );
  });

  test('encodeWfdbRecord → decode round trip for multi-rate records with checksums (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(16 as const, 212 as const),
        fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        (format, spfs, frames, seed) => {
          let x = seed;
          const rnd = (): number => {
            x = (Math.imul(x, 1103515245) + 12345) & 0x7fffffff;
            return (x % 4095) - 2047;
          };
          const signals = spfs.map((spf, j) => ({
            spec: {
              fileName: 'p.dat',
              format,
              samplesPerFrame: spf,
              skew: 0,
              byteOffset: 0,
              adcGain: 100 + j,
              calibrated: true,
              baseline: j,
              units: 'mV',
              adcResolution: 12,
              adcZero: 0,
              blockSize: 0,
              description: `s${j}`,
            },
            raw: Array.from({ length: frames * spf }, rnd),
          }));
          const built = encodeWfdbRecord(
            {
              recordName: 'p',
              frameRateHz: 10,
              counterFrequencyHz: undefined,
              baseCounter: undefined,
              frameCount: frames,
              baseTime: undefined,
              baseDate: undefined,
              comments: [],
            },
            signals,
          );
          const header = parseWfdbHeader(built.headerText);
          const rec = decodeWfdbSignals(frames === 0 ? { ...header, frameCount: 0 } : header, built.files);
          rec.signals.forEach((s, j) => {
            assert.deepEqual([...s.raw], signals[j]!.raw);
            assert.equal(s.rateHz, 10 * spfs[j]!);
          });
        },
      ),
    );
  });

  test('fuzz: random data files give signals of the announced length or a WFDB error', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('16', '212', '16x3', '212x2'),
        fc.constantFrom('', ' 7', ' 0'),
        fc.uint8Array({ maxLength: 64 }),
        fc.integer({ min: 0, max: 12 }),
        fc.option(fc.integer({ min: 0, max: 12 }), { nil: undefined }),
        (fmt, count, bytes, start, n) => {
          const h = parseWfdbHeader(`r 2 100${count}\nr.dat ${fmt}\nr.dat ${fmt}\n`);
          try {
            const rec = decodeWfdbSignals(h, bytesMap('r.dat', bytes), { startFrame: start, frameCount: n });
            for (const s of rec.signals) {
              assert.equal(s.raw.length, rec.frameCount * s.samplesPerFrame);
              assert.equal(s.physical.length, s.raw.length);
            }
          } catch (e) {
            assert.ok(e instanceof Error);
            assert.match(e.message, /^WFDB/);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('WFDB annotations (MIT format)', () => {
  test('reads the record 100 fixture: rhythm note with aux, normal beats and the APC at 2044', async () => {
    const { annotations, timeResolutionHz } = await readAnnotationFile(fixture('mitdb100-6s.atr'));
    // Published reference annotations of mitdb 100 (PhysioNet), first 6 s.
    assert.deepEqual(
      annotations.map((a) => [a.sample, a.symbol]),
      [
        [18, '+'],
        [77, 'N'],
        [370, 'N'],
        [662, 'N'],
        [946, 'N'],
        [1231, 'N'],
        [1515, 'N'],
        [1809, 'N'],
        [2044, 'A'],
      ],
    );
    assert.equal(annotations[0]!.aux, '(N');
    assert.equal(annotations[1]!.aux, undefined);
    assert.equal(timeResolutionHz, undefined);
    assert.equal(annotations.filter((a) => AAMI_BEAT_SYMBOLS.has(a.symbol)).length, 8);
  });

  test('code table and AAMI classes', () => {
    assert.equal(ANNOTATION_SYMBOLS.length, 50);
    assert.deepEqual(
      [1, 5, 8, 12, 13, 28, 38, 41].map((c) => ANNOTATION_SYMBOLS[c]),
      ['N', 'V', 'A', '/', 'Q', '+', 'f', 'r'],
    );
    assert.equal(ANNOTATION_SYMBOLS[45], '[45]');
    assert.equal(annotationSymbol(55), '[55]');
    assert.equal(decodeMitAnnotations(Uint8Array.of(0x00, 0xdc)).annotations[0]!.symbol, '[55]');
    assert.deepEqual(['N', 'e', 'a', 'J', 'E', 'F', 'f', '+', '~', 'x'].map(aamiClass), [
      'N',
      'N',
      'S',
      'S',
      'V',
      'F',
      'Q',
      undefined,
      undefined,
      undefined,
    ]);
  });

  test('SKIP (32-bit, high word first), NUM and CHN persistence, SUB per annotation, time resolution note', () => {
    const w = (a: number, i: number): number[] => [((a << 10) | i) & 0xff, ((a << 10) | i) >> 8];
    const bytes = Uint8Array.from([
      ...w(22, 0),
      ...w(63, 24),
      ...[...'## time resolution: 1000'].map((c) => c.charCodeAt(0)),
      ...w(59, 0),
      0x01,
      0x00,
      0x10,
      0x00, // SKIP 0x00010010 = 65552
      ...w(1, 3),
      ...w(60, 7),
      ...w(62, 2),
      ...w(61, 4),
      ...w(5, 10),
      ...w(0, 0),
      0xff,
      0xff, // after the end word: ignored
    ]);
    const { annotations, timeResolutionHz } = decodeMitAnnotations(bytes);
    assert.equal(annotations[0]!.aux, '## time resolution: 1000');
    assert.equal(timeResolutionHz, 1000);
    assert.deepEqual(
      annotations.slice(1).map((a) => [a.sample, a.symbol, a.num, a.channel, a.subtype]),
      [
        [65555, 'N', 7, 2, 4],
        [65565, 'V', 7, 2, 0],
      ],
    );
  });

  test('malformed annotation files are clear errors', () => {
    assertReaderError(
      () => decodeMitAnnotations(Uint8Array.of(0x00, 0xec, 0x01)),
      /^WFDB annotation byte 0/,
      /SKIP/,
    );
    assertReaderError(
      () => decodeMitAnnotations(Uint8Array.of(0x05, 0xf0)),
      /^WFDB annotation byte 0/,
      /NUM before/,
    );
    assertReaderError(
      () => decodeMitAnnotations(Uint8Array.of(0x01, 0x04, 0x09, 0xfc, 0x41)),
      /byte 2/,
      /AUX of 9 bytes/,
    );
    assertReaderError(
      () => decodeMitAnnotations(Uint8Array.of(0x01, 0x04, 0x07)),
      /byte 2/,
      /odd trailing byte/,
    );
    // A negative SKIP that would put an annotation before the record start.
    assertReaderError(
      () => decodeMitAnnotations(Uint8Array.of(0x00, 0xec, 0xff, 0xff, 0x00, 0xff, 0x00, 0x04)),
      /negative/,
    );
    // Empty, and no end word: both fine.
    assert.equal(decodeMitAnnotations(new Uint8Array(0)).annotations.length, 0);
    assert.equal(decodeMitAnnotations(Uint8Array.of(0x01, 0x04)).annotations.length, 1);
  });

  test('encode → decode round trip, with SKIPs, modifiers and aux (property)', () => {
    const ann = fc.record({
      gap: fc.oneof(fc.integer({ min: 0, max: 1023 }), fc.integer({ min: 1024, max: 2 ** 31 - 1 })),
      code: fc.integer({ min: 1, max: 49 }),
      subtype: fc.integer({ min: 0, max: 1023 }),
      channel: fc.integer({ min: 0, max: 1023 }),
      num: fc.integer({ min: 0, max: 1023 }),
      aux: fc.option(
        fc.string({ unit: 'binary-ascii', maxLength: 40 }).map((s) => s.replace(/\0/g, '')),
        { nil: undefined },
      ),
    });
    fc.assert(
      fc.property(fc.array(ann, { maxLength: 40 }), fc.boolean(), (list, nul) => {
        let t = 0;
        const input: WfdbAnnotationInput[] = list
          .map((a) => ({ ...a, sample: (t += a.gap) }))
          .filter((a) => a.sample <= Number.MAX_SAFE_INTEGER);
        // Keep intervals within 32 bits and times within what a SKIP chain can reach.
        const ok = input.every((a, i) => a.sample - (i === 0 ? 0 : input[i - 1]!.sample) <= 0x7fffffff);
        fc.pre(ok);
        const decoded = decodeMitAnnotations(
          encodeMitAnnotations(input, { nulTerminateAux: nul }),
        ).annotations;
        assert.deepEqual(
          decoded.map((a) => [a.sample, a.code, a.subtype, a.channel, a.num, a.aux]),
          input.map((a) => [a.sample, a.code, a.subtype, a.channel, a.num, a.aux]),
        );
      }),
    );
  });

  test('fuzz: random bytes decode or give a WFDB annotation error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          const { annotations } = decodeMitAnnotations(bytes);
          // (A negative SKIP may move time backwards, never before the record start.)
          for (const a of annotations) {
            assert.ok(a.sample >= 0 && Number.isSafeInteger(a.sample));
            assert.ok(a.code >= 0 && a.code < 59 && a.symbol.length > 0);
          }
        } catch (e) {
          assert.ok(e instanceof Error);
          assert.match(e.message, /^WFDB annotation byte \d+/);
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe('WFDB on the real records in ../shared', () => {
  test('the fixtures are byte-exact prefixes of the real files', { skip: SHARED_SKIP }, () => {
    for (const [fix, src] of [
      ['mitdb100-6s.dat', 'physio/mitdb/100.dat'],
      ['drive05-2s.dat', 'physio/drivedb/drive05.dat'],
    ] as const) {
      const a = readFileSync(fixture(fix));
      assert.ok(a.equals(readFileSync(shared(src)).subarray(0, a.byteLength)), fix);
    }
  });

  test(
    'mitdb 100: 650000 frames at 360 Hz, checksums match, 2273 AAMI beats (2239 N, 33 A, 1 V)',
    { skip: SHARED_SKIP },
    async () => {
      const rec = await readWfdbRecordFile(shared('physio/mitdb/100.hea'));
      assert.equal(rec.frameCount, 650000);
      for (const s of rec.signals) {
        assert.equal(s.raw.length, 650000);
        assert.equal(s.rateHz, 360);
        assert.equal(wfdbChecksum(s.raw), s.spec.checksum);
        assert.equal(s.raw[0], s.spec.initialValue);
      }
      const { annotations } = await readAnnotationFile(shared('physio/mitdb/100.atr'));
      const beats = annotations.filter((a) => AAMI_BEAT_SYMBOLS.has(a.symbol));
      assert.equal(beats.length, 2273);
      const counts = new Map<string, number>();
      for (const b of beats) counts.set(b.symbol, (counts.get(b.symbol) ?? 0) + 1);
      assert.deepEqual(Object.fromEntries(counts), { N: 2239, A: 33, V: 1 });
      assert.ok(beats.every((b, i) => b.sample < 650000 && (i === 0 || b.sample > beats[i - 1]!.sample)));
    },
  );

  test(
    'qtdb: 250 Hz format-212 records with counter frequencies; sel100 beats = mitdb 100 beats from 7:00, resampled',
    { skip: SHARED_SKIP },
    async () => {
      for (const [name, cf, frames] of [
        ['sel100', 360, 225000],
        ['sel16265', 128, 224999],
        ['sel16272', 128, 224999],
      ] as const) {
        const rec = await readWfdbRecordFile(shared(`physio/qtdb/${name}.hea`)); // throws on a checksum mismatch
        assert.equal(rec.header.frameRateHz, 250);
        assert.equal(rec.header.counterFrequencyHz, cf);
        assert.equal(rec.frameCount, frames);
        const { annotations } = await readAnnotationFile(shared(`physio/qtdb/${name}.atr`));
        assert.ok(annotations.length > 800);
        assert.ok(annotations.every((a) => AAMI_BEAT_SYMBOLS.has(a.symbol) && a.sample < frames));
      }
      const ref = (await readAnnotationFile(shared('physio/mitdb/100.atr'))).annotations
        .filter((a) => AAMI_BEAT_SYMBOLS.has(a.symbol))
        .map((a) => ({ t: (a.sample / 360 - 420) * 250, symbol: a.symbol }))
        .filter((a) => a.t >= 0 && a.t < 225000);
      const sel = (await readAnnotationFile(shared('physio/qtdb/sel100.atr'))).annotations;
      assert.equal(sel.length, ref.length);
      sel.forEach((a, i) => {
        assert.equal(a.symbol, ref[i]!.symbol);
        assert.ok(Math.abs(a.sample - ref[i]!.t) <= 1, `beat ${i}: ${a.sample} vs ${ref[i]!.t}`);
      });
    },
  );

  test(
    'qtdb wave boundaries (.q1c, .pu0): SKIP at the start, NUM and CHN fields, only P/QRS/T symbols',
    { skip: SHARED_SKIP },
    async () => {
      const q1c = (await readAnnotationFile(shared('physio/qtdb/sel100.q1c'))).annotations;
      assert.equal(q1c[0]!.sample, 150272); // first word is a SKIP
      assert.ok(q1c.every((a) => ['(', ')', 'p', 'N', 't', 'u'].includes(a.symbol)));
      const pu1 = (await readAnnotationFile(shared('physio/qtdb/sel16272.pu1'))).annotations;
      assert.ok(
        pu1.every((a) => a.channel === 1),
        'pu1 annotations are on signal 1',
      );
      assert.ok(new Set(pu1.map((a) => a.num)).size > 1, 'NUM distinguishes onsets and ends');
    },
  );

  test(
    'drivedb: multi-rate format-16 records read whole with matching checksums',
    { skip: SHARED_SKIP },
    async () => {
      const d5 = await readWfdbRecordFile(shared('physio/drivedb/drive05.hea'));
      assert.equal(d5.frameCount, 78367);
      assert.deepEqual(
        d5.signals.map((s) => [s.name, s.rateHz, s.raw.length]),
        [
          ['ECG', 496, 78367 * 32],
          ['EMG', 15.5, 78367],
          ['foot GSR', 31, 78367 * 2],
          ['hand GSR', 31, 78367 * 2],
          ['HR', 15.5, 78367],
          ['marker', 15.5, 78367],
          ['RESP', 31, 78367 * 2],
        ],
      );
      const hr = d5.signals[4]!.physical;
      const plausible = hr.filter((v) => v >= 40 && v <= 180).length / hr.length;
      // The device's HR channel has dropouts (zeros) in places: most of the drive is still plausible.
      assert.ok(plausible > 0.9, `HR in 40..180 bpm for ${(plausible * 100).toFixed(1)} % of frames`);
      const d17a = await readWfdbRecordFile(shared('physio/drivedb/drive17a.hea'));
      assert.equal(d17a.signals[0]!.rateHz, 480); // 15 Hz frames × 32
    },
  );
});
