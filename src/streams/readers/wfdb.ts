/**
 * WFDB (PhysioNet) records: header (`.hea`) parser and writer, signal decoder and encoder for storage
 * formats 16 and 212, and MIT-format annotation (`.atr`, `.q1c`, …) decoder and encoder.
 *
 * Everything here is pure over strings and bytes except the `read…File` helpers at the end.
 *
 * Conventions (from the WFDB header(5), signal(5) and annot(5) manual pages):
 * - The record line's frequency is the *frame* rate. A signal with `samplesPerFrame` = k (the `16x32` spec)
 *   has k samples per frame, so its own rate is frame rate × k (drivedb: 15.5 Hz frames, ECG 32/frame =
 *   496 Hz). `frameCount` (the header's "number of samples") counts frames.
 * - Physical value = (raw − baseline) / gain; a gain of 0 or no gain means "uncalibrated", gain 200.
 *   A missing baseline equals the ADC zero; missing units are "mV".
 * - Samples equal to the format's invalid value (−32768 in format 16, −2048 in 212) decode to NaN.
 * - Signals sharing a file are interleaved frame by frame, in header order.
 *
 * Errors are plain `Error`s whose message starts with "WFDB"; malformed input never reads past a buffer.
 */
import { existsSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

// ---------------------------------------------------------------------------------------------------------
// Header
// ---------------------------------------------------------------------------------------------------------

export interface WfdbSignalSpec {
  /** Data file name, relative to the header's directory. */
  readonly fileName: string;
  /** Storage format number (16, 212, …): any number parses; only 16 and 212 decode. */
  readonly format: number;
  readonly samplesPerFrame: number;
  readonly skew: number;
  /** Byte offset of the first sample in the data file (the `+offset` of the format field). */
  readonly byteOffset: number;
  /** ADC units per physical unit. 200 when the header gives 0 or nothing (then `calibrated` is false). */
  readonly adcGain: number;
  readonly calibrated: boolean;
  /** Raw value of physical zero; defaults to `adcZero`. */
  readonly baseline: number;
  readonly units: string;
  readonly adcResolution: number;
  readonly adcZero: number;
  /** First sample's raw value, if the header gives it. */
  readonly initialValue: number | undefined;
  /** 16-bit signed sum of all raw samples, if the header gives it. */
  readonly checksum: number | undefined;
  readonly blockSize: number;
  readonly description: string;
  /** frameRateHz × samplesPerFrame. */
  readonly rateHz: number;
}

export interface WfdbHeader {
  readonly recordName: string;
  readonly frameRateHz: number;
  readonly counterFrequencyHz: number | undefined;
  readonly baseCounter: number | undefined;
  /** Number of frames; undefined when the header leaves it out (or gives 0): then the data file decides. */
  readonly frameCount: number | undefined;
  /** "HH:MM:SS[.sss]" as written, if present. */
  readonly baseTime: string | undefined;
  /** "DD/MM/YYYY" as written, if present. */
  readonly baseDate: string | undefined;
  readonly signals: readonly WfdbSignalSpec[];
  /** Comment lines without the leading '#'. */
  readonly comments: readonly string[];
}

const MAX_SAMPLES_PER_FRAME = 1 << 16;

function headerError(lineNo: number, msg: string): Error {
  return new Error(`WFDB header line ${lineNo}: ${msg}`);
}

interface Token {
  readonly text: string;
  readonly start: number;
}

function tokenize(line: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const n = line.length;
  while (i < n) {
    while (i < n && isSpace(line.charCodeAt(i))) i++;
    if (i >= n) break;
    const start = i;
    while (i < n && !isSpace(line.charCodeAt(i))) i++;
    out.push({ text: line.slice(start, i), start });
  }
  return out;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 13 || c === 11 || c === 12;
}

const DECIMAL_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const INTEGER_RE = /^[+-]?\d+$/;

function parseDecimal(text: string, what: string, lineNo: number): number {
  if (!DECIMAL_RE.test(text)) throw headerError(lineNo, `${what} "${text}" is not a number`);
  const v = Number(text);
  if (!Number.isFinite(v)) throw headerError(lineNo, `${what} "${text}" is not finite`);
  return v;
}

function parseInteger(text: string, what: string, lineNo: number, min: number, max: number): number {
  if (!INTEGER_RE.test(text)) throw headerError(lineNo, `${what} "${text}" is not an integer`);
  const v = Number(text);
  if (!Number.isSafeInteger(v) || v < min || v > max) {
    throw headerError(lineNo, `${what} ${text} is out of range [${min}, ${max}]`);
  }
  return v;
}

function defaultResolution(format: number): number {
  switch (format) {
    case 212:
      return 12;
    case 310:
    case 311:
      return 10;
    case 8:
    case 80:
      return 8;
    case 24:
      return 24;
    case 32:
      return 32;
    default:
      return 16;
  }
}

const FORMAT_RE = /^(\d{1,4})(?:x(\d{1,7}))?(?::(\d{1,9}))?(?:\+(\d{1,15}))?$/;
const GAIN_RE = /^([^(/]+)(?:\(([^)]*)\))?(?:\/(.*))?$/;
const FREQ_RE = /^([^/(]+)(?:\/([^(]+)(?:\(([^)]*)\))?)?$/;
const TIME_RE = /^\d{1,2}:\d{1,2}(?::\d{1,2}(?:\.\d+)?)?$/;
const DATE_RE = /^\d{1,2}\/\d{1,2}\/\d{1,4}$/;

/** Parses a WFDB header. Throws an Error naming the line for anything malformed or unsupported. */
export function parseWfdbHeader(text: string): WfdbHeader {
  const comments: string[] = [];
  const content: { line: string; no: number }[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    const trimmed = line.trimStart();
    if (trimmed.startsWith('#')) comments.push(trimmed.slice(1).trim());
    else if (trimmed.length > 0) content.push({ line, no: i + 1 });
  }
  const recordLine = content[0];
  if (recordLine === undefined) throw new Error('WFDB header: no record line');
  const rt = tokenize(recordLine.line);
  const no = recordLine.no;
  const nameTok = rt[0]!.text;
  if (nameTok.includes('/')) throw headerError(no, `multi-segment records ("${nameTok}") are not supported`);
  if (rt[1] === undefined) throw headerError(no, 'record line has no signal count');
  const signalCount = parseInteger(rt[1].text, 'signal count', no, 0, 1_000_000);

  let frameRateHz = 250; // WFDB default
  let counterFrequencyHz: number | undefined;
  let baseCounter: number | undefined;
  if (rt[2] !== undefined) {
    const m = FREQ_RE.exec(rt[2].text);
    if (m === null) throw headerError(no, `frequency "${rt[2].text}" is malformed`);
    frameRateHz = parseDecimal(m[1]!, 'sampling frequency', no);
    if (!(frameRateHz > 0)) throw headerError(no, `sampling frequency ${m[1]} must be > 0`);
    if (m[2] !== undefined) {
      counterFrequencyHz = parseDecimal(m[2], 'counter frequency', no);
      if (!(counterFrequencyHz > 0)) throw headerError(no, `counter frequency ${m[2]} must be > 0`);
    }
    if (m[3] !== undefined) baseCounter = parseDecimal(m[3], 'base counter value', no);
  }
  let frameCount: number | undefined;
  if (rt[3] !== undefined) {
    const n = parseInteger(rt[3].text, 'number of samples', no, 0, Number.MAX_SAFE_INTEGER);
    frameCount = n === 0 ? undefined : n;
  }
  let baseTime: string | undefined;
  let baseDate: string | undefined;
  if (rt[4] !== undefined) {
    if (!TIME_RE.test(rt[4].text)) throw headerError(no, `base time "${rt[4].text}" is not HH:MM:SS`);
    baseTime = rt[4].text;
  }
  if (rt[5] !== undefined) {
    if (!DATE_RE.test(rt[5].text)) throw headerError(no, `base date "${rt[5].text}" is not DD/MM/YYYY`);
    baseDate = rt[5].text;
  }
  if (rt.length > 6) throw headerError(no, `unexpected "${rt[6]!.text}" after the base date`);

  const signalLines = content.slice(1);
  if (signalLines.length !== signalCount) {
    throw new Error(
      `WFDB header: record line announces ${signalCount} signals, found ${signalLines.length} signal lines`,
    );
  }
  const signals = signalLines.map((s) => parseSignalLine(s.line, s.no, frameRateHz));
  return {
    recordName: nameTok,
    frameRateHz,
    counterFrequencyHz,
    baseCounter,
    frameCount,
    baseTime,
    baseDate,
    signals,
    comments,
  };
}

function parseSignalLine(line: string, no: number, frameRateHz: number): WfdbSignalSpec {
  const t = tokenize(line);
  const fileName = t[0]!.text;
  if (t[1] === undefined) throw headerError(no, 'signal line has no format');
  const fm = FORMAT_RE.exec(t[1].text);
  if (fm === null) throw headerError(no, `format "${t[1].text}" is not format[xsamples][:skew][+offset]`);
  const format = Number(fm[1]);
  const samplesPerFrame = fm[2] === undefined ? 1 : Number(fm[2]);
  if (samplesPerFrame < 1 || samplesPerFrame > MAX_SAMPLES_PER_FRAME) {
    throw headerError(no, `samples per frame ${fm[2]} out of range [1, ${MAX_SAMPLES_PER_FRAME}]`);
  }
  const skew = fm[3] === undefined ? 0 : Number(fm[3]);
  const byteOffset = fm[4] === undefined ? 0 : Number(fm[4]);
  if (!Number.isSafeInteger(byteOffset)) throw headerError(no, `byte offset ${fm[4]} out of range`);

  let adcGain = 0;
  let baselineText: string | undefined;
  let units = 'mV';
  if (t[2] !== undefined) {
    const gm = GAIN_RE.exec(t[2].text);
    if (gm === null) throw headerError(no, `gain "${t[2].text}" is not gain[(baseline)][/units]`);
    adcGain = parseDecimal(gm[1]!, 'ADC gain', no);
    if (adcGain < 0) throw headerError(no, `ADC gain ${gm[1]} must not be negative`);
    baselineText = gm[2];
    if (gm[3] !== undefined) {
      if (gm[3].length === 0) throw headerError(no, `empty units after "/" in "${t[2].text}"`);
      units = gm[3];
    }
  }
  const calibrated = adcGain !== 0;
  if (!calibrated) adcGain = 200;
  const adcResolution =
    t[3] === undefined ? defaultResolution(format) : parseInteger(t[3].text, 'ADC resolution', no, 0, 64);
  const adcZero = t[4] === undefined ? 0 : parseInteger(t[4].text, 'ADC zero', no, -(2 ** 31), 2 ** 31 - 1);
  const initialValue =
    t[5] === undefined ? undefined : parseInteger(t[5].text, 'initial value', no, -(2 ** 31), 2 ** 31 - 1);
  const checksum = t[6] === undefined ? undefined : parseInteger(t[6].text, 'checksum', no, -32768, 65535);
  const blockSize = t[7] === undefined ? 0 : parseInteger(t[7].text, 'block size', no, 0, 2 ** 31 - 1);
  const description = t[8] === undefined ? '' : line.slice(t[8].start).trim();
  const baseline =
    baselineText === undefined
      ? adcZero
      : parseInteger(baselineText.trim(), 'baseline', no, -(2 ** 31), 2 ** 31 - 1);
  return {
    fileName,
    format,
    samplesPerFrame,
    skew,
    byteOffset,
    adcGain,
    calibrated,
    baseline,
    units,
    adcResolution,
    adcZero,
    initialValue,
    checksum: checksum === undefined ? undefined : toInt16(checksum),
    blockSize,
    description,
    rateHz: frameRateHz * samplesPerFrame,
  };
}

function formatNumber(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(12)));
}

