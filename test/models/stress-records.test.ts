import assert from 'node:assert/strict';
import { it } from 'node:test';
import {
  hrFromDeviceChannel,
  loadLabelledDrives,
  loadStressRecord,
  parseSegmentsCsv,
} from '../../src/models/stress/records.ts';
import { fixture, shared, SHARED_SKIP } from '../readers/shared-data.ts';

it('loads the drive05 WFDB fixture: GSR and RESP at 31 Hz, HR from the device channel (2 s: too short for QRS coverage)', async () => {
  const r = await loadStressRecord(fixture('drive05-2s.hea'));
  assert.equal(r.name, 'drive05-2s');
  assert.equal(r.format, 'wfdb');
  assert.equal(r.durationS, 2);
  assert.equal(r.footGsr?.rateHz, 31);
  assert.equal(r.footGsr?.samples.length, 62);
  assert.equal(r.resp?.rateHz, 31);
  assert.equal(r.hr.source, 'device');
  assert.match(r.hrNote, /QRS covered only/);
  assert.ok(r.hr.bpm.every((v) => v > 30 && v < 200));
});

it('loads the drive07 CSV fixture: device HR (ECG column ignored), all at the frame rate', async () => {
  const r = await loadStressRecord(fixture('drive07-head.csv.gz'));
  assert.equal(r.name, 'drive07-head');
  assert.equal(r.format, 'rdsamp-csv');
  assert.equal(r.hr.source, 'device');
  assert.equal(r.hr.bpm[0], 88);
  assert.ok(Math.abs((r.resp?.rateHz ?? 0) - 15.5) < 0.01);
  assert.equal(r.footGsr?.samples[0], Math.fround(8.764));
  assert.equal(r.handGsr?.samples[0], Math.fround(5.676));
});

it('device HR excludes zeros and non-finite values, keeping the others at their frame times', () => {
  const hr = hrFromDeviceChannel([80, 0, NaN, 90], 2, 10);
  assert.deepEqual(Array.from(hr.tS), [10, 11.5]);
  assert.deepEqual(Array.from(hr.bpm), [80, 90]);
});

it('parses segments, sorts them, and rejects bad levels, overlaps and missing columns', () => {
  const m = parseSegmentsCsv('record,stress_level,start_s,end_s\nd,high,10,20\nd,low,0,10\n');
  assert.deepEqual(
    m.get('d')?.map((s) => [s.level, s.startS]),
    [
      ['low', 0],
      ['high', 10],
    ],
  );
  assert.throws(
    () => parseSegmentsCsv('record,stress_level,start_s,end_s\nd,calm,0,1\n'),
    /low\/medium\/high/,
  );
  assert.throws(
    () => parseSegmentsCsv('record,stress_level,start_s,end_s\nd,low,0,10\nd,high,5,20\n'),
    /overlap/,
  );
  assert.throws(() => parseSegmentsCsv('record,start_s,end_s\nd,0,1\n'), /stress_level/);
});

it(
  'loads every labelled real drive: QRS HR for the WFDB drives, device HR for the CSV ones',
  { skip: SHARED_SKIP },
  async () => {
    const dir = shared('physio/drivedb');
    const { records, missing } = await loadLabelledDrives(dir, `${dir}/drivedb_stress_segments.csv`);
    assert.deepEqual(missing, []);
    assert.deepEqual(
      records.map((r) => [r.name, r.format, r.hr.source]),
      [
        ['drive05', 'wfdb', 'qrs'],
        ['drive06', 'wfdb', 'qrs'],
        ['drive07', 'rdsamp-csv', 'device'],
        ['drive08', 'rdsamp-csv', 'device'],
        ['drive09', 'rdsamp-csv', 'device'],
        ['drive10', 'rdsamp-csv', 'device'],
        ['drive11', 'rdsamp-csv', 'device'],
      ],
    );
    for (const r of records) {
      assert.equal(r.segments[0]?.level, 'low');
      assert.ok(r.segments.at(-1)!.endS <= r.durationS + 1, r.name);
      // Plausible resting-to-driving heart rates, median 50–110 bpm.
      const sorted = Array.from(r.hr.bpm).sort((a, b) => a - b);
      const med = sorted[sorted.length >> 1]!;
      assert.ok(med > 50 && med < 110, `${r.name} median HR ${med}`);
    }
  },
);
