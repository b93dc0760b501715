/**
 * drivedb records for the stress models, from either storage form, in one shape.
 *
 * - WFDB full-rate records (drive05, drive06, drive17a, drive17b; format 16, multi-rate): the HR series comes
 *   from QRS detection on the raw ECG (`detectBeats` → RR → the ectopic/artefact rule of rr.ts; only kept
 *   normal-to-normal intervals become HR points). If the ECG is unusable (rate outside the detector's range,
 *   or fewer than `minEcgCoverage` of the record covered by kept beats) the device HR channel is used.
 * - `rdsamp` CSV exports (drive07–11, frame-averaged: the ECG column cannot be used for QRS detection): the
 *   device HR channel (15.5 Hz), with zeros and non-finite values excluded (the device writes 0 when it has no
 *   beat).
 *
 * Time convention: every time here is seconds from the record's first sample (the labels' `start_s`/`end_s`
 * use the same origin). `baseTime`/`baseDate` are the WFDB header's wall-clock start when it gives one.
 * GSR and respiration keep their own rates (WFDB: 31 Hz; CSV: the frame rate, ≈15.5 Hz). The `marker`
 * channel is kept only so the reorder tool can flatten it: it is an operator's button, never a model input.
 *
 * I/O lives only in the `load…`/`read…` functions; the rest is pure.
 */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { detectBeats } from '../../streams/features/ecg/beat-stream.ts';
import { classifyRr, rrFromBeats } from '../../streams/features/ecg/rr.ts';
import { readRdsampCsvFile } from '../../streams/readers/rdsamp-csv.ts';
import type { RdsampRecord } from '../../streams/readers/rdsamp-csv.ts';
import { readWfdbRecordFile } from '../../streams/readers/wfdb.ts';
import type { WfdbRecord } from '../../streams/readers/wfdb.ts';

export const STRESS_LEVELS = ['low', 'medium', 'high'] as const;
export type StressLevel = (typeof STRESS_LEVELS)[number];

/** Evenly sampled channel: sample i at i / rateHz s from the record start. NaN = missing. */
export interface UniformSeries {
  readonly rateHz: number;
  readonly samples: Float32Array;
}

/** Heart rate at irregular times (beats, or device frames), ascending `tS`. */
export interface HrSeries {
  readonly tS: Float64Array;
  readonly bpm: Float64Array;
  /** 'qrs': from detected beats in the raw ECG; 'device': the record's HR channel. */
  readonly source: 'qrs' | 'device';
}

export interface LabelledSegment {
  readonly name: string;
  readonly level: StressLevel;
  readonly startS: number;
  readonly endS: number;
}

export interface StressRecord {
  readonly name: string;
  readonly format: 'wfdb' | 'rdsamp-csv';
  readonly baseTime: string | undefined;
  readonly baseDate: string | undefined;
  readonly durationS: number;
  readonly hr: HrSeries;
  readonly footGsr: UniformSeries | undefined;
  readonly handGsr: UniformSeries | undefined;
  readonly resp: UniformSeries | undefined;
  /** Operator's marker button; never a model input (kept for the reorder tool to flatten). */
  readonly marker: UniformSeries | undefined;
  /** Raw ECG when `hr.source` is 'qrs' (replayed through the live QRS path by the stress model). */
  readonly ecg?: UniformSeries;
  /** The device HR channel as recorded (0 = no beat), when the record has one. */
  readonly hrChannel?: UniformSeries;
  /** Labelled segments, ascending, from the segments CSV; empty when the record has none. */
  readonly segments: readonly LabelledSegment[];
  /** Why the HR source is what it is, e.g. "qrs: 97.1 % of the record covered by kept beats". */
  readonly hrNote: string;
}

export interface StressRecordOptions {
  /** Least fraction of the record covered by kept RR intervals for the QRS-derived HR (default 0.8). */
  readonly minEcgCoverage?: number;
}

// ---------------------------------------------------------------------------------------------------------
// Labels
// ---------------------------------------------------------------------------------------------------------

/**
 * Parses the segments CSV (header with at least record, stress_level, start_s, end_s; `segment` optional).
 * Returns segments per record, sorted by start. Throws on a missing column, an unknown level, a bad number,
 * end ≤ start, or overlapping segments of one record.
 */