/**
 * Writes a header in the form `parseWfdbHeader` reads (and the WFDB library writes). Every signal line carries
 * all fields through the description, so the checksum and initial value must be known (`undefined` → 0).
 */
export function formatWfdbHeader(h: WfdbHeader): string {
  const rec = [h.recordName, String(h.signals.length)];
  let freq = formatNumber(h.frameRateHz);
  if (h.counterFrequencyHz !== undefined) {
    freq += `/${formatNumber(h.counterFrequencyHz)}`;
    if (h.baseCounter !== undefined) freq += `(${formatNumber(h.baseCounter)})`;
  }
  rec.push(freq);
  if (h.frameCount !== undefined || h.baseTime !== undefined) rec.push(String(h.frameCount ?? 0));
  if (h.baseTime !== undefined) rec.push(h.baseTime);
  if (h.baseDate !== undefined) rec.push(h.baseDate);
  const lines = [rec.join(' ')];
  for (const s of h.signals) {
    if (/\s/.test(s.fileName) || s.fileName.length === 0)
      throw new Error(`WFDB: bad file name "${s.fileName}"`);
    if (/[\s()]/.test(s.units) || s.units.length === 0) throw new Error(`WFDB: bad units "${s.units}"`);
    let fmt = String(s.format);
    if (s.samplesPerFrame !== 1) fmt += `x${s.samplesPerFrame}`;
    if (s.skew !== 0) fmt += `:${s.skew}`;
    if (s.byteOffset !== 0) fmt += `+${s.byteOffset}`;
    let gain = s.calibrated ? formatNumber(s.adcGain) : '0';
    if (s.baseline !== s.adcZero) gain += `(${s.baseline})`;
    if (s.units !== 'mV') gain += `/${s.units}`;
    const fields = [
      s.fileName,
      fmt,
      gain,
      String(s.adcResolution),
      String(s.adcZero),
      String(s.initialValue ?? 0),
      String(s.checksum ?? 0),
      String(s.blockSize),
    ];
    if (s.description.length > 0) fields.push(s.description);
    lines.push(fields.join(' '));
  }
  for (const c of h.comments) lines.push(`# ${c}`);
  return lines.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------------------
// Signals
// ---------------------------------------------------------------------------------------------------------

export interface WfdbSignal {
  readonly index: number;
  readonly spec: WfdbSignalSpec;
  /** The description, or "signal N" when it is empty. */
  readonly name: string;
  readonly units: string;
  readonly rateHz: number;
  readonly samplesPerFrame: number;
  /** Raw ADC values (both supported formats fit in 16 bits). */
  readonly raw: Int16Array;
  /** (raw − baseline) / gain; NaN where the raw value is the format's invalid-sample marker. */
  readonly physical: Float32Array;
  readonly invalidSamples: number;
}

export interface WfdbRecord {
  readonly header: WfdbHeader;
  readonly startFrame: number;
  readonly frameCount: number;
  readonly signals: readonly WfdbSignal[];
}

export interface WfdbDecodeOptions {
  /** First frame to decode (default 0). */
  readonly startFrame?: number;
  /** Frames to decode (default: to the end of the record). */
  readonly frameCount?: number;
  /**
   * Verify each signal's header checksum when the whole record is decoded (default true). A mismatch throws:
   * it means the data file and header disagree (truncated, corrupt or wrongly decoded).
   */
  readonly verifyChecksums?: boolean;
}

/** The format's raw value meaning "no sample" (WFDB_INVALID_SAMPLE as stored). */
export function invalidSampleValue(format: 16 | 212): number {
  return format === 16 ? -32768 : -2048;
}

function supportedFormat(format: number, fileName: string): 16 | 212 {
  if (format === 16 || format === 212) return format;
  throw new Error(`WFDB: ${fileName}: storage format ${format} is not supported (only 16 and 212)`);
}

/** Bytes needed to hold `samples` samples from the start of a file's sample area. */
function bytesForSamples(format: 16 | 212, samples: number): number {
  if (format === 16) return samples * 2;
  return 3 * Math.floor(samples / 2) + (samples % 2 === 1 ? 2 : 0);
}

/** Whole samples available in `byteCount` bytes. */
function samplesInBytes(format: 16 | 212, byteCount: number): number {
  if (format === 16) return Math.floor(byteCount / 2);
  const pairs = Math.floor(byteCount / 3);
  return pairs * 2 + (byteCount - pairs * 3 >= 2 ? 1 : 0);
}

/**
 * Decodes `count` samples starting at flat sample index `first` of a file whose samples start at
 * `byteOffset`. The caller guarantees (and this re-checks) that the bytes are there.
 */
export function decodeWfdbSamples(
  format: 16 | 212,
  bytes: Uint8Array,
  byteOffset: number,
  first: number,
  count: number,
): Int16Array {
  const need = byteOffset + bytesForSamples(format, first + count);
  if (!Number.isSafeInteger(need) || need > bytes.byteLength || first < 0 || count < 0) {
    throw new Error(
      `WFDB: samples ${first}..${first + count} need ${need} bytes, the file has ${bytes.byteLength}`,
    );
  }
  const out = new Int16Array(count);
  if (format === 16) {
    let p = byteOffset + 2 * first;
    for (let i = 0; i < count; i++, p += 2) {
      out[i] = ((bytes[p]! | (bytes[p + 1]! << 8)) << 16) >> 16;
    }
  } else {
    for (let i = 0; i < count; i++) {
      const k = first + i;
      const p = byteOffset + 3 * (k >> 1);
      const v =
        (k & 1) === 0
          ? bytes[p]! | ((bytes[p + 1]! & 0x0f) << 8)
          : bytes[p + 2]! | ((bytes[p + 1]! & 0xf0) << 4);
      out[i] = (v << 20) >> 20;
    }
  }
  return out;
}

/** Encodes raw samples (already interleaved) in format 16 or 212. Values must fit the format. */
export function encodeWfdbSamples(format: 16 | 212, samples: ArrayLike<number>): Uint8Array {
  const n = samples.length;
  const out = new Uint8Array(bytesForSamples(format, n));
  const [lo, hi] = format === 16 ? [-32768, 32767] : [-2048, 2047];
  for (let i = 0; i < n; i++) {
    const v = samples[i]!;
    if (!Number.isInteger(v) || v < lo || v > hi) {
      throw new Error(`WFDB: sample ${i} = ${v} does not fit format ${format} [${lo}, ${hi}]`);
    }
  }
  if (format === 16) {
    for (let i = 0; i < n; i++) {
      const v = samples[i]! & 0xffff;
      out[2 * i] = v & 0xff;
      out[2 * i + 1] = v >> 8;
    }
  } else {
    for (let i = 0; i < n; i += 2) {
      const a = samples[i]! & 0xfff;
      const p = 3 * (i >> 1);
      out[p] = a & 0xff;
      if (i + 1 < n) {
        const b = samples[i + 1]! & 0xfff;
        out[p + 1] = ((b >> 4) & 0xf0) | (a >> 8);
        out[p + 2] = b & 0xff;
      } else {
        out[p + 1] = a >> 8;
      }
    }
  }
  return out;
}

/** WFDB checksum: the sum of the samples as a signed 16-bit integer. */
export function wfdbChecksum(raw: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < raw.length; i++) sum = (sum + raw[i]!) | 0;
  return toInt16(sum);
}

