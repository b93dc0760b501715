import assert from 'node:assert/strict';
import { it } from 'node:test';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import {
  channelKind,
  parseRdsampCsv,
  RdsampError,
  readRdsampCsvFile,
} from '../../src/streams/readers/rdsamp-csv.ts';
import { fixture, shared, SHARED_SKIP } from './shared-data.ts';

it('reads the committed gzipped drivedb export (one header line, units in parentheses)', async () => {
  const r = await readRdsampCsvFile(fixture('drive07-head.csv.gz'));
  assert.deepEqual(
    r.signals.map((s) => [s.name, s.units, s.kind]),
    [
      ['ECG', 'mV', 'ecg'],
      ['EMG', 'mV', 'emg'],
      ['foot GSR', 'mV', 'eda'],
      ['hand GSR', 'mV', 'eda'],
      ['HR', 'bpm', 'hr'],
      ['marker', 'mV', 'other'],
      ['RESP', 'mV', 'resp'],
    ],
  );
  assert.equal(r.timeS.length, 199);
  assert.equal(r.timeS[1], 0.065);
  assert.equal(r.signals[4]?.samples[0], 88); // HR of the first row: "0,0.016,0.036,8.764,5.676,88,10.85,43.47"
  assert.equal(r.signals[6]?.samples[0], Math.fround(43.47));
  assert.ok(Math.abs(r.rateHz - 15.5) < 0.05, `${r.rateHz} Hz`);
  assert.deepEqual(r.malformed, []);
});

it('reads the two-line rdsamp -v form, sample numbers with a given rate, and invalid samples', () => {
  const text = "'Sample #','MLII','V5'\n'samples','mV','mV'\n0,-0.145,-0.065\n1,-,-0.065\n2,-0.145,\n";
  const r = parseRdsampCsv(text, { rateHz: 360 });
  assert.deepEqual(
    r.signals.map((s) => [s.name, s.units, s.kind, s.invalid]),
    [
      ['MLII', 'mV', 'ecg', 1],
      ['V5', 'mV', 'ecg', 1],
    ],
  );
  assert.deepEqual(Array.from(r.timeS), [0, 1 / 360, 2 / 360]);
  assert.ok(Number.isNaN(r.signals[0]?.samples[1] as number));
  assert.throws(() => parseRdsampCsv(text), /sample numbers: give rateHz/);
});

it('skips malformed rows with their line numbers and goes on', () => {
  const r = parseRdsampCsv('Elapsed time(s),HR(bpm)\n0,80\n0.5,abc\n1\n1.5,81\n', {});
  assert.deepEqual(Array.from(r.signals[0]?.samples ?? []), [80, 81]);
  assert.deepEqual(
    r.malformed.map((m) => m.line),
    [3, 4],
  );
  assert.match(r.malformed[0]?.reason ?? '', /HR: "abc" is not a number/);
});

it('detects gzip from the bytes and refuses empty or header-only files clearly', () => {
  const gz = gzipSync(Buffer.from('Elapsed time(s),RESP(mV)\n0,1\n0.5,2\n'));
  assert.equal(parseRdsampCsv(gz).rateHz, 2);
  assert.throws(() => parseRdsampCsv(''), RdsampError);
  assert.throws(() => parseRdsampCsv('Elapsed time(s),HR(bpm)\n'), /no data rows/);
  assert.equal(channelKind('hand GSR'), 'eda');
});

it('never throws anything but RdsampError on arbitrary text (fuzz)', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 300 }), (s) => {
      try {
        parseRdsampCsv(s);
      } catch (e) {
        assert.ok(e instanceof RdsampError, String(e));
      }
    }),
  );
});

it('reads a whole real drive (drive07, 82,442 frames at 15.5 Hz)', { skip: SHARED_SKIP }, async () => {
  const r = await readRdsampCsvFile(shared('physio/drivedb/csv_frame_averaged/drive07.csv.gz'));
  assert.equal(r.timeS.length, 82_442); // 82,443 lines: the header and 82,442 rows (no final newline)
  assert.ok(Math.abs(r.rateHz - 15.5) < 0.01);
  const hr = Array.from(r.signals.find((s) => s.kind === 'hr')?.samples ?? [])
    .filter((v) => v > 30)
    .sort((a, b) => a - b);
  const median = hr[hr.length >> 1] as number;
  assert.ok(median > 50 && median < 120, `median HR ${median}`);
});