export function parseSegmentsCsv(text: string): Map<string, LabelledSegment[]> {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const head = (lines[0] ?? '').split(',').map((c) => c.trim());
  const col = (name: string, required: boolean): number => {
    const i = head.indexOf(name);
    if (i < 0 && required) throw new Error(`segments CSV: no "${name}" column`);
    return i;
  };
  const iRec = col('record', true);
  const iLvl = col('stress_level', true);
  const iStart = col('start_s', true);
  const iEnd = col('end_s', true);
  const iSeg = col('segment', false);
  const out = new Map<string, LabelledSegment[]>();
  for (let k = 1; k < lines.length; k++) {
    const cells = (lines[k] as string).split(',').map((c) => c.trim());
    const rec = cells[iRec] ?? '';
    const level = cells[iLvl] ?? '';
    if (!(STRESS_LEVELS as readonly string[]).includes(level)) {
      throw new Error(`segments CSV line ${k + 1}: stress_level "${level}" is not low/medium/high`);
    }
    const startS = Number(cells[iStart]);
    const endS = Number(cells[iEnd]);
    if (!Number.isFinite(startS) || !Number.isFinite(endS) || !(endS > startS) || rec === '') {
      throw new Error(`segments CSV line ${k + 1}: bad record/start_s/end_s`);
    }
    const list = out.get(rec) ?? [];
    list.push({
      name: iSeg >= 0 ? (cells[iSeg] ?? '') : `${level} ${list.length + 1}`,
      level: level as StressLevel,
      startS,
      endS,
    });
    out.set(rec, list);
  }
  for (const [rec, list] of out) {
    list.sort((a, b) => a.startS - b.startS);
    for (let i = 1; i < list.length; i++) {
      if (list[i]!.startS < list[i - 1]!.endS - 1e-9)
        throw new Error(`segments CSV: ${rec} segments overlap`);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// HR
// ---------------------------------------------------------------------------------------------------------

/** Device HR channel → HR points, zeros and non-finite values excluded. */
export function hrFromDeviceChannel(samples: ArrayLike<number>, rateHz: number, t0S = 0): HrSeries {
  const t: number[] = [];
  const v: number[] = [];
  for (let i = 0; i < samples.length; i++) {
    const x = samples[i]!;
    if (Number.isFinite(x) && x > 0) {
      t.push(t0S + i / rateHz);
      v.push(x);
    }
  }
  return { tS: Float64Array.from(t), bpm: Float64Array.from(v), source: 'device' };
}

/**
 * QRS-derived HR: beats → RR (within detection segments) → kept NN intervals → 60 000 / RR at the time of
 * the beat ending each interval. Returns the series and the fraction of `durationS` covered by kept intervals.
 */
export function hrFromEcg(
  ecg: ArrayLike<number>,
  rateHz: number,
  durationS: number,
): { hr: HrSeries; coverage: number } {
  const beats = detectBeats(ecg, rateHz, 0);
  const rr = rrFromBeats(beats);
  const { kept } = classifyRr(rr.rrMs);
  const t: number[] = [];
  const v: number[] = [];
  let coveredMs = 0;
  for (let i = 0; i < rr.rrMs.length; i++) {
    if (kept[i] !== 1) continue;
    t.push(rr.tUs[i]! / 1e6);
    v.push(60000 / rr.rrMs[i]!);
    coveredMs += rr.rrMs[i]!;
  }
  return {
    hr: { tS: Float64Array.from(t), bpm: Float64Array.from(v), source: 'qrs' },
    coverage: durationS > 0 ? coveredMs / 1000 / durationS : 0,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Records
// ---------------------------------------------------------------------------------------------------------

const isFootGsr = (n: string) => /foot/i.test(n) && /gsr|eda/i.test(n);
const isHandGsr = (n: string) => /hand/i.test(n) && /gsr|eda/i.test(n);
const isResp = (n: string) => /resp/i.test(n);
const isHr = (n: string) => /^hr\b|heart rate/i.test(n);
const isEcg = (n: string) => /^ecg\b/i.test(n);
const isMarker = (n: string) => /marker/i.test(n);

/** From a decoded WFDB record (pure). */
export function stressRecordFromWfdb(
  rec: WfdbRecord,
  segments: readonly LabelledSegment[] = [],
  options: StressRecordOptions = {},
): StressRecord {
  const minCov = options.minEcgCoverage ?? 0.8;
  const durationS = rec.frameCount / rec.header.frameRateHz;
  const find = (p: (n: string) => boolean) => rec.signals.find((s) => p(s.name));
  const uni = (p: (n: string) => boolean): UniformSeries | undefined => {
    const s = find(p);
    return s ? { rateHz: s.rateHz, samples: s.physical } : undefined;
  };
  const ecg = find(isEcg);
  const hrCh = find(isHr);
  let hr: HrSeries | undefined;
  let hrNote = '';
  if (ecg && ecg.rateHz >= 125 && ecg.rateHz <= 1000) {
    const q = hrFromEcg(ecg.physical, ecg.rateHz, durationS);
    const pct = (100 * q.coverage).toFixed(1);
    if (q.coverage >= minCov) {
      hr = q.hr;
      hrNote = `qrs: ${pct} % of the record covered by kept beats`;
    } else {
      hrNote = `device: QRS covered only ${pct} % (< ${100 * minCov} %)`;
    }
  } else {
    hrNote = ecg ? `device: ECG at ${ecg.rateHz} Hz cannot feed the QRS detector` : 'device: no ECG';
  }
  if (!hr) {
    if (!hrCh) throw new Error(`${rec.header.recordName}: no usable ECG and no HR channel`);
    hr = hrFromDeviceChannel(hrCh.physical, hrCh.rateHz);
  }
  return {
    name: rec.header.recordName,
    format: 'wfdb',
    baseTime: rec.header.baseTime,
    baseDate: rec.header.baseDate,
    durationS,
    hr,
    footGsr: uni(isFootGsr),
    handGsr: uni(isHandGsr),
    resp: uni(isResp),
    marker: uni(isMarker),
    ...(hr.source === 'qrs' && ecg ? { ecg: { rateHz: ecg.rateHz, samples: ecg.physical } } : {}),
    ...(hrCh ? { hrChannel: { rateHz: hrCh.rateHz, samples: hrCh.physical } } : {}),
    segments: [...segments],
    hrNote,
  };
}

/**
 * From an rdsamp CSV export (pure). All channels share the file's rate; times are taken as i / rateHz from
 * the first row (drivedb's exports are evenly spaced: 0, 0.065, … at 15.5 Hz). The ECG column is ignored
 * (frame-averaged), HR comes from the device channel.
 */
export function stressRecordFromRdsamp(
  name: string,
  rec: RdsampRecord,
  segments: readonly LabelledSegment[] = [],
): StressRecord {
  const rate = rec.rateHz;
  if (!(rate > 0)) throw new Error(`${name}: rdsamp CSV has no usable rate`);
  const sig = (p: (n: string) => boolean): UniformSeries | undefined => {
    const s = rec.signals.find((x) => p(x.name));
    return s ? { rateHz: rate, samples: s.samples } : undefined;
  };
  const hrCh = rec.signals.find((s) => isHr(s.name));
  if (!hrCh) throw new Error(`${name}: rdsamp CSV has no HR column`);
  const t0 = rec.timeS[0] ?? 0;
  return {
    name,
    format: 'rdsamp-csv',
    baseTime: undefined,
    baseDate: undefined,
    durationS: rec.timeS.length / rate,
    hr: hrFromDeviceChannel(hrCh.samples, rate, t0),
    footGsr: sig(isFootGsr),
    handGsr: sig(isHandGsr),
    resp: sig(isResp),
    marker: sig(isMarker),
    hrChannel: { rateHz: rate, samples: hrCh.samples },
    segments: [...segments],
    hrNote: 'device: rdsamp CSV (frame-averaged ECG cannot feed the QRS detector)',
  };
}

/** Loads a record file: `.hea` → WFDB, `.csv` / `.csv.gz` → rdsamp. The name is the file's stem. */
export async function loadStressRecord(
  path: string,
  segments: readonly LabelledSegment[] = [],
  options: StressRecordOptions = {},
): Promise<StressRecord> {
  if (path.endsWith('.hea')) {
    return stressRecordFromWfdb(await readWfdbRecordFile(path), segments, options);
  }
  if (/\.csv(\.gz)?$/.test(path)) {
    const name = basename(path).replace(/\.csv(\.gz)?$/, '');
    return stressRecordFromRdsamp(name, await readRdsampCsvFile(path), segments);
  }
  throw new Error(`${path}: not a .hea or .csv[.gz] record`);
}

/**
 * Every labelled drivedb record found under `dir` (WFDB `<name>.hea` with its data file, else
 * `csv_frame_averaged/<name>.csv.gz` or `<name>.csv[.gz]`), with its segments. Records without labels are
 * skipped; a labelled record with no data file is reported in `missing`.
 */
export async function loadLabelledDrives(
  dir: string,
  segmentsCsvPath: string,
  options: StressRecordOptions = {},
): Promise<{ records: StressRecord[]; missing: string[] }> {
  const labels = parseSegmentsCsv(await readFile(segmentsCsvPath, 'utf8'));
  const records: StressRecord[] = [];
  const missing: string[] = [];
  for (const [name, segs] of [...labels].sort(([a], [b]) => a.localeCompare(b))) {
    const hea = join(dir, `${name}.hea`);
    const dat = join(dir, `${name}.dat`); // or .dat.gz (the reader gunzips)
    const csvs = [
      join(dir, 'csv_frame_averaged', `${name}.csv.gz`),
      join(dir, `${name}.csv.gz`),
      join(dir, `${name}.csv`),
    ];
    let path: string | undefined;
    if (existsSync(hea) && (existsSync(dat) || existsSync(`${dat}.gz`))) path = hea;
    else path = csvs.find((p) => existsSync(p));
    if (path === undefined) {
      missing.push(name);
      continue;
    }
    records.push(await loadStressRecord(path, segs, options));
  }
  return { records, missing };
}