function toInt16(v: number): number {
  return (v << 16) >> 16;
}

interface FileGroup {
  readonly fileName: string;
  readonly format: 16 | 212;
  readonly byteOffset: number;
  readonly members: { readonly index: number; readonly spec: WfdbSignalSpec; readonly slot: number }[];
  /** Samples per frame summed over the file's signals (mutable while grouping). */
  samplesPerFrame: number;
}

function groupByFile(header: WfdbHeader): FileGroup[] {
  const groups = new Map<string, FileGroup>();
  header.signals.forEach((spec, index) => {
    if (spec.skew !== 0)
      throw new Error(`WFDB: signal ${index} (${spec.fileName}) has skew ${spec.skew}: not supported`);
    let g = groups.get(spec.fileName);
    if (g === undefined) {
      g = {
        fileName: spec.fileName,
        format: supportedFormat(spec.format, spec.fileName),
        byteOffset: spec.byteOffset,
        members: [],
        samplesPerFrame: 0,
      };
      groups.set(spec.fileName, g);
    } else if (spec.format !== g.format || spec.byteOffset !== g.byteOffset) {
      throw new Error(`WFDB: signals in ${spec.fileName} disagree on format or byte offset`);
    }
    g.members.push({ index, spec, slot: g.samplesPerFrame });
    g.samplesPerFrame += spec.samplesPerFrame;
  });
  return [...groups.values()];
}

