/**
 * Recorded-drive loader: reads a drive directory (a `manifest.json` plus the files it names) into typed
 * in-memory tracks for the drive player. The committed example is `devices/sample-drive/`.
 *
 * Time: the manifest's `startUs` (µs since the epoch) is the drive's clock origin. Every stream gives its
 * `offsetUs` from that origin, and the loaded tracks carry absolute event times (`tUs`, µs since the epoch):
 * ECG, audio: time of the first sample; CAN: each frame's own log time (the log is already on the drive clock);
 * camera: each frame's time; weather: the observation's time.
 *
 * Validation is strict and every failure is a `DriveError` naming the directory, file and field: a drive
 * whose files disagree with its manifest (rates, counts, units, times outside the drive) is refused rather than
 * replayed wrongly. File names must be relative paths inside the drive directory.
 */
import { readFile } from 'node:fs/promises';
import { observationTimeUs, utcOffsetSeconds } from '../contracts/weather.ts';
import { dirname, isAbsolute, join, normalize, sep } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { z } from 'zod';
import { parseCandump } from './candump.ts';
import type { CandumpFrame } from './candump.ts';
import { decodeWav } from './wav.ts';
import { decodeWfdbSignals, parseWfdbHeader } from './wfdb.ts';

// ---------------------------------------------------------------------------------------------------------
// Manifest schema (version 1)
// ---------------------------------------------------------------------------------------------------------

const relPath = z
  .string()
  .min(1)
  .max(255)
  .refine((p) => !isAbsolute(p) && !normalize(p).split(/[\\/]/).includes('..') && !p.includes('\\'), {
    message: 'must be a relative path inside the drive directory',
  });
const us = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const licence = z.string().min(1);

const sourceSchema = z.strictObject({
  dataset: z.string().min(1),
  files: z.array(z.string().min(1)).min(1),
  url: z.string().optional(),
  citation: z.string().optional(),
  notes: z.string().optional(),
});

/** Channel kinds, as the physio message contract names them. */
export const DRIVE_CHANNEL_KINDS = ['ecg', 'eda', 'resp', 'hr', 'emg', 'other'] as const;

const ecgStreamSchema = z.strictObject({
  file: relPath,
  format: z.literal('wfdb'),
  offsetUs: us,
  durationUs: us,
  frameRateHz: z.number().positive(),
  channels: z
    .array(
      z.strictObject({
        name: z.string().min(1),
        kind: z.enum(DRIVE_CHANNEL_KINDS),
        rateHz: z.number().positive(),
        units: z.string().min(1),
        unitsNote: z.string().optional(),
      }),
    )
    .min(1),
  label: z
    .strictObject({
      segment: z.string().min(1),
      stressLevel: z.enum(['low', 'medium', 'high']),
      sourceStartS: z.number().min(0),
      notes: z.string().optional(),
    })
    .optional(),
  source: sourceSchema,
  licence,
});

const canStreamSchema = z.strictObject({
  file: relPath,
  format: z.literal('candump'),
  compression: z.enum(['none', 'gzip']),
  offsetUs: us,
  durationUs: us,
  frameCount: z.number().int().min(0),
  buses: z.array(z.string().min(1)).min(1),
  /** Interface-name suffix marking frames the logger sent (`can0tx`); null if the log has none. */
  txSuffix: z.string().min(1).nullable(),
  dbc: z.string().optional(),
  /** Original log time − drive time, µs (for provenance; the file is already on the drive clock). */
  timeShiftUs: z.number().int().optional(),
  source: sourceSchema,
  licence,
});

const weatherStreamSchema = z.strictObject({
  file: relPath,
  format: z.literal('open-meteo-current'),
  offsetUs: us,
  source: sourceSchema,
  licence,
});

const utteranceSchema = z.strictObject({
  offsetUs: us,
  durationUs: us,
  corpus: z.string().min(1),
  speaker: z.string().min(1),
  file: z.string().min(1),
  transcript: z.string().optional(),
  licence,
});

const audioStreamSchema = z.strictObject({
  file: relPath,
  format: z.literal('wav'),
  sampleRateHz: z.number().int().positive(),
  channels: z.number().int().min(1).max(8),
  sampleFormat: z.enum(['s16', 'f32']),
  offsetUs: us,
  durationUs: us,
  mix: z
    .strictObject({
      speechLevelDbfs: z.number(),
      snrDb: z.number(),
      noise: z.strictObject({ corpus: z.string(), file: z.string(), startS: z.number().min(0), licence }),
    })
    .optional(),
  utterances: z.array(utteranceSchema),
  source: sourceSchema,
  licence,
});

