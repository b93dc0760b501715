import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import type { PhysioChannelKind } from '../contracts/messages.ts';

/**
 * Reader for `rdsamp` CSV exports of WFDB records (PhysioNet's `rdsamp -c -p -v`, or the web exporter),
 * plain or gzipped (detected from the bytes, not the name).
 *
 * Accepted header forms:
 *   Elapsed time(s),ECG(mV),HR(bpm),…                 one line, units in parentheses
 *   'Elapsed time','ECG','HR'  +  'seconds','mV','bpm'  two lines, names then units (rdsamp -v)
 *   'Sample #','ECG' + 'samples','mV'                    sample numbers instead of times (give rateHz)
 * Cells: numbers; `-` (rdsamp's invalid sample) and empty cells are NaN, counted per signal. A row with
 * the wrong number of cells or a non-number is skipped and reported with its line number; the read goes on.
 * All signals share the file's one sampling rate (rdsamp exports frames, multi-rate signals averaged).
 */
export interface RdsampSignal {
  readonly name: string;
  readonly units: string;
  readonly kind: PhysioChannelKind;
  readonly samples: Float32Array;
  readonly invalid: number;
}

export interface RdsampRecord {
  /** Seconds since the start of the record, one per row kept. */
  readonly timeS: Float64Array;
  /** From the time column ((n − 1) / span), or as given for sample-number files. */
  readonly rateHz: number;
  readonly signals: readonly RdsampSignal[];
  readonly malformed: readonly { readonly line: number; readonly reason: string }[];
}

export class RdsampError extends Error {
  override name = 'RdsampError';
}

/** Channel kind from an rdsamp column name (drivedb: ECG, EMG, foot/hand GSR, HR, marker, RESP). */
export function channelKind(name: string): PhysioChannelKind {
  const n = name.toLowerCase();
  if (/\becg\b|^mlii$|^v\d$|^ii$/.test(n)) return 'ecg';
  if (/gsr|eda|\bsc\b|skin cond/.test(n)) return 'eda';
  if (/resp/.test(n)) return 'resp';
  if (/^hr\b|heart rate/.test(n)) return 'hr';
  if (/emg/.test(n)) return 'emg';
  return 'other';
}

const unquote = (s: string) =>
  s
    .trim()
    .replace(/^'(.*)'$/, '$1')
    .replace(/^"(.*)"$/, '$1');

function splitNameUnits(cell: string): { name: string; units: string } {
  const c = unquote(cell);
  const m = /^(.*?)\s*\(([^()]*)\)$/.exec(c);
  return m ? { name: (m[1] as string).trim(), units: (m[2] as string).trim() } : { name: c, units: '' };
}

export function parseRdsampCsv(input: string | Uint8Array, options: { rateHz?: number } = {}): RdsampRecord {
  const text =
    typeof input === 'string'
      ? input
      : new TextDecoder().decode(input[0] === 0x1f && input[1] === 0x8b ? gunzipSync(input) : input);
  const lines = text.split(/\r?\n/);
  const header = lines[0];
  if (header === undefined || header.trim() === '') throw new RdsampError('rdsamp CSV: empty file');
  const cols = header.split(',').map(splitNameUnits);
  if (cols.length < 2)
    throw new RdsampError('rdsamp CSV: header needs a time column and at least one signal');
  let first = 1;
  // rdsamp -v puts the units on a second, all-text line.
  const second = lines[1]?.split(',').map(unquote);
  if (
    second !== undefined &&
    second.length === cols.length &&
    second.every((c) => c === '' || Number.isNaN(Number(c)))
  ) {
    second.forEach((u, i) => {
      if (cols[i] !== undefined && cols[i].units === '') cols[i] = { name: cols[i].name, units: u };
    });
    first = 2;
  }
  const timeCol = cols[0] as { name: string; units: string };
  const bySample = /sample/i.test(timeCol.name) || /^samples?$/i.test(timeCol.units);
  if (bySample && !(options.rateHz !== undefined && options.rateHz > 0)) {
    throw new RdsampError('rdsamp CSV: the first column holds sample numbers: give rateHz');
  }
  const signalCols = cols.slice(1);
  const times: number[] = [];
  const values: number[][] = signalCols.map(() => []);
  const invalid = signalCols.map(() => 0);
  const malformed: { line: number; reason: string }[] = [];
  for (let i = first; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.trim() === '') continue;
    const cells = line.split(',');
    if (cells.length !== cols.length) {
      malformed.push({ line: i + 1, reason: `${cells.length} cells, header has ${cols.length}` });
      continue;
    }
    const t = Number(cells[0]);
    if (!Number.isFinite(t) || cells[0]?.trim() === '') {
      malformed.push({ line: i + 1, reason: `time ${JSON.stringify(cells[0])} is not a number` });
      continue;
    }
    const row: number[] = [];
    let bad: string | undefined;
    for (let c = 1; c < cells.length; c++) {
      const cell = (cells[c] as string).trim();
      if (cell === '-' || cell === '') {
        row.push(Number.NaN);
        continue;
      }
      const v = Number(cell);
      if (!Number.isFinite(v)) {
        bad = `${signalCols[c - 1]?.name}: ${JSON.stringify(cell)} is not a number`;
        break;
      }
      row.push(v);
    }
    if (bad !== undefined) {
      malformed.push({ line: i + 1, reason: bad });
      continue;
    }
    times.push(bySample ? t / (options.rateHz as number) : t);
    row.forEach((v, c) => {
      (values[c] as number[]).push(v);
      if (Number.isNaN(v)) invalid[c] = (invalid[c] as number) + 1;
    });
  }
  if (times.length === 0) throw new RdsampError('rdsamp CSV: no data rows');
  const span = (times.at(-1) as number) - (times[0] as number);
  const rateHz = bySample
    ? (options.rateHz as number)
    : times.length > 1 && span > 0
      ? (times.length - 1) / span
      : NaN;
  return {
    timeS: Float64Array.from(times),
    rateHz,
    signals: signalCols.map((col, c) => ({
      name: col.name,
      units: col.units,
      kind: channelKind(col.name),
      samples: Float32Array.from(values[c] as number[]),
      invalid: invalid[c] as number,
    })),
    malformed,
  };
}

export async function readRdsampCsvFile(
  path: string,
  options: { rateHz?: number } = {},
): Promise<RdsampRecord> {
  try {
    return parseRdsampCsv(await readFile(path), options);
  } catch (e) {
    if (e instanceof RdsampError) throw new RdsampError(`${path}: ${e.message}`);
    throw e;
  }
}