/** Frames each data file holds, and the record's frame count (header's, else the shortest file's). */
function framesAvailable(
  header: WfdbHeader,
  groups: FileGroup[],
  files: ReadonlyMap<string, Uint8Array>,
): number {
  let frames = Infinity;
  for (const g of groups) {
    const bytes = files.get(g.fileName);
    if (bytes === undefined) throw new Error(`WFDB: data file ${g.fileName} was not provided`);
    const avail = Math.floor(
      samplesInBytes(g.format, Math.max(0, bytes.byteLength - g.byteOffset)) / g.samplesPerFrame,
    );
    if (header.frameCount !== undefined && avail < header.frameCount) {
      throw new Error(
        `WFDB: ${g.fileName} holds ${avail} frames (${bytes.byteLength} bytes) but the header says ${header.frameCount}`,
      );
    }
    frames = Math.min(frames, avail);
  }
  if (header.frameCount !== undefined) return header.frameCount;
  return frames === Infinity ? 0 : frames;
}

/**
 * Decodes a record's signals from its data files (whole files, keyed by the header's file names). Returns one
 * entry per header signal, in header order, each at its own rate.
 */
export function decodeWfdbSignals(
  header: WfdbHeader,
  files: ReadonlyMap<string, Uint8Array>,
  options: WfdbDecodeOptions = {},
): WfdbRecord {
  const groups = groupByFile(header);
  const total = framesAvailable(header, groups, files);
  const startFrame = options.startFrame ?? 0;
  if (!Number.isSafeInteger(startFrame) || startFrame < 0 || startFrame > total) {
    throw new Error(`WFDB: start frame ${startFrame} outside the record's ${total} frames`);
  }
  const frameCount = options.frameCount ?? total - startFrame;
  if (!Number.isSafeInteger(frameCount) || frameCount < 0 || startFrame + frameCount > total) {
    throw new Error(`WFDB: frames ${startFrame}+${frameCount} run past the record's ${total} frames`);
  }
  const whole = startFrame === 0 && frameCount === total;
  const signals: WfdbSignal[] = new Array<WfdbSignal>(header.signals.length);
  for (const g of groups) {
    const bytes = files.get(g.fileName)!;
    const flat = decodeWfdbSamples(
      g.format,
      bytes,
      g.byteOffset,
      startFrame * g.samplesPerFrame,
      frameCount * g.samplesPerFrame,
    );
    const invalid = invalidSampleValue(g.format);
    for (const m of g.members) {
      const spf = m.spec.samplesPerFrame;
      const raw = new Int16Array(frameCount * spf);
      for (let f = 0, src = m.slot, dst = 0; f < frameCount; f++, src += g.samplesPerFrame) {
        for (let k = 0; k < spf; k++) raw[dst++] = flat[src + k]!;
      }
      const physical = new Float32Array(raw.length);
      const { baseline, adcGain } = m.spec;
      let invalidSamples = 0;
      for (let i = 0; i < raw.length; i++) {
        const v = raw[i]!;
        if (v === invalid) {
          physical[i] = NaN;
          invalidSamples++;
        } else physical[i] = (v - baseline) / adcGain;
      }
      if (whole && options.verifyChecksums !== false && m.spec.checksum !== undefined) {
        const sum = wfdbChecksum(raw);
        if (sum !== m.spec.checksum) {
          throw new Error(
            `WFDB: signal ${m.index} (${m.spec.description || m.spec.fileName}) checksum ${sum} ≠ header ${m.spec.checksum}`,
          );
        }
      }
      signals[m.index] = {
        index: m.index,
        spec: m.spec,
        name: m.spec.description || `signal ${m.index}`,
        units: m.spec.units,
        rateHz: m.spec.rateHz,
        samplesPerFrame: spf,
        raw,
        physical,
        invalidSamples,
      };
    }
  }
  return { header, startFrame, frameCount, signals };
}