const cameraStreamSchema = z.strictObject({
  format: z.literal('jpeg'),
  fps: z.number().positive(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  offsetUs: us,
  frames: z.array(z.strictObject({ file: relPath, offsetUs: us })).min(1),
  transcript: z.string().optional(),
  source: sourceSchema,
  licence,
});

export const driveManifestSchema = z.strictObject({
  format: z.literal('drivesense-drive'),
  version: z.literal(1),
  name: z.string().min(1),
  description: z.string(),
  vehicleId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and - (an MQTT topic level)'),
  startUs: us,
  startIso: z.string(),
  durationUs: us.refine((d) => d > 0, 'must be > 0'),
  streams: z.strictObject({
    ecg: ecgStreamSchema.optional(),
    can: canStreamSchema.optional(),
    weather: weatherStreamSchema.optional(),
    audio: audioStreamSchema.optional(),
    camera: cameraStreamSchema.optional(),
  }),
});

export type DriveManifest = z.infer<typeof driveManifestSchema>;
export type DriveStreamName = keyof DriveManifest['streams'];
export type EcgLabel = NonNullable<NonNullable<DriveManifest['streams']['ecg']>['label']>;

export class DriveError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DriveError';
  }
}

/** Validates a parsed manifest.json; `where` prefixes the error messages. */
export function parseDriveManifest(json: unknown, where = 'manifest.json'): DriveManifest {
  const r = driveManifestSchema.safeParse(json);
  if (!r.success) {
    const lines = r.error.issues
      .slice(0, 8)
      .map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`);
    throw new DriveError(`${where}: ${lines.join('; ')}`);
  }
  const m = r.data;
  const fail = (msg: string): never => {
    throw new DriveError(`${where}: ${msg}`);
  };
  if (Date.parse(m.startIso) * 1000 !== m.startUs) fail(`startIso ${m.startIso} ≠ startUs ${m.startUs}`);
  const within = (name: string, offsetUs: number, durationUs: number): void => {
    if (offsetUs + durationUs > m.durationUs) {
      fail(`streams.${name} spans ${offsetUs}+${durationUs} µs, past the drive's ${m.durationUs} µs`);
    }
  };
  const s = m.streams;
  if (s.ecg) within('ecg', s.ecg.offsetUs, s.ecg.durationUs);
  if (s.can) within('can', s.can.offsetUs, s.can.durationUs);
  if (s.weather) within('weather', s.weather.offsetUs, 0);
  if (s.audio) {
    within('audio', s.audio.offsetUs, s.audio.durationUs);
    s.audio.utterances.forEach((u, i) => {
      if (
        u.offsetUs < s.audio!.offsetUs ||
        u.offsetUs + u.durationUs > s.audio!.offsetUs + s.audio!.durationUs
      ) {
        fail(`streams.audio.utterances.${i} lies outside the audio stream`);
      }
    });
  }
  if (s.camera) {
    const f = s.camera.frames;
    if (f[0]!.offsetUs !== s.camera.offsetUs)
      fail('streams.camera.offsetUs must be the first frame’s offsetUs');
    f.forEach((fr, i) => {
      if (i > 0 && fr.offsetUs <= f[i - 1]!.offsetUs) fail(`streams.camera.frames.${i}: times must increase`);
    });
    within('camera', s.camera.offsetUs, f.at(-1)!.offsetUs - s.camera.offsetUs);
  }
  return m;
}

// ---------------------------------------------------------------------------------------------------------
// Tracks
// ---------------------------------------------------------------------------------------------------------

export interface PhysioTrackChannel {
  readonly name: string;
  readonly kind: (typeof DRIVE_CHANNEL_KINDS)[number];
  readonly units: string;
  readonly rateHz: number;
  /** Physical values (NaN for invalid samples). */
  readonly samples: Float32Array;
  /** The stored ADC values; physical = (raw − baseline) / gain. */
  readonly raw: Int16Array;
  readonly gain: number;
  readonly baseline: number;
}

