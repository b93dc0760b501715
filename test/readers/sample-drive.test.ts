import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { parseCandump } from '../../src/streams/readers/candump.ts';
import {
  DriveError,
  jpegSize,
  loadDrive,
  parseDriveManifest,
} from '../../src/streams/readers/sample-drive.ts';
import type { Drive, DriveManifest, DriveStreamName } from '../../src/streams/readers/sample-drive.ts';
import { readWfdbRecordFile } from '../../src/streams/readers/wfdb.ts';
import { REPO_ROOT, SHARED_SKIP, shared } from './shared-data.ts';

const DIR = join(REPO_ROOT, 'devices/sample-drive');
const START_US = Date.UTC(2026, 0, 15, 3, 0, 0) * 1000;
const tmp = mkdtempSync(join(tmpdir(), 'drive-test-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

let drive: Drive;
before(async () => {
  drive = await loadDrive(DIR);
});

function manifest(): DriveManifest {
  return JSON.parse(readFileSync(join(DIR, 'manifest.json'), 'utf8')) as DriveManifest;
}

function rmsDb(x: Float32Array, from: number, to: number): number {
  let e = 0;
  for (let i = from; i < to; i++) e += x[i]! ** 2;
  return 10 * Math.log10(e / (to - from));
}

let copies = 0;
/**
 * A copy of the sample drive with `edit` applied to its manifest (and optionally its files). Streams not in
 * `only` are dropped from the manifest (all streams are optional), so each case loads just what it tests.
 */
function tamperedCopy(
  edit: (m: DriveManifest) => void,
  files?: (dir: string) => void,
  only?: readonly DriveStreamName[],
): string {
  const dir = join(tmp, `copy${copies++}`);
  cpSync(DIR, dir, { recursive: true });
  const m = manifest();
  if (only)
    for (const k of Object.keys(m.streams) as DriveStreamName[]) if (!only.includes(k)) delete m.streams[k];
  edit(m);
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
  files?.(dir);
  return dir;
}

async function assertDriveError(dir: string, what: RegExp): Promise<void> {
  await assert.rejects(loadDrive(dir), (e: unknown) => {
    assert.ok(e instanceof DriveError, `not a DriveError: ${String(e)}`);
    assert.match(e.message, what);
    return true;
  });
}

describe('sample drive (devices/sample-drive)', () => {
  test('one clock: drive starts 2026-01-15T03:00Z (21:00 in Chicago) and lasts 60 s', () => {
    assert.equal(drive.startUs, START_US);
    assert.equal(drive.endUs, START_US + 60_000_000);
    assert.equal(drive.vehicleId, 'sample-rav4');
  });

  test('ECG track: five drivedb channels at their own rates, physical units, highway label', () => {
    const ecg = drive.ecg!;
    assert.equal(ecg.tUs, START_US);
    assert.deepEqual(
      ecg.channels.map((c) => [c.name, c.kind, c.rateHz, c.units, c.samples.length]),
      [
        ['ECG', 'ecg', 496, 'mV', 29760],
        ['foot GSR', 'eda', 31, 'a.u.', 1860],
        ['hand GSR', 'eda', 31, 'a.u.', 1860],
        ['HR', 'hr', 15.5, 'bpm', 930],
        ['RESP', 'resp', 31, 'a.u.', 1860],
      ],
    );
    assert.deepEqual(ecg.label && [ecg.label.segment, ecg.label.stressLevel], ['Highway 2', 'medium']);
    const hr = ecg.channels[3]!.samples;
    assert.ok(hr.every((v) => v >= 40 && v <= 180));
    // The raw ECG's R peaks agree with the device's HR channel (a crude count: peaks over mid-range, 250 ms apart).
    const x = ecg.channels[0]!.samples;
    const sorted = Float32Array.from(x).sort();
    const thr =
      sorted[x.length >> 1]! + 0.5 * (sorted[Math.floor(x.length * 0.99)]! - sorted[x.length >> 1]!);
    let beats = 0;
    for (let i = 1, last = -1e9; i + 1 < x.length; i++) {
      if (x[i]! > thr && x[i]! >= x[i - 1]! && x[i]! > x[i + 1]! && i - last > 124) {
        beats++;
        last = i;
      }
    }
    const meanHr = hr.reduce((a, b) => a + b, 0) / hr.length;
    assert.ok(Math.abs(beats - meanHr) < 6, `${beats} R peaks in 60 s vs device HR ${meanHr.toFixed(1)} bpm`);
  });

  test('CAN track: 135,468 frames on the drive clock, both buses and the logger-sent frames', () => {
    const can = drive.can!;
    assert.equal(can.frames.length, 135468);
    assert.equal(can.frames[0]!.tUs, START_US);
    assert.ok(can.frames.at(-1)!.tUs < drive.endUs);
    assert.deepEqual([...new Set(can.frames.map((f) => `${f.bus}${f.tx ? ' tx' : ''}`))].sort(), [
      'can0',
      'can0 tx',
      'can1',
      'can1 tx',
    ]);
  });

  test('weather: the Open-Meteo observation at the drive start', () => {
    const w = drive.weather!;
    assert.equal(w.tUs, START_US);
    assert.equal(w.utcOffsetSeconds, -21600);
    assert.equal(w.current['temperature_2m'], 17.5);
    assert.equal(w.units['temperature_2m'], '°F');
    assert.equal(w.current['weather_code'], 3);
  });

  test('audio: 60 s, 16 kHz mono; speech where the manifest says, noise between', () => {
    const a = drive.audio!;
    assert.deepEqual([a.sampleRateHz, a.channels, a.samples.length, a.tUs], [16000, 1, 960000, START_US]);
    assert.ok(a.samples.every((v) => Math.abs(v) < 1));
    assert.equal(a.utterances.length, 13);
    const idx = (tUs: number): number => Math.round(((tUs - START_US) / 1e6) * 16000);
    a.utterances.forEach((u, i) => {
      if (i > 0) assert.ok(u.tUs >= a.utterances[i - 1]!.tUs + a.utterances[i - 1]!.durationUs, 'no overlap');
      const speechDb = rmsDb(a.samples, idx(u.tUs), idx(u.tUs + u.durationUs));
      assert.ok(speechDb > -28 && speechDb < -22, `${u.corpus} ${u.speaker}: ${speechDb} dBFS`);
    });
    // Between utterances there is only the street noise, several dB below the speech.
    const noiseDb = rmsDb(a.samples, idx(START_US + 28_000_000), idx(START_US + 29_500_000));
    assert.ok(noiseDb < -29, `noise ${noiseDb} dBFS`);
  });

  test('camera: 75 JPEG frames of 360×288 at 25 fps from 30 s, lip-synchronous with the GRID utterance', () => {
    const c = drive.camera!;
    assert.deepEqual(
      [c.frames.length, c.width, c.height, c.fps, c.tUs],
      [75, 360, 288, 25, START_US + 30_000_000],
    );
    c.frames.forEach((f, i) => {
      assert.equal(f.tUs, START_US + 30_000_000 + i * 40_000);
      assert.deepEqual(jpegSize(f.jpeg), { width: 360, height: 288 });
    });
    const grid = drive.audio!.utterances.find((u) => u.corpus === 'GRID')!;
    assert.equal(grid.tUs, c.tUs);
    assert.equal(grid.transcript, 'set white with p two soon');
  });

  test('size budget: under 5 MB in all, camera under 1.5 MB', () => {
    const size = (d: string): number =>
      readdirSync(d).reduce(
        (n, f) => n + (statSync(join(d, f)).isDirectory() ? size(join(d, f)) : statSync(join(d, f)).size),
        0,
      );
    assert.ok(size(DIR) < 5 * 1024 * 1024, `${size(DIR)} bytes`);
    assert.ok(size(join(DIR, 'camera')) < 1.5 * 1024 * 1024);
  });
});

describe('drive manifest validation', () => {
  const base = manifest();
  const variant = (edit: (m: DriveManifest) => void): DriveManifest => {
    const m = structuredClone(base);
    edit(m);
    return m;
  };
  const refuses = (m: unknown, what: RegExp): void =>
    assert.throws(
      () => parseDriveManifest(m),
      (e: unknown) => e instanceof DriveError && /^manifest\.json: /.test(e.message) && what.test(e.message),
    );

  test('the committed manifest is valid', () => {
    assert.equal(parseDriveManifest(base).streams.camera!.frames.length, 75);
  });

  test('schema errors name the field', () => {
    refuses(null, /\(root\)/);
    refuses(
      variant((m) => ((m as { version: number }).version = 2)),
      /version/,
    );
    refuses(
      variant((m) => ((m as { extra?: number }).extra = 1)),
      /extra|Unrecognized/,
    );
    refuses(
      variant((m) => (m.streams.ecg!.file = '/etc/passwd')),
      /streams\.ecg\.file: must be a relative path/,
    );
    refuses(
      variant((m) => (m.streams.audio!.file = '../audio.wav')),
      /streams\.audio\.file/,
    );
    refuses(
      variant((m) => (m.streams.camera!.frames[3]!.file = 'camera\\x.jpg')),
      /streams\.camera\.frames\.3\.file/,
    );
    refuses(
      variant((m) => (m.streams.ecg!.channels[0]!.kind = 'eeg' as 'ecg')),
      /streams\.ecg\.channels\.0\.kind/,
    );
    refuses(
      variant((m) => (m.vehicleId = 'a/b')),
      /vehicleId/,
    );
    refuses(
      variant((m) => (m.startUs = -1)),
      /startUs/,
    );
  });

  test('consistency errors: start time, stream spans, camera order, utterances', () => {
    refuses(
      variant((m) => (m.startIso = '2026-01-14T21:00:00.000Z')),
      /startIso/,
    );
    refuses(
      variant((m) => (m.streams.ecg!.offsetUs = 1)),
      /streams\.ecg spans/,
    );
    refuses(
      variant((m) => (m.streams.camera!.frames[5]!.offsetUs = m.streams.camera!.frames[4]!.offsetUs)),
      /frames\.5: times must increase/,
    );
    refuses(
      variant((m) => (m.streams.camera!.offsetUs = 0)),
      /first frame/,
    );
    refuses(
      variant((m) => (m.streams.audio!.utterances[0]!.offsetUs = 59_999_000)),
      /utterances\.0 lies outside/,
    );
  });

  test('fuzz: random JSON values are refused with a DriveError, never another exception', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        try {
          parseDriveManifest(v);
          assert.fail('accepted random JSON');
        } catch (e) {
          assert.ok(e instanceof DriveError, String(e));
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('loadDrive refuses drives whose files disagree with the manifest', () => {
  test('a drive may carry any subset of the streams', async () => {
    const d = await loadDrive(tamperedCopy(() => {}, undefined, ['weather', 'camera']));
    assert.deepEqual([d.ecg, d.can, d.audio], [undefined, undefined, undefined]);
    assert.equal(d.camera!.frames.length, 75);
    assert.equal(d.weather!.tUs, START_US);
  });

  test('missing files and bad JSON', async () => {
    await assertDriveError(
      tamperedCopy(
        () => {},
        (d) => rmSync(join(d, 'ecg.dat')),
        ['ecg'],
      ),
      /ecg\.dat: ENOENT/,
    );
    await assertDriveError(
      tamperedCopy(
        () => {},
        (d) => writeFileSync(join(d, 'manifest.json'), '{'),
      ),
      /manifest\.json: not valid JSON/,
    );
    await assertDriveError(join(tmp, 'nowhere'), /manifest\.json: ENOENT/);
  });

  test('ECG: rates, units and duration are checked against the record', async () => {
    await assertDriveError(
      tamperedCopy((m) => (m.streams.ecg!.channels[1]!.rateHz = 32), undefined, ['ecg']),
      /ecg\.hea: channel foot GSR: 31 Hz ≠ manifest 32 Hz/,
    );
    await assertDriveError(
      tamperedCopy((m) => (m.streams.ecg!.channels[3]!.units = 'mV'), undefined, ['ecg']),
      /channel HR: units bpm ≠ manifest mV/,
    );
    await assertDriveError(
      tamperedCopy((m) => (m.streams.ecg!.channels[0]!.name = 'EKG'), undefined, ['ecg']),
      /"EKG" is not in the record/,
    );
    await assertDriveError(
      tamperedCopy((m) => (m.streams.ecg!.durationUs = 59_000_000), undefined, ['ecg']),
      /930 frames = 60000000 µs ≠ manifest 59000000/,
    );
    await assertDriveError(
      tamperedCopy(
        () => {},
        (d) => writeFileSync(join(d, 'ecg.dat'), readFileSync(join(d, 'ecg.dat')).subarray(0, 1000)),
        ['ecg'],
      ),
      /ecg\.hea: WFDB: ecg\.dat holds/,
    );
  });

  test('CAN: frame count, compression, times and buses', async () => {
    // Cases run on the log's first 2000 lines (0.9 s) to stay quick; the full log is loaded above.
    const head =
      gunzipSync(readFileSync(join(DIR, 'can.log.gz')))
        .toString('latin1')
        .split('\n')
        .slice(0, 2000)
        .join('\n') + '\n';
    const small = (
      edit: (c: NonNullable<DriveManifest['streams']['can']>) => void,
      body = gzipSync(head),
    ): string =>
      tamperedCopy(
        (m) => {
          m.streams.can!.frameCount = 2000;
          edit(m.streams.can!);
        },
        (d) => writeFileSync(join(d, 'can.log.gz'), body),
        ['can'],
      );
    assert.equal((await loadDrive(small(() => {}))).can!.frames.length, 2000);
    await assertDriveError(
      small((c) => (c.frameCount = 5)),
      /can\.log\.gz: 2000 frames ≠ manifest 5/,
    );
    await assertDriveError(
      small((c) => (c.compression = 'none')),
      /can\.log\.gz: \d+ malformed lines \(line 1/,
    );
    await assertDriveError(
      small((c) => (c.durationUs = 500_000)),
      /frame \d+ at \d+ µs is outside the stream's/,
    );
    await assertDriveError(
      small((c) => (c.buses = ['can0'])),
      /bus can1 not in manifest buses/,
    );
    await assertDriveError(
      small(() => {}, gzipSync(head.replace('can0 260#', 'can0 260 '))),
      /1 malformed lines \(line 1: frame has no "#"\)/,
    );
  });

  test('weather, audio and camera', async () => {
    const laterObservation = (d: string): void => {
      const w = JSON.parse(readFileSync(join(d, 'weather.json'), 'utf8')) as { current: { time: string } };
      w.current.time = '2026-01-14T23:00';
      writeFileSync(join(d, 'weather.json'), JSON.stringify(w));
    };
    await assertDriveError(
      tamperedCopy(() => {}, laterObservation, ['weather']),
      /weather\.json: observation time 2026-01-15T05:00:00\.000Z ≠ manifest time 2026-01-15T03:00:00\.000Z/,
    );
    await assertDriveError(
      tamperedCopy(
        () => {},
        (d) => writeFileSync(join(d, 'weather.json'), '{"current": {}}'),
        ['weather'],
      ),
      /weather\.json: not an Open-Meteo current= response: utc_offset_seconds/,
    );
    await assertDriveError(
      tamperedCopy((m) => (m.streams.audio!.sampleRateHz = 48000), undefined, ['audio']),
      /audio\.wav: 16000 Hz ≠ manifest 48000 Hz/,
    );
    await assertDriveError(
      tamperedCopy((m) => (m.streams.audio!.sampleFormat = 'f32'), undefined, ['audio']),
      /sample format pcm16 ≠ manifest f32/,
    );
    await assertDriveError(
      tamperedCopy((m) => (m.streams.camera!.width = 640), undefined, ['camera']),
      /camera\/000001\.jpg: 360×288 ≠ manifest 640×288/,
    );
    await assertDriveError(
      tamperedCopy((m) => (m.streams.camera!.fps = 30), undefined, ['camera']),
      /does not match 30 fps/,
    );
    await assertDriveError(
      tamperedCopy(
        () => {},
        (d) =>
          writeFileSync(
            join(d, 'camera/000007.jpg'),
            readFileSync(join(d, 'camera/000007.jpg')).subarray(0, 500),
          ),
        ['camera'],
      ),
      /camera\/000007\.jpg: JPEG: no EOI/,
    );
  });
});

describe('jpegSize', () => {
  test('reads the SOF of a real frame; refuses non-JPEG and truncated data', () => {
    const jpeg = readFileSync(join(DIR, 'camera/000001.jpg'));
    assert.deepEqual(jpegSize(jpeg), { width: 360, height: 288 });
    assert.throws(() => jpegSize(new Uint8Array(10)), /^Error: JPEG: no SOI/);
    assert.throws(() => jpegSize(Uint8Array.of(0xff, 0xd8, 0xff, 0xd9)), /no SOF/);
  });

  test('fuzz: corrupted JPEG headers give a JPEG error or a size, never another exception', () => {
    const jpeg = readFileSync(join(DIR, 'camera/000001.jpg'));
    const head = jpeg.subarray(0, 700);
    const tail = jpeg.subarray(jpeg.length - 2);
    fc.assert(
      fc.property(
        fc.array(fc.record({ at: fc.integer({ min: 0, max: 699 }), v: fc.integer({ min: 0, max: 255 }) }), {
          maxLength: 8,
        }),
        fc.integer({ min: 0, max: 700 }),
        (edits, cut) => {
          const b = Uint8Array.from([...head.subarray(0, cut), ...tail]);
          for (const { at, v } of edits) if (at < b.length) b[at] = v;
          try {
            const { width, height } = jpegSize(b);
            assert.ok(width >= 0 && height >= 0);
          } catch (e) {
            assert.ok(e instanceof Error && e.message.startsWith('JPEG: '), String(e));
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('sample drive against its sources in ../shared', () => {
  test('ECG samples are drive05 frames 43400..44329 unchanged', { skip: SHARED_SKIP }, async () => {
    const src = await readWfdbRecordFile(shared('physio/drivedb/drive05.hea'), {
      startFrame: 43400,
      frameCount: 930,
    });
    for (const c of drive.ecg!.channels) {
      const s = src.signals.find((x) => x.name === c.name)!;
      assert.deepEqual(c.raw, s.raw, c.name);
      assert.equal(c.gain, s.spec.adcGain);
    }
  });

  test('CAN frames are the RAV4 log’s, shifted by one constant', { skip: SHARED_SKIP }, () => {
    const src = parseCandump(readFileSync(shared('can/rav4_2018-08-02--08-34-47_seg40.candump.log')));
    const mine = parseCandump(gunzipSync(readFileSync(join(DIR, 'can.log.gz'))));
    const shift = src.frames[0]!.tUs - mine.frames[0]!.tUs;
    assert.equal(shift, manifest().streams.can!.timeShiftUs);
    assert.equal(mine.frames.length, src.frames.length);
    mine.frames.forEach((f, i) => assert.deepEqual({ ...f, tUs: f.tUs + shift }, src.frames[i]));
  });

  test('weather.json is the source response byte for byte', { skip: SHARED_SKIP }, () => {
    assert.ok(
      readFileSync(join(DIR, 'weather.json')).equals(
        readFileSync(shared('weather/open-meteo_forecast_current_chicago_2026-01-14.json')),
      ),
    );
  });
});