export interface WfdbSignalInput {
  readonly spec: Omit<WfdbSignalSpec, 'rateHz' | 'initialValue' | 'checksum'>;
  /** Raw values, frameCount × samplesPerFrame of them. */
  readonly raw: ArrayLike<number>;
}

/**
 * Builds a record (header text and data files) from raw signals: interleaves them per file, computes each
 * signal's initial value and checksum.
 */
export function encodeWfdbRecord(
  record: Omit<WfdbHeader, 'signals'> & { readonly frameCount: number },
  signals: readonly WfdbSignalInput[],
): { header: WfdbHeader; headerText: string; files: Map<string, Uint8Array> } {
  const specs: WfdbSignalSpec[] = signals.map((s) => {
    if (s.raw.length !== record.frameCount * s.spec.samplesPerFrame) {
      throw new Error(
        `WFDB: signal "${s.spec.description}" has ${s.raw.length} samples, expected ${record.frameCount} × ${s.spec.samplesPerFrame}`,
      );
    }
    return {
      ...s.spec,
      rateHz: record.frameRateHz * s.spec.samplesPerFrame,
      initialValue: s.raw.length > 0 ? s.raw[0]! : s.spec.adcZero,
      checksum: wfdbChecksum(s.raw),
    };
  });
  const header: WfdbHeader = { ...record, signals: specs };
  const files = new Map<string, Uint8Array>();
  for (const g of groupByFile(header)) {
    const flat = new Int32Array(record.frameCount * g.samplesPerFrame);
    for (const m of g.members) {
      const raw = signals[m.index]!.raw;
      const spf = m.spec.samplesPerFrame;
      for (let f = 0; f < record.frameCount; f++) {
        for (let k = 0; k < spf; k++) flat[f * g.samplesPerFrame + m.slot + k] = raw[f * spf + k]!;
      }
    }
    const body = encodeWfdbSamples(g.format, flat);
    const file = new Uint8Array(g.byteOffset + body.byteLength);
    file.set(body, g.byteOffset);
    files.set(g.fileName, file);
  }
  return { header, headerText: formatWfdbHeader(header), files };
}