export interface EcgTrack {
  /** Time of every channel's first sample. */
  readonly tUs: number;
  readonly durationUs: number;
  readonly frameRateHz: number;
  readonly channels: readonly PhysioTrackChannel[];
  /** The stress label of the source segment, when known. */
  readonly label: EcgLabel | undefined;
}

export interface CanTrack {
  readonly tUs: number;
  readonly durationUs: number;
  readonly frames: readonly CandumpFrame[];
  readonly buses: readonly string[];
}

export interface WeatherTrack {
  /** Observation time: `current.time` (local) shifted by `utc_offset_seconds`. */
  readonly tUs: number;
  readonly latitude: number | undefined;
  readonly longitude: number | undefined;
  readonly utcOffsetSeconds: number;
  readonly current: Readonly<Record<string, number | string | null>>;
  readonly units: Readonly<Record<string, string>>;
  /** The response as stored, for publishing unchanged. */
  readonly response: Readonly<Record<string, unknown>>;
}

export interface AudioUtterance {
  readonly tUs: number;
  readonly durationUs: number;
  readonly corpus: string;
  readonly speaker: string;
  readonly transcript: string | undefined;
}

export interface AudioTrack {
  readonly tUs: number;
  readonly durationUs: number;
  readonly sampleRateHz: number;
  readonly channels: number;
  /** Interleaved, in [−1, 1]. */
  readonly samples: Float32Array;
  /** Where clean speech was mixed in (ground truth for speech-activity and enhancement checks). */
  readonly utterances: readonly AudioUtterance[];
}

export interface CameraTrackFrame {
  readonly tUs: number;
  readonly file: string;
  readonly jpeg: Uint8Array;
}

export interface CameraTrack {
  readonly tUs: number;
  readonly fps: number;
  readonly width: number;
  readonly height: number;
  readonly frames: readonly CameraTrackFrame[];
}

export interface Drive {
  readonly dir: string;
  readonly manifest: DriveManifest;
  readonly name: string;
  readonly vehicleId: string;
  readonly startUs: number;
  readonly endUs: number;
  readonly ecg: EcgTrack | undefined;
  readonly can: CanTrack | undefined;
  readonly weather: WeatherTrack | undefined;
  readonly audio: AudioTrack | undefined;
  readonly camera: CameraTrack | undefined;
}

/** Width and height from a JPEG's first SOF segment; throws an Error for anything that is not a JPEG. */
export function jpegSize(bytes: Uint8Array): { width: number; height: number } {
  const n = bytes.byteLength;
  if (n < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) throw new Error('JPEG: no SOI marker');
  if (bytes[n - 2] !== 0xff || bytes[n - 1] !== 0xd9)
    throw new Error('JPEG: no EOI marker at the end (truncated?)');
  let p = 2;
  while (p + 4 <= n) {
    if (bytes[p] !== 0xff) throw new Error(`JPEG: expected a marker at byte ${p}`);
    const m = bytes[p + 1]!;
    if (m === 0xff) {
      p++; // fill byte
      continue;
    }
    if (m === 0x01 || (m >= 0xd0 && m <= 0xd7)) {
      p += 2;
      continue;
    }
    if (m === 0xda || m === 0xd9) break;
    const len = (bytes[p + 2]! << 8) | bytes[p + 3]!;
    if (len < 2) throw new Error(`JPEG: bad segment length at byte ${p}`);
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      if (p + 9 > n || len < 7) throw new Error('JPEG: truncated SOF segment');
      const height = (bytes[p + 5]! << 8) | bytes[p + 6]!;
      const width = (bytes[p + 7]! << 8) | bytes[p + 8]!;
      return { width, height };
    }
    p += 2 + len;
  }
  throw new Error('JPEG: no SOF segment before the image data');
}

const openMeteoSchema = z
  .object({
    latitude: z.number().min(-90).max(90).optional(),
    longitude: z.number().min(-180).max(180).optional(),
    utc_offset_seconds: utcOffsetSeconds,
    current_units: z.record(z.string(), z.string()),
    current: z.record(z.string(), z.union([z.number(), z.string(), z.null()])),
  })
  .loose();

/**
 * Loads a drive directory. Reads everything into memory (the sample drive is ~4 MB); the drive player streams
 * from these tracks.
 */
