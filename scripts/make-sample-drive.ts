/**
 * Builds devices/sample-drive/ — the 60 s recorded drive the first-run demo replays — from the real recordings
 * in ../shared/data. Run: node --import tsx scripts/make-sample-drive.ts
 * Needs ffmpeg (with libsoxr) on the PATH at build time only; the drive itself is read without it.
 *
 * All streams share one clock: the drive starts at 2026-01-15T03:00:00Z, which is 2026-01-14 21:00 in
 * America/Chicago (UTC−6), the time of the Open-Meteo observation that is the drive's weather. The
 * recordings are real but were not made together: ECG from a PhysioNet drivedb drive (Boston, ~1999), CAN
 * from a comma.ai RAV4 (California, 2018), speech and noise from corpora. See devices/sample-drive/README.md.
 *
 * The output is deterministic for a given ffmpeg build (bit-exact flags, fixed excerpts, no randomness).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { formatCandumpLine, parseCandump, readCandumpFile } from '../src/streams/readers/candump.ts';
import { jpegSize, loadDrive, parseDriveManifest } from '../src/streams/readers/sample-drive.ts';
import type { DriveManifest } from '../src/streams/readers/sample-drive.ts';
import { decodeWav, encodeWav, readWavFile } from '../src/streams/readers/wav.ts';
import { encodeWfdbRecord, readWfdbRecordFile } from '../src/streams/readers/wfdb.ts';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const SHARED = resolve(ROOT, '../shared/data');
const OUT = join(ROOT, 'devices/sample-drive');
const TMP = mkdtempSync(join(tmpdir(), 'sample-drive-'));

const START_ISO = '2026-01-15T03:00:00.000Z';
const START_US = Date.parse(START_ISO) * 1000;
const DURATION_S = 60;
const DURATION_US = DURATION_S * 1_000_000;
const SAMPLE_RATE_HZ = 16000;

function check(cond: boolean, msg: string): asserts cond {
  if (!cond) throw new Error(`make-sample-drive: ${msg}`);
}

function ffmpeg(args: string[]): void {
  execFileSync('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-y', ...args], { stdio: 'inherit' });
}

// Remove only what this script writes (README.md is maintained by hand).
const GENERATED = [
  'manifest.json',
  'ecg.hea',
  'ecg.dat',
  'can.log.gz',
  'weather.json',
  'audio.wav',
  'camera',
];
for (const f of GENERATED) rmSync(join(OUT, f), { recursive: true, force: true });
mkdirSync(join(OUT, 'camera'), { recursive: true });

// ---------------------------------------------------------------------------------------------------------
// Weather: the Open-Meteo response verbatim; its observation time defines the drive's start.
// ---------------------------------------------------------------------------------------------------------
const WEATHER_SRC = 'weather/open-meteo_forecast_current_chicago_2026-01-14.json';
const weather = JSON.parse(readFileSync(join(SHARED, WEATHER_SRC), 'utf8')) as {
  utc_offset_seconds: number;
  current: { time: string; interval: number };
};
{
  const observedUs = (Date.parse(`${weather.current.time}Z`) - weather.utc_offset_seconds * 1000) * 1000;
  check(
    observedUs === START_US,
    `weather observed at ${new Date(observedUs / 1000).toISOString()}, drive starts ${START_ISO}`,
  );
  writeFileSync(join(OUT, 'weather.json'), readFileSync(join(SHARED, WEATHER_SRC))); // verbatim
}

// ---------------------------------------------------------------------------------------------------------
// ECG: 60 s of drivedb drive05 inside the "Highway 2" segment (medium stress), full rate.
// ---------------------------------------------------------------------------------------------------------
const ECG_SOURCE_START_S = 2800; // 43400 frames at 15.5 Hz: a frame boundary
const ECG_FRAMES = DURATION_S * 15.5;
const ECG_CHANNELS = [
  { name: 'ECG', kind: 'ecg', units: 'mV' },
  { name: 'foot GSR', kind: 'eda', units: 'a.u.' },
  { name: 'hand GSR', kind: 'eda', units: 'a.u.' },
  { name: 'HR', kind: 'hr', units: 'bpm' },
  { name: 'RESP', kind: 'resp', units: 'a.u.' },
] as const;
const UNITS_NOTE =
  'drivedb gives no unit (WFDB would default to mV); value = (raw − baseline) / gain as in the source header';
const segment = readFileSync(join(SHARED, 'physio/drivedb/drivedb_stress_segments.csv'), 'utf8')
  .split('\n')
  .map((l) => l.split(','))
  .find((r) => r[0] === 'drive05' && r[1] === 'Highway 2');
check(segment !== undefined, 'drive05 Highway 2 segment not found');
const [segStart, segEnd] = [Number(segment[3]), Number(segment[4])];
check(
  ECG_SOURCE_START_S > segStart && ECG_SOURCE_START_S + DURATION_S < segEnd,
  `window ${ECG_SOURCE_START_S}+${DURATION_S} s is not inside Highway 2 [${segStart}, ${segEnd}]`,
);
const drive05 = await readWfdbRecordFile(join(SHARED, 'physio/drivedb/drive05.hea')); // verifies checksums
const firstFrame = Math.round(ECG_SOURCE_START_S * 15.5);
const ecgSignals = ECG_CHANNELS.map((c) => {
  const sig = drive05.signals.find((s) => s.name === c.name);
  check(sig !== undefined, `drive05 has no ${c.name}`);
  const spf = sig.samplesPerFrame;
  const raw = sig.raw.slice(firstFrame * spf, (firstFrame + ECG_FRAMES) * spf);
  // Quality gates for the excerpt: no invalid or saturated samples, no flat line, HR plausible throughout.
  check(
    raw.every((v) => v > -32768 && v < 32767),
    `${c.name}: invalid or saturated samples`,
  );
  check(new Set(raw).size > 5, `${c.name}: flat`);
  if (c.name === 'HR')
    check(
      raw.every((v) => v >= 40 && v <= 180),
      'HR outside 40..180 bpm (device dropout?)',
    );
  return {
    spec: {
      fileName: 'ecg.dat',
      format: 16,
      samplesPerFrame: spf,
      skew: 0,
      byteOffset: 0,
      adcGain: sig.spec.adcGain,
      calibrated: sig.spec.calibrated,
      baseline: sig.spec.baseline,
      units: c.units,
      adcResolution: sig.spec.adcResolution,
      adcZero: sig.spec.adcZero,
      blockSize: 0,
      description: c.name,
    },
    raw,
  };
});
{
  const built = encodeWfdbRecord(
    {
      recordName: 'ecg',
      frameRateHz: 15.5,
      counterFrequencyHz: undefined,
      baseCounter: undefined,
      frameCount: ECG_FRAMES,
      baseTime: '03:00:00',
      baseDate: '15/01/2026',
      comments: [
        `Excerpt of PhysioNet drivedb record drive05, frames ${firstFrame}..${firstFrame + ECG_FRAMES - 1}`,
        `(${ECG_SOURCE_START_S}.0-${ECG_SOURCE_START_S + DURATION_S}.0 s), segment Highway 2 (medium stress).`,
        'Samples copied unchanged; units made explicit (drivedb leaves GSR/RESP units unstated).',
        'Base time/date: the sample drive clock (UTC), not the original recording time.',
        'Healey & Picard, IEEE T-ITS 6(2) 2005; Goldberger et al., Circulation 101(23) 2000. ODC-By 1.0.',
      ],
    },
    ecgSignals,
  );
  writeFileSync(join(OUT, 'ecg.hea'), built.headerText);
  writeFileSync(join(OUT, 'ecg.dat'), built.files.get('ecg.dat')!);
}

// ---------------------------------------------------------------------------------------------------------
// CAN: the whole 60 s RAV4 log, shifted onto the drive clock, gzip-compressed.
// ---------------------------------------------------------------------------------------------------------
const CAN_SRC = 'can/rav4_2018-08-02--08-34-47_seg40.candump.log';
const canLog = await readCandumpFile(join(SHARED, CAN_SRC));
check(canLog.stats.malformedCount === 0, 'malformed lines in the RAV4 log');
const canT0 = canLog.frames[0]!.tUs;
const canShift = START_US - canT0;
const canText =
  canLog.frames.map((f) => formatCandumpLine({ ...f, tUs: f.tUs + canShift })).join('\n') + '\n';
const canGz = gzipSync(Buffer.from(canText, 'utf8'), { level: 9 });
writeFileSync(join(OUT, 'can.log.gz'), canGz);
{
  // The written log decodes to the source frames, shifted.
  const back = parseCandump(gunzipSync(canGz));
  check(back.frames.length === canLog.frames.length && back.stats.malformedCount === 0, 'CAN round trip');
  back.frames.forEach((f, i) => check(f.tUs === canLog.frames[i]!.tUs + canShift, `CAN frame ${i} time`));
}
const canSpanUs = canLog.frames.at(-1)!.tUs - canT0;
check(canSpanUs < DURATION_US, `CAN log spans ${canSpanUs} µs`);

// ---------------------------------------------------------------------------------------------------------
// Audio: 16 kHz mono, speech utterances spaced over 60 s, mixed with Berlin street noise at +5 dB SNR.
// The GRID clip whose video is the camera stream is placed at the camera's time (lip-synchronous).
// ---------------------------------------------------------------------------------------------------------
const CAMERA_OFFSET_S = 30;
const GRID_CLIP = 's2_swwp2s';
const NOISE_FILE = 'audio/noise/berlin_street/1CDCDA78-CA1D-449C-8294-E7C748BCAE99.m4a';
const NOISE_START_S = 30;
const SPEECH_LEVEL_DBFS = -26;
const SNR_DB = 5;
const GAP_S = 1.5;

interface Utterance {
  corpus: string;
  speaker: string;
  file: string;
  licence: string;
  transcript?: string;
  samples: Float32Array;
}

function toMono16k(path: string, extra: string[] = []): Float32Array {
  const out = join(TMP, `${basename(path)}.wav`);
  ffmpeg([
    ...extra,
    '-i',
    path,
    '-vn',
    '-ac',
    '1',
    '-af',
    `aresample=resampler=soxr:precision=28:osr=${SAMPLE_RATE_HZ}`,
    '-c:a',
    'pcm_f32le',
    '-fflags',
    '+bitexact',
    '-flags:a',
    '+bitexact',
    '-map_metadata',
    '-1',
    out,
  ]);
  const w = decodeWav(readFileSync(out));
  check(
    w.sampleRateHz === SAMPLE_RATE_HZ && w.channels === 1,
    `${path}: ffmpeg gave ${w.sampleRateHz} Hz × ${w.channels}`,
  );
  return w.samples;
}

async function corpusUtterance(rel: string): Promise<Utterance> {
  const w = await readWavFile(join(SHARED, rel));
  check(w.sampleRateHz === SAMPLE_RATE_HZ && w.channels === 1, `${rel} is not 16 kHz mono`);
  const name = basename(rel, '.wav');
  if (rel.includes('cmu_arctic')) {
    const speaker = /us_(\w+?)_/.exec(name)?.[1] ?? 'unknown';
    return { corpus: 'CMU ARCTIC', speaker, file: `${name}.wav`, licence: 'CMU-ARCTIC', samples: w.samples };
  }
  return {
    corpus: 'Audio-Visual Lombard GRID',
    speaker: name.split('_')[0]!,
    file: `${name}.wav`,
    licence: 'CC-BY-4.0',
    samples: w.samples,
  };
}

/** Active speech level (dBFS): RMS over the 20 ms frames within 35 dB of the loudest frame. */
function activeLevelDb(x: Float32Array): number {
  const frame = 320;
  const energies: number[] = [];
  for (let i = 0; i + frame <= x.length; i += frame) {
    let e = 0;
    for (let k = 0; k < frame; k++) e += x[i + k]! ** 2;
    energies.push(e / frame);
  }
  const max = Math.max(...energies);
  const active = energies.filter((e) => e >= max * 10 ** (-35 / 10));
  return 10 * Math.log10(active.reduce((a, b) => a + b, 0) / active.length);
}