// ---------------------------------------------------------------------------------------------------------
// Annotations (MIT format)
// ---------------------------------------------------------------------------------------------------------

/**
 * Annotation mnemonics by code (ecgcodes.h); undefined codes map to "[code]". Code 0 is NOTQRS.
 */
export const ANNOTATION_SYMBOLS: readonly string[] = (() => {
  // Codes 1..41, in order; code 0 (NOTQRS) is ' '.
  const defined = 'N L R a V F J A S E j / Q ~ [15] | [17] s T * D " = p B ^ t + u ? ! [ ] e n @ x f ( ) r';
  const table = [' ', ...defined.split(' ')];
  for (let c = table.length; c <= 49; c++) table.push(`[${c}]`);
  return table;
})();

/** The mnemonic of an annotation code; codes without one (42..58) give "[code]". */
export function annotationSymbol(code: number): string {
  return ANNOTATION_SYMBOLS[code] ?? `[${code}]`;
}

/** Beat annotation symbols counted as beats by ANSI/AAMI EC57 (N, S, V, F and Q classes). */
export const AAMI_BEAT_SYMBOLS: ReadonlySet<string> = new Set('N L R e j A a J S V E F / f Q'.split(' '));

/** The AAMI class of a beat symbol, or undefined for non-beat annotations. */
export function aamiClass(symbol: string): 'N' | 'S' | 'V' | 'F' | 'Q' | undefined {
  switch (symbol) {
    case 'N':
    case 'L':
    case 'R':
    case 'e':
    case 'j':
      return 'N';
    case 'A':
    case 'a':
    case 'J':
    case 'S':
      return 'S';
    case 'V':
    case 'E':
      return 'V';
    case 'F':
      return 'F';
    case '/':
    case 'f':
    case 'Q':
      return 'Q';
    default:
      return undefined;
  }
}

