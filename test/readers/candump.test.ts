import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import {
  CandumpDecoder,
  decodeCandumpStream,
  formatCandumpLine,
  parseCandump,
  parseCandumpLine,
  readCandumpFile,
  streamCandumpFile,
} from '../../src/streams/readers/candump.ts';
import type { CandumpFrame, CandumpFrameInput } from '../../src/streams/readers/candump.ts';
import { SHARED_SKIP, fixture, shared } from './shared-data.ts';

const HEAD = fixture('rav4-seg40-head.candump');
const tmp = mkdtempSync(join(tmpdir(), 'candump-test-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function frameOf(line: string): CandumpFrame {
  const r = parseCandumpLine(line);
  assert.ok(r.ok, `expected a frame from ${JSON.stringify(line)}: ${r.ok ? '' : r.reason}`);
  return r.frame;
}

function reasonOf(line: string): string {
  const r = parseCandumpLine(line);
  assert.ok(!r.ok, `expected ${JSON.stringify(line)} to be malformed`);
  return r.reason;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex').toUpperCase();

describe('candump line parser', () => {
  test('the real RAV4 log head: 300 frames, can0/can1 and the logger-sent can0tx/can1tx', async () => {
    const log = await readCandumpFile(HEAD);
    assert.equal(log.frames.length, 300);
    assert.equal(log.stats.malformedCount, 0);
    const [a, , c] = log.frames;
    assert.deepEqual(
      [a!.tUs, a!.bus, a!.iface, a!.tx, a!.id, a!.extended, a!.rtr, a!.fd, hex(a!.data)],
      [1533226488230930, 'can0', 'can0', false, 0x260, false, false, false, '08FFFB0000001884'],
    );
    assert.deepEqual(
      [c!.bus, c!.iface, c!.tx, c!.id, hex(c!.data)],
      ['can0', 'can0tx', true, 0x2e4, 'BE000000A9'],
    );
    assert.deepEqual([...new Set(log.frames.map((f) => f.iface))].sort(), [
      'can0',
      'can0tx',
      'can1',
      'can1tx',
    ]);
    assert.ok(log.frames.every((f, i) => i === 0 || f.tUs >= log.frames[i - 1]!.tUs));
  });

  test('format(parse(line)) reproduces every line of the real log head', () => {
    const lines = readFileSync(HEAD, 'utf8')
      .split('\n')
      .filter((l) => l.length > 0);
    for (const line of lines) assert.equal(formatCandumpLine(frameOf(line)), line);
  });

  test('extended ids, RTR, raw DLC, CAN FD flags, error frames, separators, padding, direction', () => {
    const ext = frameOf('(1600000000.000001) vcan0 1ABCDEF0#0102');
    assert.deepEqual(
      [ext.id, ext.extended, ext.tUs, hex(ext.data)],
      [0x1abcdef0, true, 1600000000000001, '0102'],
    );
    const short = frameOf('(1.5)    can0 00000123#');
    assert.deepEqual([short.id, short.extended, short.tUs, short.data.length], [0x123, true, 1500000, 0]);
    const rtr = frameOf('(0.000000) can0 123#R');
    assert.deepEqual([rtr.rtr, rtr.rtrLength, rtr.data.length], [true, 0, 0]);
    assert.deepEqual(
      [frameOf('(0.0) can0 123#R5').rtrLength, frameOf('(0.0) can0 123#r8_C').len8Dlc],
      [5, 12],
    );
    const dlc = frameOf('(0.0) can0 123#1122334455667788_F');
    assert.deepEqual([dlc.len8Dlc, dlc.data.length], [15, 8]);
    const fd = frameOf('(0.0) can0 0C8##3' + '00'.repeat(12));
    assert.deepEqual([fd.fd, fd.brs, fd.esi, fd.data.length], [true, true, true, 12]);
    const fdf = frameOf('(0.0) can0 0C8##4');
    assert.deepEqual([fdf.fd, fdf.brs, fdf.esi, fdf.data.length], [true, false, false, 0]);
    const err = frameOf('(0.0) can0 20000080#0000000000000000');
    assert.deepEqual([err.errorFrame, err.extended, err.id], [true, false, 0x80]);
    assert.equal(hex(frameOf('(0.0) can0 123#11.22.aa.Bb').data), '1122AABB');
    const padded = frameOf('   (1533226488.230930)  slcan0  7DF#02010D  T\r');
    assert.deepEqual([padded.iface, padded.direction, padded.tx], ['slcan0', 'T', true]);
    assert.equal(frameOf('(0.0) can1 7DF#02 R').tx, false);
    assert.equal(frameOf('(0.123456789) can0 123#').tUs, 123457); // ns fraction rounded to µs
    const raw = parseCandumpLine('(0.0) can0tx 123#', { splitTxSuffix: false });
    assert.ok(raw.ok && raw.frame.bus === 'can0tx' && !raw.frame.tx);
  });

  test('malformed lines give a reason, never an exception', () => {
    const cases: [string, RegExp][] = [
      ['', /"\("/],
      ['1533226488.230930 can0 123#00', /"\("/],
      ['(1533226488) can0 123#00', /"\."/],
      ['(1533226488.) can0 123#00', /fraction/],
      ['(1533226488.1234567890) can0 123#00', /fraction/],
      ['(1.0)can0 123#00', /space/],
      ['(1.0) can0', /missing frame/],
      ['(1.0) can0 123', /no "#"/],
      ['(1.0) can0 12#00', /3 or 8 hex digits/],
      ['(1.0) can0 123456789#00', /longer than 8/],
      ['(1.0) can0 800#00', /exceeds 0x7FF/],
      ['(1.0) can0 G23#00', /bad hex digit/],
      ['(1.0) can0 80000123#00', /flag bits/],
      ['(1.0) can0 123#001', /odd number/],
      ['(1.0) can0 123#00zz', /bad hex byte/],
      ['(1.0) can0 123#' + '00'.repeat(9), /more than 8/],
      ['(1.0) can0 123#R9', /RTR length/],
      ['(1.0) can0 123#R4_9', /RTR suffix/],
      ['(1.0) can0 123#0011_9', /needs 8 data bytes/],
      ['(1.0) can0 123#1122334455667788_3', /9\.\.F/],
      ['(1.0) can0 123##8', /flags/],
      ['(1.0) can0 123##0' + '00'.repeat(9), /not a valid FD length/],
      ['(1.0) can0 123##', /flags digit/],
      ['(1.0) can0 20000080##000', /error frames/],
      ['(1.0) can0 123#00 X', /unexpected/],
      ['(1.0) can0 123#80:00:12345678#00', /CAN XL/],
      ['(99999999999999.0) can0 123#00', /1\.\.12 digits|too large/],
    ];
    for (const [line, reason] of cases) assert.match(reasonOf(line), reason, line);
  });

  test('decoder: line numbers of malformed lines, blank lines, over-long lines, bounded report', () => {
    const text = [
      '(1.000000) can0 123#00',
      'garbage',
      '',
      '(2.000000) can0 124#01',
      `(3.000000) can0 125#${'0'.repeat(5000)}`,
      '(4.000000) can0 126#',
    ].join('\n');
    const { frames, stats } = parseCandump(text, { maxMalformedKept: 1 });
    assert.deepEqual(
      frames.map((f) => f.id),
      [0x123, 0x124, 0x126],
    );
    assert.deepEqual([stats.lines, stats.frames, stats.blank, stats.malformedCount], [6, 3, 1, 2]);
    assert.equal(stats.malformed.length, 1);
    assert.deepEqual(stats.malformed[0], {
      line: 2,
      reason: 'expected "(" and a timestamp',
      text: 'garbage',
    });
    const full = parseCandump(text).stats.malformed;
    assert.equal(full[1]!.line, 5);
    assert.match(full[1]!.reason, /longer than 4096/);
    assert.ok(full[1]!.text.length <= 201);
  });

  test('streaming: any chunking (bytes split mid-character, CRLF) gives the same frames and stats (property)', () => {
    const text =
      readFileSync(HEAD, 'utf8').split('\n').slice(0, 60).join('\r\n') + '\nbad € line\n(9.0) can0 123#00';
    const bytes = new TextEncoder().encode(text);
    const whole = parseCandump(text);
    assert.equal(whole.frames.length, 61);
    assert.equal(whole.stats.malformedCount, 1);
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: bytes.length - 1 }), { maxLength: 30 }),
        (cuts) => {
          const points = [0, ...cuts.sort((a, b) => a - b), bytes.length];
          const d = new CandumpDecoder();
          const frames: CandumpFrame[] = [];
          for (let i = 0; i + 1 < points.length; i++)
            frames.push(...d.push(bytes.subarray(points[i], points[i + 1])));
          frames.push(...d.end());
          assert.deepEqual(frames, whole.frames);
          assert.deepEqual(d.stats, whole.stats);
        },
      ),
      { numRuns: 200 },
    );
  });

  test('decodeCandumpStream over a Node stream; stats returned and kept on the decoder', async () => {
    const decoder = new CandumpDecoder();
    const gen = decodeCandumpStream(
      Readable.from([Buffer.from('(1.0) can0 123#00\n(2.'), Buffer.from('0) can0 1#\n')]),
      decoder,
    );
    const frames: CandumpFrame[] = [];
    let r = await gen.next();
    while (r.done !== true) {
      frames.push(r.value);
      r = await gen.next();
    }
    assert.equal(frames.length, 1);
    assert.equal(r.value.malformedCount, 1);
    assert.equal(decoder.stats.malformed[0]!.line, 2);
  });

  test('gzip logs are detected by their magic bytes; a corrupt gzip is a clear error', async () => {
    const plain = await readCandumpFile(HEAD);
    const gz = join(tmp, 'head.log.gz');
    writeFileSync(gz, gzipSync(readFileSync(HEAD)));
    const fromGz = await readCandumpFile(gz);
    assert.deepEqual(fromGz.frames, plain.frames);
    let n = 0;
    for await (const f of streamCandumpFile(gz)) {
      assert.deepEqual(f, plain.frames[n]);
      if (++n === 10) break; // early exit closes the file
    }
    const bad = join(tmp, 'bad.gz');
    writeFileSync(bad, Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.from('not really gzip')]));
    await assert.rejects(readCandumpFile(bad), (e: Error) => e.message.startsWith(`candump ${bad}:`));
    await assert.rejects(readCandumpFile(join(tmp, 'missing.log')), /ENOENT/);
  });

  test('fuzz: arbitrary lines never throw; accepted frames are valid and re-format to an equal frame', () => {
    const piece = fc.oneof(
      fc.constantFrom(
        '(',
        ')',
        '.',
        '#',
        '##',
        ' ',
        'R',
        '_',
        'can0',
        'tx',
        '1533226488',
        '230930',
        '7FF',
        '1FFFFFFF',
        '20000000',
        'DEADBEEF',
        '\t',
        ':',
      ),
      fc.string({ maxLength: 6 }),
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.array(piece, { maxLength: 12 }).map((p) => p.join('')),
          fc.string({ maxLength: 120 }),
        ),
        (line) => {
          const r = parseCandumpLine(line);
          if (!r.ok) {
            assert.ok(r.reason.length > 0);
            return;
          }
          const f = r.frame;
          assert.ok(Number.isSafeInteger(f.tUs) && f.tUs >= 0);
          assert.ok(f.id >= 0 && f.id <= (f.extended || f.errorFrame ? 0x1fffffff : 0x7ff));
          assert.ok(f.data.length <= (f.fd ? 64 : 8));
          const again = parseCandumpLine(formatCandumpLine(f));
          assert.ok(again.ok);
          assert.deepEqual(again.frame, f);
        },
      ),
      { numRuns: 5000 },
    );
  });

  test('format → parse round trip of arbitrary valid frames (property)', () => {
    const fdLen = fc.constantFrom(0, 1, 5, 8, 12, 16, 20, 24, 32, 48, 64);
    const frame: fc.Arbitrary<CandumpFrameInput> = fc.oneof(
      fc.record({
        tUs: fc.integer({ min: 0, max: 2 ** 52 }),
        bus: fc.constantFrom('can0', 'vcan1', 'slcan0'),
        extended: fc.boolean(),
        id: fc.integer({ min: 0, max: 0x7ff }),
        data: fc.uint8Array({ maxLength: 8 }),
      }),
      fc.record({
        tUs: fc.integer({ min: 0, max: 2 ** 52 }),
        bus: fc.constant('can1'),
        extended: fc.constant(true),
        id: fc.integer({ min: 0, max: 0x1fffffff }),
        fd: fc.constant(true),
        brs: fc.boolean(),
        esi: fc.boolean(),
        data: fdLen.chain((n) => fc.uint8Array({ minLength: n, maxLength: n })),
      }),
      fc.record({
        tUs: fc.integer({ min: 0, max: 2 ** 52 }),
        bus: fc.constant('can0'),
        extended: fc.boolean(),
        id: fc.integer({ min: 0, max: 0x7ff }),
        rtr: fc.constant(true),
        rtrLength: fc.integer({ min: 0, max: 8 }),
        data: fc.constant(new Uint8Array(0)),
      }),
    );
    fc.assert(
      fc.property(frame, (f) => {
        const parsed = frameOf(formatCandumpLine(f));
        assert.deepEqual(
          [
            parsed.tUs,
            parsed.bus,
            parsed.id,
            parsed.extended,
            parsed.rtr,
            parsed.fd,
            parsed.brs,
            parsed.esi,
            hex(parsed.data),
            parsed.rtrLength,
          ],
          [
            f.tUs,
            f.bus,
            f.id,
            f.extended,
            f.rtr ?? false,
            f.fd ?? false,
            f.brs ?? false,
            f.esi ?? false,
            hex(f.data),
            f.rtrLength ?? 0,
          ],
        );
      }),
    );
    assert.throws(
      () => formatCandumpLine({ tUs: 0, bus: 'can0', id: 0x800, extended: false, data: new Uint8Array(0) }),
      RangeError,
    );
    assert.throws(
      () => formatCandumpLine({ tUs: 0, bus: 'can 0', id: 1, extended: false, data: new Uint8Array(0) }),
      RangeError,
    );
  });
});