function rmsDb(x: Float32Array): number {
  let e = 0;
  for (const v of x) e += v * v;
  return 10 * Math.log10(e / x.length);
}

const before = await Promise.all(
  [
    'audio/speech/cmu_arctic/cmu_arctic_us_aew_a0001.wav',
    'audio/speech/lombard_grid/s31_l_pbbj8s.wav',
    'audio/speech/cmu_arctic/cmu_arctic_us_axb_a0004.wav',
    'audio/speech/lombard_grid/s35_l_lbaa3a.wav',
    'audio/speech/cmu_arctic/cmu_arctic_us_aew_a0003.wav',
    'audio/speech/lombard_grid/s37_l_lbaf5a.wav',
  ].map(corpusUtterance),
);
const afterClip = await Promise.all(
  [
    'audio/speech/lombard_grid/s30_l_lbwzzp.wav',
    'audio/speech/cmu_arctic/cmu_arctic_us_axb_a0006.wav',
    'audio/speech/lombard_grid/s33_l_lbas6s.wav',
    'audio/speech/cmu_arctic/cmu_arctic_us_aew_a0002.wav',
    'audio/speech/lombard_grid/s32_p_lrit7p.wav',
    'audio/speech/cmu_arctic/cmu_arctic_us_axb_a0005.wav',
  ].map(corpusUtterance),
);
const gridTranscript = readFileSync(join(SHARED, 'av/grid/MANIFEST.csv'), 'utf8')
  .split('\n')
  .find((l) => l.startsWith(`${GRID_CLIP}.mpg,`))
  ?.split(',')
  .at(-1)
  ?.trim();