export interface WfdbAnnotation {
  /** Sample index (in frames of the record, or in `timeResolutionHz` ticks when the file declares one). */
  readonly sample: number;
  /** Annotation type code, 0..58 (1..49 are defined; 59..63 are the SKIP/NUM/SUB/CHN/AUX pseudo-codes). */
  readonly code: number;
  readonly symbol: string;
  readonly subtype: number;
  readonly channel: number;
  readonly num: number;
  readonly aux: string | undefined;
}

export interface WfdbAnnotationSet {
  readonly annotations: readonly WfdbAnnotation[];
  /** Set when the file starts with a "## time resolution: F" note: sample indices are then in 1/F s. */
  readonly timeResolutionHz: number | undefined;
}

const SKIP = 59;
const NUM = 60;
const SUB = 61;
const CHN = 62;
const AUX = 63;
const MAX_INTERVAL = 1023;

function annError(byte: number, msg: string): Error {
  return new Error(`WFDB annotation byte ${byte}: ${msg}`);
}

/**
 * Decodes an MIT-format annotation file: 16-bit little-endian words, type in the top 6 bits and the sample
 * interval in the low 10; SKIP carries a 32-bit interval (high word first); NUM, SUB, CHN and AUX modify the
 * annotation before them (NUM and CHN persist to later annotations, as in the WFDB library). A zero word or the
 * end of the bytes ends the file.
 */
export function decodeMitAnnotations(bytes: Uint8Array): WfdbAnnotationSet {
  const n = bytes.byteLength;
  const word = (p: number): number => bytes[p]! | (bytes[p + 1]! << 8);
  type Mutable = { -readonly [K in keyof WfdbAnnotation]: WfdbAnnotation[K] };
  const out: Mutable[] = [];
  let time = 0;
  let pendingSkip = 0;
  let num = 0;
  let chan = 0;
  let current: Mutable | undefined;
  let p = 0;
  let ended = false;
  while (p + 1 < n) {
    const w = word(p);
    if (w === 0) {
      ended = true;
      break;
    }
    const a = w >> 10;
    const data = w & 0x3ff;
    const at = p;
    p += 2;
    if (a === SKIP) {
      if (p + 4 > n) throw annError(at, 'SKIP is truncated');
      const hi = word(p);
      const lo = word(p + 2);
      pendingSkip += (hi << 16) | lo | 0; // signed 32-bit, PDP-11 word order
      p += 4;
      continue;
    }
    if (a === NUM || a === SUB || a === CHN || a === AUX) {
      if (current === undefined)
        throw annError(at, `${['NUM', 'SUB', 'CHN', 'AUX'][a - NUM]} before any annotation`);
      if (a === NUM) {
        num = data;
        current.num = data;
      } else if (a === SUB) current.subtype = data;
      else if (a === CHN) {
        chan = data;
        current.channel = data;
      } else {
        const padded = data + (data & 1);
        if (p + data > n) throw annError(at, `AUX of ${data} bytes is truncated`);
        let s = '';
        for (let i = 0; i < data; i++) s += String.fromCharCode(bytes[p + i]!);
        const nul = s.indexOf('\0');
        current.aux = nul >= 0 ? s.slice(0, nul) : s;
        p += Math.min(padded, n - p);
      }
      continue;
    }
    time += pendingSkip + data;
    pendingSkip = 0;
    if (time < 0) throw annError(at, `annotation time ${time} is negative`);
    if (!Number.isSafeInteger(time)) throw annError(at, 'annotation time overflows');
    current = {
      sample: time,
      code: a,
      symbol: annotationSymbol(a),
      subtype: 0,
      channel: chan,
      num,
      aux: undefined,
    };
    out.push(current);
  }
  if (!ended && p === n - 1) throw annError(p, 'odd trailing byte (truncated word)');
  let timeResolutionHz: number | undefined;
  const first = out[0];
  if (first !== undefined && first.code === 22 && first.aux !== undefined) {
    const m = /^## time resolution: ([0-9.eE+-]+)/.exec(first.aux);
    if (m !== null && Number(m[1]) > 0) timeResolutionHz = Number(m[1]);
  }
  return { annotations: out, timeResolutionHz };
}

export interface WfdbAnnotationInput {
  readonly sample: number;
  readonly code: number;
  readonly subtype?: number;
  readonly channel?: number;
  readonly num?: number;
  readonly aux?: string;
}