describe('candump on the whole RAV4 log in ../shared', () => {
  const LOG = 'can/rav4_2018-08-02--08-34-47_seg40.candump.log';

  test(
    '135,468 frames over 60 s, none malformed, every line re-formats exactly',
    { skip: SHARED_SKIP },
    async () => {
      const log = await readCandumpFile(shared(LOG));
      assert.equal(log.frames.length, 135468);
      assert.equal(log.stats.malformedCount, 0);
      const count = (iface: string): number => log.frames.filter((f) => f.iface === iface).length;
      assert.deepEqual(
        [count('can0'), count('can0tx'), count('can1'), count('can1tx')],
        [53800, 12434, 45000, 24234],
      );
      const spanS = (log.frames.at(-1)!.tUs - log.frames[0]!.tUs) / 1e6;
      assert.ok(spanS > 59.9 && spanS < 60, `span ${spanS} s`);
      const lines = readFileSync(shared(LOG), 'utf8').split('\n');
      log.frames.forEach((f, i) => assert.equal(formatCandumpLine(f), lines[i]));
    },
  );

  test(
    'data bytes agree with comma’s decoded speed (0xB4 SPEED, big-endian bits 47|16 × 0.01 km/h)',
    { skip: SHARED_SKIP },
    async () => {
      const log = await readCandumpFile(shared(LOG));
      const speedFrames = log.frames.filter((f) => f.id === 0xb4 && f.bus === 'can0' && !f.tx);
      const rows = readFileSync(shared('can/decoded_signals_1hz_preview.csv'), 'utf8')
        .trim()
        .split('\n')
        .slice(1);
      assert.ok(rows.length >= 50);
      let j = 0;
      for (const row of rows) {
        const [t, kmh] = row.split(',').map(Number) as [number, number];
        const tUs = Math.round(t * 1e6);
        while (j + 1 < speedFrames.length && speedFrames[j + 1]!.tUs <= tUs + 500) j++;
        const d = speedFrames[j]!.data;
        assert.ok(Math.abs(((d[5]! << 8) | d[6]!) * 0.01 - kmh) < 0.006, `t=${t}: ${kmh} km/h`);
      }
    },
  );
});