const gridClip: Utterance = {
  corpus: 'GRID',
  speaker: 's2',
  file: `${GRID_CLIP}.mpg`,
  licence: 'CC-BY-4.0',
  samples: toMono16k(join(SHARED, `av/grid/${GRID_CLIP}.mpg`)),
  ...(gridTranscript ? { transcript: gridTranscript } : {}),
};

const placed: { u: Utterance; offsetS: number }[] = [];
{
  let t = 1.0;
  for (const u of before) {
    placed.push({ u, offsetS: t });
    t += u.samples.length / SAMPLE_RATE_HZ + GAP_S;
  }
  check(t - GAP_S <= CAMERA_OFFSET_S - 0.5, `utterances before the clip end at ${t - GAP_S} s`);
  placed.push({ u: gridClip, offsetS: CAMERA_OFFSET_S });
  t = CAMERA_OFFSET_S + gridClip.samples.length / SAMPLE_RATE_HZ + GAP_S;
  for (const u of afterClip) {
    placed.push({ u, offsetS: t });
    t += u.samples.length / SAMPLE_RATE_HZ + GAP_S;
  }
  check(t - GAP_S <= DURATION_S - 0.5, `utterances end at ${t - GAP_S} s`);
}

const total = DURATION_S * SAMPLE_RATE_HZ;
const speech = new Float32Array(total);
for (const { u, offsetS } of placed) {
  const gain = 10 ** ((SPEECH_LEVEL_DBFS - activeLevelDb(u.samples)) / 20);
  const at = Math.round(offsetS * SAMPLE_RATE_HZ);
  u.samples.forEach((v, i) => (speech[at + i] = v * gain));
}
const noiseRaw = toMono16k(join(SHARED, NOISE_FILE), [
  '-ss',
  String(NOISE_START_S),
  '-t',
  String(DURATION_S),
]);
check(noiseRaw.length >= total - 1, `noise excerpt has ${noiseRaw.length} samples`);
const noiseGain = 10 ** ((SPEECH_LEVEL_DBFS - SNR_DB - rmsDb(noiseRaw.subarray(0, total))) / 20);
const mix = new Float32Array(total);
for (let i = 0; i < total; i++) mix[i] = speech[i]! + (noiseRaw[i] ?? 0) * noiseGain;
const peak = mix.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
check(peak < 0.99, `mix peaks at ${peak} (would clip)`);
writeFileSync(
  join(OUT, 'audio.wav'),
  encodeWav({ sampleRateHz: SAMPLE_RATE_HZ, channels: 1, samples: mix }, 'pcm16'),
);