export interface MitEncodeOptions {
  /**
   * Count a NUL terminator in each AUX string, as the original MIT-BIH files do ("(N" is stored as 3 bytes).
   * Default false, as wfdb-python writes. Both decode to the same text.
   */
  readonly nulTerminateAux?: boolean;
}

/** Encodes annotations (sorted by sample) in MIT format, ending with the zero word. */
export function encodeMitAnnotations(
  annotations: readonly WfdbAnnotationInput[],
  options: MitEncodeOptions = {},
): Uint8Array {
  const bytesOut: number[] = [];
  const pushWord = (w: number): void => {
    bytesOut.push(w & 0xff, (w >> 8) & 0xff);
  };
  let prev = 0;
  let num = 0;
  let chan = 0;
  for (const [i, a] of annotations.entries()) {
    if (!Number.isInteger(a.code) || a.code < 1 || a.code > 49)
      throw new Error(`WFDB: annotation ${i}: code ${a.code} not in 1..49`);
    if (!Number.isSafeInteger(a.sample) || a.sample < prev)
      throw new Error(`WFDB: annotation ${i}: sample ${a.sample} not sorted`);
    const delta = a.sample - prev;
    if (delta > MAX_INTERVAL) {
      if (delta > 0x7fffffff) throw new Error(`WFDB: annotation ${i}: interval ${delta} exceeds 32 bits`);
      pushWord(SKIP << 10);
      pushWord((delta >>> 16) & 0xffff);
      pushWord(delta & 0xffff);
      pushWord(a.code << 10);
    } else pushWord((a.code << 10) | delta);
    prev = a.sample;
    const sub = a.subtype ?? 0;
    const ch = a.channel ?? chan;
    const nm = a.num ?? num;
    for (const [v, what] of [
      [sub, 'subtype'],
      [ch, 'channel'],
      [nm, 'num'],
    ] as const) {
      if (!Number.isInteger(v) || v < 0 || v > MAX_INTERVAL)
        throw new Error(`WFDB: annotation ${i}: ${what} ${v} not in 0..1023`);
    }
    if (sub !== 0) pushWord((SUB << 10) | sub);
    if (ch !== chan) pushWord((CHN << 10) | ch);
    if (nm !== num) pushWord((NUM << 10) | nm);
    chan = ch;
    num = nm;
    if (a.aux !== undefined) {
      const text = a.aux;
      if (text.includes('\0')) throw new Error(`WFDB: annotation ${i}: aux contains a NUL`);
      const len = text.length + (options.nulTerminateAux === true ? 1 : 0);
      if (len > 255) throw new Error(`WFDB: annotation ${i}: aux longer than 255 bytes`);
      pushWord((AUX << 10) | len);
      for (let k = 0; k < text.length; k++) {
        const c = text.charCodeAt(k);
        if (c > 0xff) throw new Error(`WFDB: annotation ${i}: aux is not Latin-1`);
        bytesOut.push(c);
      }
      if (options.nulTerminateAux === true) bytesOut.push(0);
      if (len & 1) bytesOut.push(0);
    }
  }
  pushWord(0);
  return Uint8Array.from(bytesOut);
}

// ---------------------------------------------------------------------------------------------------------
// File helpers (the only I/O)
// ---------------------------------------------------------------------------------------------------------

export async function readWfdbHeaderFile(path: string): Promise<WfdbHeader> {
  return parseWfdbHeader(await readFile(path, 'latin1'));
}

function checkDataFileName(name: string): void {
  if (name === '~' || name.includes('/') || name.includes('\\') || name === '.' || name === '..') {
    throw new Error(`WFDB: data file name "${name}" is not a plain file name next to the header`);
  }
}

/** Reads a record from its `.hea` path; data files are looked up next to the header. */
/** Reads `path`, or `path.gz` (gunzipped) when only that exists. */
async function readMaybeGzipped(path: string): Promise<Uint8Array> {
  if (existsSync(path) || !existsSync(`${path}.gz`)) return readFile(path);
  return gunzipSync(await readFile(`${path}.gz`));
}

export async function readWfdbRecordFile(
  heaPath: string,
  options: WfdbDecodeOptions = {},
): Promise<WfdbRecord> {
  const header = await readWfdbHeaderFile(heaPath);
  const files = new Map<string, Uint8Array>();
  for (const s of header.signals) {
    if (files.has(s.fileName)) continue;
    checkDataFileName(s.fileName);
    files.set(s.fileName, await readMaybeGzipped(join(dirname(heaPath), s.fileName)));
  }
  return decodeWfdbSignals(header, files, options);
}

export async function readAnnotationFile(path: string): Promise<WfdbAnnotationSet> {
  return decodeMitAnnotations(await readFile(path));
}
