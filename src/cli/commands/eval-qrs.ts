/**
 * `drivesense eval qrs`: runs the QRS detector over a WFDB record and scores it against the record's
 * reference beat annotations. The adapter around src/streams/features/ecg (detector, scoring) and the WFDB
 * reader: file I/O and output only.
 *
 * Scoring (DESIGN.md, "QRS evaluation"): the reference beats are the annotations whose symbol is an AAMI beat
 * label (N L R e j A a J S V E F / f Q); the whole record is scored, no learning period is excluded; a
 * detection within ±150 ms of a reference beat matches it (each at most once).
 * Time: reference times are annotation sample / the record's frame rate (or the file's declared time
 * resolution); detections are the detector's R-peak times from the record start (t = 0).
 */
import { existsSync } from 'node:fs';
import type { Command, ParsedArgs } from '../command.ts';
import { numberOpt, stringOpt, UsageError } from '../command.ts';
import {
  AAMI_BEAT_SYMBOLS,
  aamiClass,
  readAnnotationFile,
  readWfdbRecordFile,
} from '../../streams/readers/wfdb.ts';
import type { WfdbRecord } from '../../streams/readers/wfdb.ts';
import { EcgBeatStream } from '../../streams/features/ecg/beat-stream.ts';
import { checkQrsRate } from '../../streams/features/ecg/filters.ts';
import { matchBeats, scoreBeats } from '../../streams/features/ecg/score.ts';
import type { BeatScore } from '../../streams/features/ecg/score.ts';

const HELP = `Usage: drivesense eval qrs --record PATH [--annotations atr] [--signal N] [--window-ms 150] [--json]

Detects QRS complexes in a WFDB record and scores them against its reference beat annotations:
sensitivity (Se = TP / (TP + FN)) and positive predictivity (+P = TP / (TP + FP)).

  --record PATH      the record without extension, as WFDB tools take it (e.g. ../shared/data/physio/mitdb/100)
  --annotations EXT  annotation file extension (default atr): PATH.EXT
  --signal N         signal number (0-based; default: the first ECG signal of the header)
  --window-ms MS     match window, ± ms (default 150)
  --json             print one JSON object instead of the text report
  -h, --help         this help

Reference beats: annotations with an AAMI beat symbol (N L R e j A a J S V E F / f Q). The whole record is
scored; no learning period is excluded. Exit status: 0 ok, 1 I/O or data error, 2 bad arguments.`;

export interface EvalQrsOptions {
  /** Record path without extension. */
  readonly record: string;
  /** Annotation file extension (default 'atr'). */
  readonly annotations?: string;
  /** Signal number; default: the first ECG signal. */
  readonly signal?: number;
  readonly windowMs?: number;
}

export interface EvalQrsResult extends BeatScore {
  readonly record: string;
  readonly annotationFile: string;
  readonly signal: { readonly index: number; readonly name: string; readonly rateHz: number };
  readonly durationS: number;
  readonly searchBackBeats: number;
  readonly nonFiniteSamples: number;
  /** Reference beats and matched (TP) beats per AAMI class. */
  readonly byClass: Readonly<Record<string, { readonly reference: number; readonly tp: number }>>;
}

const ECG_NAME = /^(ecg|ekg|ml|mlii|mli|mliii|i|ii|iii|avr|avl|avf|v\d|d\d|lead|chest)/i;

/** The first signal whose description names an ECG lead (ECG…, MLII, V1…, II, aVF, …), else signal 0. */
export function firstEcgSignal(record: WfdbRecord): number {
  const i = record.signals.findIndex((s) => ECG_NAME.test(s.name.trim()));
  return i >= 0 ? i : 0;
}