export async function loadDrive(dir: string): Promise<Drive> {
  const where = (file: string): string => `drive ${dir}: ${file}`;
  const read = async (file: string): Promise<Buffer> => {
    const path = join(dir, file);
    if (!normalize(path).startsWith(normalize(dir + sep)) && normalize(path) !== normalize(dir)) {
      throw new DriveError(`${where(file)}: outside the drive directory`);
    }
    try {
      return await readFile(path);
    } catch (e) {
      throw new DriveError(`${where(file)}: ${(e as Error).message}`, { cause: e });
    }
  };
  let json: unknown;
  try {
    json = JSON.parse((await read('manifest.json')).toString('utf8'));
  } catch (e) {
    if (e instanceof DriveError) throw e;
    throw new DriveError(`${where('manifest.json')}: not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  const manifest = parseDriveManifest(json, where('manifest.json'));
  const s = manifest.streams;
  const start = manifest.startUs;
  const wrap = async <T>(file: string, f: () => Promise<T> | T): Promise<T> => {
    try {
      return await f();
    } catch (e) {
      if (e instanceof DriveError) throw e;
      throw new DriveError(`${where(file)}: ${(e as Error).message}`, { cause: e });
    }
  };

  let ecg: EcgTrack | undefined;
  if (s.ecg) {
    const m = s.ecg;
    ecg = await wrap(m.file, async () => {
      const header = parseWfdbHeader((await read(m.file)).toString('latin1'));
      const files = new Map<string, Uint8Array>();
      for (const sig of header.signals) {
        if (!files.has(sig.fileName)) {
          files.set(sig.fileName, await read(join(dirname(m.file), sig.fileName)));
        }
      }
      const rec = decodeWfdbSignals(header, files);
      if (header.frameRateHz !== m.frameRateHz)
        throw new Error(`frame rate ${header.frameRateHz} ≠ manifest ${m.frameRateHz}`);
      const durationUs = Math.round((rec.frameCount / header.frameRateHz) * 1e6);
      if (durationUs !== m.durationUs)
        throw new Error(`${rec.frameCount} frames = ${durationUs} µs ≠ manifest ${m.durationUs}`);
      const channels = m.channels.map((c) => {
        const sig = rec.signals.find((x) => x.name === c.name);
        if (sig === undefined) throw new Error(`manifest channel "${c.name}" is not in the record`);
        if (sig.rateHz !== c.rateHz)
          throw new Error(`channel ${c.name}: ${sig.rateHz} Hz ≠ manifest ${c.rateHz} Hz`);
        if (sig.units !== c.units)
          throw new Error(`channel ${c.name}: units ${sig.units} ≠ manifest ${c.units}`);
        if (sig.invalidSamples > 0)
          throw new Error(`channel ${c.name}: ${sig.invalidSamples} invalid samples`);
        return {
          name: c.name,
          kind: c.kind,
          units: c.units,
          rateHz: c.rateHz,
          samples: sig.physical,
          raw: sig.raw,
          gain: sig.spec.adcGain,
          baseline: sig.spec.baseline,
        };
      });
      return {
        tUs: start + m.offsetUs,
        durationUs,
        frameRateHz: header.frameRateHz,
        channels,
        label: m.label,
      };
    });
  }

  let can: CanTrack | undefined;
  if (s.can) {
    const m = s.can;
    can = await wrap(m.file, async () => {
      let bytes: Uint8Array = await read(m.file);
      if (m.compression === 'gzip') bytes = gunzipSync(bytes, { maxOutputLength: 256 * 1024 * 1024 });
      const log = parseCandump(bytes, { splitTxSuffix: m.txSuffix === 'tx' });
      if (log.stats.malformedCount > 0) {
        const first = log.stats.malformed[0]!;
        throw new Error(`${log.stats.malformedCount} malformed lines (line ${first.line}: ${first.reason})`);
      }
      if (log.frames.length !== m.frameCount)
        throw new Error(`${log.frames.length} frames ≠ manifest ${m.frameCount}`);
      const t0 = start + m.offsetUs;
      const t1 = t0 + m.durationUs;
      let prev = -Infinity;
      for (const [i, f] of log.frames.entries()) {
        if (f.tUs < t0 || f.tUs >= t1)
          throw new Error(`frame ${i} at ${f.tUs} µs is outside the stream's [${t0}, ${t1})`);
        if (f.tUs < prev) throw new Error(`frame ${i}: time goes backwards`);
        if (!m.buses.includes(f.bus)) throw new Error(`frame ${i}: bus ${f.bus} not in manifest buses`);
        prev = f.tUs;
      }
      return { tUs: t0, durationUs: m.durationUs, frames: log.frames, buses: m.buses };
    });
  }

  let weather: WeatherTrack | undefined;
  if (s.weather) {
    const m = s.weather;
    weather = await wrap(m.file, async () => {
      const raw: unknown = JSON.parse((await read(m.file)).toString('utf8'));
      const r = openMeteoSchema.safeParse(raw);
      if (!r.success) {
        const i = r.error.issues[0]!;
        throw new Error(`not an Open-Meteo current= response: ${i.path.join('.') || '(root)'}: ${i.message}`);
      }
      const w = r.data;
      const tUs = start + m.offsetUs;
      const observed = observationTimeUs(w.current['time'], w.utc_offset_seconds);
      if (observed === undefined)
        throw new DriveError(`${where(m.file)}: current.time must be a local time YYYY-MM-DDTHH:MM`);
      const interval = typeof w.current['interval'] === 'number' ? w.current['interval'] * 1e6 : 0;
      if (Math.abs(observed - tUs) > interval) {
        throw new Error(
          `observation time ${new Date(observed / 1000).toISOString()} ≠ manifest time ${new Date(tUs / 1000).toISOString()}`,
        );
      }
      return {
        tUs: observed,
        latitude: w.latitude,
        longitude: w.longitude,
        utcOffsetSeconds: w.utc_offset_seconds,
        current: w.current,
        units: w.current_units,
        response: w as Record<string, unknown>,
      };
    });
  }

  let audio: AudioTrack | undefined;
  if (s.audio) {
    const m = s.audio;
    audio = await wrap(m.file, async () => {
      const wav = decodeWav(await read(m.file));
      if (wav.sampleRateHz !== m.sampleRateHz)
        throw new Error(`${wav.sampleRateHz} Hz ≠ manifest ${m.sampleRateHz} Hz`);
      if (wav.channels !== m.channels) throw new Error(`${wav.channels} channels ≠ manifest ${m.channels}`);
      const fmt =
        wav.encoding === 'pcm' && wav.bitsPerSample === 16
          ? 's16'
          : wav.encoding === 'float' && wav.bitsPerSample === 32
            ? 'f32'
            : 'other';
      if (fmt !== m.sampleFormat)
        throw new Error(`sample format ${wav.encoding}${wav.bitsPerSample} ≠ manifest ${m.sampleFormat}`);
      const durationUs = Math.round((wav.frames / wav.sampleRateHz) * 1e6);
      if (durationUs !== m.durationUs)
        throw new Error(`${wav.frames} frames = ${durationUs} µs ≠ manifest ${m.durationUs}`);
      const tUs = start + m.offsetUs;
      return {
        tUs,
        durationUs,
        sampleRateHz: wav.sampleRateHz,
        channels: wav.channels,
        samples: wav.samples,
        utterances: m.utterances.map((u) => ({
          tUs: start + u.offsetUs,
          durationUs: u.durationUs,
          corpus: u.corpus,
          speaker: u.speaker,
          transcript: u.transcript,
        })),
      };
    });
  }

  let camera: CameraTrack | undefined;
  if (s.camera) {
    const m = s.camera;
    const frames: CameraTrackFrame[] = [];
    for (const f of m.frames) {
      const jpeg = await read(f.file);
      const size = await wrap(f.file, () => jpegSize(jpeg));
      if (size.width !== m.width || size.height !== m.height) {
        throw new DriveError(
          `${where(f.file)}: ${size.width}×${size.height} ≠ manifest ${m.width}×${m.height}`,
        );
      }
      frames.push({ tUs: start + f.offsetUs, file: f.file, jpeg });
    }
    const periodUs = 1e6 / m.fps;
    frames.forEach((f, i) => {
      if (i > 0 && Math.abs(f.tUs - frames[i - 1]!.tUs - periodUs) > 1000) {
        throw new DriveError(
          `${where(f.file)}: frame interval ${f.tUs - frames[i - 1]!.tUs} µs does not match ${m.fps} fps`,
        );
      }
    });
    camera = { tUs: start + m.offsetUs, fps: m.fps, width: m.width, height: m.height, frames };
  }

  return {
    dir,
    manifest,
    name: manifest.name,
    vehicleId: manifest.vehicleId,
    startUs: start,
    endUs: start + manifest.durationUs,
    ecg,
    can,
    weather,
    audio,
    camera,
  };
}