// ---------------------------------------------------------------------------------------------------------
// Camera: the GRID clip's 75 frames (3 s at 25 fps) as JPEG, from the drive's 30 s mark.
// ---------------------------------------------------------------------------------------------------------
const JPEG_QUALITY = 6; // ffmpeg -q:v (2 best … 31 worst)
ffmpeg([
  '-i',
  join(SHARED, `av/grid/${GRID_CLIP}.mpg`),
  '-an',
  '-q:v',
  String(JPEG_QUALITY),
  '-start_number',
  '1',
  '-fflags',
  '+bitexact',
  '-flags:v',
  '+bitexact',
  '-map_metadata',
  '-1',
  join(OUT, 'camera/%06d.jpg'),
]);
const cameraFiles = readdirSync(join(OUT, 'camera'))
  .filter((f) => f.endsWith('.jpg'))
  .sort();
check(cameraFiles.length === 75, `expected 75 camera frames, got ${cameraFiles.length}`);
const { width, height } = jpegSize(readFileSync(join(OUT, 'camera', cameraFiles[0]!)));

// ---------------------------------------------------------------------------------------------------------
// Manifest
// ---------------------------------------------------------------------------------------------------------
const us = (s: number): number => Math.round(s * 1e6);
const manifest: DriveManifest = {
  format: 'drivesense-drive',
  version: 1,
  name: 'sample-drive',
  description:
    'A 60 s drive assembled from real recordings on one clock: drivedb ECG/GSR/RESP/HR (highway, medium stress), ' +
    'a Toyota RAV4 CAN log (highway), an Open-Meteo observation, cabin audio (corpus speech over Berlin street ' +
    'noise) and a GRID talking-face camera clip lip-synchronous with one utterance. The recordings were not made ' +
    'together; see README.md.',
  vehicleId: 'sample-rav4',
  startUs: START_US,
  startIso: START_ISO,
  durationUs: DURATION_US,
  streams: {
    ecg: {
      file: 'ecg.hea',
      format: 'wfdb',
      offsetUs: 0,
      durationUs: us(ECG_FRAMES / 15.5),
      frameRateHz: 15.5,
      channels: ECG_CHANNELS.map((c, i) => ({
        name: c.name,
        kind: c.kind,
        rateHz: 15.5 * ecgSignals[i]!.spec.samplesPerFrame,
        units: c.units,
        ...(c.units === 'a.u.' ? { unitsNote: UNITS_NOTE } : {}),
      })),
      label: {
        segment: 'Highway 2',
        stressLevel: 'medium',
        sourceStartS: ECG_SOURCE_START_S,
        notes: `drivedb_stress_segments.csv: drive05 Highway 2 spans ${segStart}-${segEnd} s (Healey & Picard 2005 three-level scheme)`,
      },
      source: {
        dataset: 'PhysioNet drivedb 1.0.0 (Stress Recognition in Automobile Drivers)',
        files: ['drive05.hea', 'drive05.dat'],
        url: 'https://physionet.org/content/drivedb/1.0.0/',
        citation:
          'Healey JA, Picard RW. Detecting stress during real-world driving tasks using physiological sensors. IEEE T-ITS 6(2):156-166, 2005. ' +
          'Goldberger AL et al. PhysioBank, PhysioToolkit, and PhysioNet. Circulation 101(23):e215-e220, 2000.',
        notes: 'EMG and marker channels left out; samples unchanged.',
      },
      licence: 'ODC-By-1.0',
    },
    can: {
      file: 'can.log.gz',
      format: 'candump',
      compression: 'gzip',
      offsetUs: 0,
      durationUs: DURATION_US,
      frameCount: canLog.frames.length,
      buses: ['can0', 'can1'],
      txSuffix: 'tx',
      dbc: 'opendbc toyota_new_mc_pt_generated.dbc',
      timeShiftUs: -canShift,
      source: {
        dataset:
          'comma2k19 (comma.ai), Example_1, 2018-08-02--08-34-47 segment 40, 2018 Toyota RAV4, highway',
        files: ['rav4_2018-08-02--08-34-47_seg40.candump.log'],
        url: 'https://github.com/commaai/comma2k19',
        notes:
          'All frames, times shifted so the first frame is at the drive start; can0tx/can1tx = frames the logger sent.',
      },
      licence: 'MIT',
    },
    weather: {
      file: 'weather.json',
      format: 'open-meteo-current',
      offsetUs: 0,
      source: {
        dataset: 'Open-Meteo /v1/forecast current= response, Chicago (41.72 N, 87.64 W)',
        files: [basename(WEATHER_SRC)],
        url: 'https://open-meteo.com/',
        notes: 'Unchanged. Its observation time (2026-01-14T21:00 local, UTC−6) is the drive start.',
      },
      licence: 'CC-BY-4.0',
    },
    audio: {
      file: 'audio.wav',
      format: 'wav',
      sampleRateHz: SAMPLE_RATE_HZ,
      channels: 1,
      sampleFormat: 's16',
      offsetUs: 0,
      durationUs: DURATION_US,
      mix: {
        speechLevelDbfs: SPEECH_LEVEL_DBFS,
        snrDb: SNR_DB,
        noise: {
          corpus: 'Berlin Noise (Thomas Rosen)',
          file: basename(NOISE_FILE),
          startS: NOISE_START_S,
          licence: 'CC-BY-4.0',
        },
      },
      utterances: placed.map(({ u, offsetS }) => ({
        offsetUs: us(offsetS),
        durationUs: us(u.samples.length / SAMPLE_RATE_HZ),
        corpus: u.corpus,
        speaker: u.speaker,
        file: u.file,
        ...(u.transcript !== undefined ? { transcript: u.transcript } : {}),
        licence: u.licence,
      })),
      source: {
        dataset: 'CMU ARCTIC, Audio-Visual Lombard GRID, GRID (speech); Berlin Noise (street noise)',
        files: [...placed.map((p) => p.u.file), basename(NOISE_FILE)],
        notes:
          'Modified: each utterance scaled to -26 dBFS active level and placed at its offset; noise resampled to ' +
          '16 kHz mono (soxr), scaled to +5 dB SNR against that level, added; written as 16-bit PCM.',
      },
      licence: 'CC-BY-4.0 AND LicenseRef-CMU-ARCTIC',
    },
    camera: {
      format: 'jpeg',
      fps: 25,
      width,
      height,
      offsetUs: us(CAMERA_OFFSET_S),
      frames: cameraFiles.map((f, i) => ({
        file: `camera/${f}`,
        offsetUs: us(CAMERA_OFFSET_S) + i * 40_000,
      })),
      ...(gridTranscript ? { transcript: gridTranscript } : {}),
      source: {
        dataset: 'GRID audio-visual corpus (Cooke, Barker, Cunningham, Shao 2006), speaker s2, clip swwp2s',
        files: [`${GRID_CLIP}.mpg`],
        url: 'https://doi.org/10.5281/zenodo.3625687',
        notes: `Every video frame re-encoded as JPEG (ffmpeg -q:v ${JPEG_QUALITY}); its audio is the utterance at ${CAMERA_OFFSET_S} s.`,
      },
      licence: 'CC-BY-4.0',
    },
  },
};
parseDriveManifest(manifest);
writeFileSync(join(OUT, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');

// Self-check: the loader accepts what was written.
const drive = await loadDrive(OUT);
check(
  drive.camera?.frames.length === 75 && drive.can?.frames.length === canLog.frames.length,
  'loadDrive self-check',
);
rmSync(TMP, { recursive: true, force: true });

let bytes = 0;
const sizes: string[] = [];
for (const f of GENERATED.filter((g) => g !== 'camera')) {
  const n = statSync(join(OUT, f)).size;
  bytes += n;
  sizes.push(`${f} ${n}`);
}
const camBytes = cameraFiles.reduce((n, f) => n + statSync(join(OUT, 'camera', f)).size, 0);
bytes += camBytes;
sizes.push(`camera/ (${cameraFiles.length} files) ${camBytes}`);
console.log(sizes.join('\n'));
console.log(
  `total ${bytes} bytes (README.md not counted); mix peak ${peak.toFixed(3)}; CAN shift ${canShift} µs`,
);