/** Reads, detects and scores (the command without its output). */
export async function evalQrs(options: EvalQrsOptions): Promise<EvalQrsResult> {
  const base = options.record.replace(/\.hea$/, '');
  const ext = options.annotations ?? 'atr';
  const annotationFile = `${base}.${ext}`;
  for (const f of [`${base}.hea`, annotationFile]) {
    if (!existsSync(f)) throw new Error(`${f} not found`);
  }
  const record = await readWfdbRecordFile(`${base}.hea`);
  const index = options.signal ?? firstEcgSignal(record);
  const sig = record.signals[index];
  if (sig === undefined) {
    throw new UsageError(`--signal ${index}: the record has signals 0..${record.signals.length - 1}`);
  }
  checkQrsRate(sig.rateHz);
  const ann = await readAnnotationFile(annotationFile);
  const tickHz = ann.timeResolutionHz ?? record.header.frameRateHz;
  const refs = ann.annotations.filter((a) => AAMI_BEAT_SYMBOLS.has(a.symbol));
  const referenceUs = refs.map((a) => (a.sample / tickHz) * 1e6);

  const stream = new EcgBeatStream();
  const beats = stream.push({ samples: sig.physical, tUs: 0, rateHz: sig.rateHz });
  beats.push(...stream.flush());
  const detectedUs = beats.map((b) => b.tUs);
  const windowMs = options.windowMs ?? 150;
  const score = scoreBeats(detectedUs, referenceUs, windowMs);
  const { referenceMatch } = matchBeats(detectedUs, referenceUs, windowMs);
  const byClass: Record<string, { reference: number; tp: number }> = {};
  refs.forEach((a, i) => {
    const cls = aamiClass(a.symbol) ?? '?';
    const entry = (byClass[cls] ??= { reference: 0, tp: 0 });
    entry.reference++;
    if (referenceMatch[i]! >= 0) entry.tp++;
  });
  return {
    ...score,
    record: base,
    annotationFile,
    signal: { index, name: sig.name, rateHz: sig.rateHz },
    durationS: sig.physical.length / sig.rateHz,
    searchBackBeats: stream.counters.searchBackBeats,
    nonFiniteSamples: stream.counters.nonFiniteSamples,
    byClass,
  };
}

function pct(v: number | null): string {
  return v === null ? 'n/a' : `${(100 * v).toFixed(2)} %`;
}

/** The text report. */
export function formatEvalQrs(r: EvalQrsResult): string {
  const classes = Object.entries(r.byClass)
    .map(([c, v]) => `${c} ${v.tp}/${v.reference}`)
    .join(', ');
  return [
    `record ${r.record}: signal ${r.signal.index} (${r.signal.name}, ${r.signal.rateHz} Hz), ${r.durationS.toFixed(1)} s`,
    `reference ${r.annotationFile}: ${r.reference} beats (AAMI classes, matched/reference: ${classes || 'none'})`,
    `detected ${r.detected} beats (${r.searchBackBeats} by search-back), match window ±${r.windowMs} ms`,
    `TP ${r.tp}  FN ${r.fn}  FP ${r.fp}`,
    `Se ${pct(r.sensitivity)}  +P ${pct(r.positivePredictivity)}  mean |error| ${r.meanAbsErrorMs?.toFixed(1) ?? 'n/a'} ms`,
  ].join('\n');
}

/** Parses command-line values into options (exported for tests). */
export function evalQrsOptionsFrom(args: ParsedArgs): EvalQrsOptions & { json: boolean } {
  const [extra] = args.positionals;
  if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`);
  const record = stringOpt(args, 'record');
  if (record === undefined || record.length === 0) throw new UsageError(`--record is required\n\n${HELP}`);
  const signalText = stringOpt(args, 'signal');
  let signal: number | undefined;
  if (signalText !== undefined) {
    signal = Number(signalText);
    if (!Number.isInteger(signal) || signal < 0) throw new UsageError(`--signal must be an integer ≥ 0`);
  }
  const windowMs = numberOpt(args, 'window-ms', 150);
  if (!(windowMs > 0)) throw new UsageError('--window-ms must be > 0');
  const annotations = stringOpt(args, 'annotations');
  if (annotations !== undefined && !/^[A-Za-z0-9_]+$/.test(annotations)) {
    throw new UsageError(`--annotations takes an extension such as atr, got ${JSON.stringify(annotations)}`);
  }
  return { record, annotations, signal, windowMs, json: args.values['json'] === true };
}

export const evalQrsCommand: Command = {
  name: 'eval qrs',
  summary: 'Score the QRS detector against a WFDB record’s reference beats',
  help: HELP,
  options: {
    record: { type: 'string' },
    annotations: { type: 'string' },
    signal: { type: 'string' },
    'window-ms': { type: 'string' },
    json: { type: 'boolean' },
  },
  async run(args) {
    const { json, ...options } = evalQrsOptionsFrom(args);
    const result = await evalQrs(options);
    console.log(json ? JSON.stringify(result, null, 2) : formatEvalQrs(result));
    return 0;
  },
};
