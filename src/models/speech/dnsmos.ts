/**
 * DNSMOS: Microsoft's non-intrusive (no reference) speech quality predictor from the DNS Challenge, run on
 * the challenge's ONNX models with ONNX Runtime, as an evaluation metric for the cabin speech enhancer.
 *
 * Models (files in one directory, e.g. `../shared/peers/dnsmos`):
 *   - `sig_bak_ovr.onnx`, DNSMOS P.835 (Reddy, Gopal & Cutler, ICASSP 2022, arXiv 2110.01763): input
 *     `input_1`, float32 [N, 144160] — 9.01 s of raw 16 kHz waveform in [−1, 1], no normalisation; output
 *     `Identity:0` [N, 3] = raw SIG, BAK, OVRL.
 *   - `model_v8.onnx`, DNSMOS P.808 (Reddy, Gopal & Cutler, ICASSP 2021, arXiv 2010.15258): input `input_1`,
 *     float32 [N, 900, 120] — a log-mel spectrogram, frames × mels; output `Identity:0` [N, 1], the MOS
 *     (no calibration).
 * (Shapes confirmed with `OnnxSession.inputs`/`outputs`.)
 *
 * Clip handling, as in the DNS Challenge's `dnsmos_local.py`: audio at 16 kHz; a clip shorter than
 * 9.01 s × 16 kHz = 144,160 samples is concatenated with itself (doubled) until it is at least that long;
 * segments of 144,160 samples start every 1 s, hops = trunc(floor(len/16000) − 9.01) + 1 of them (a
 * segment that would run past the end is skipped); each is scored and the clip's scores are the means over
 * the segments.
 *
 * Calibration (P.835): each segment's raw scores are mapped by the published non-personalised polynomials
 *   SIG  = −0.08397278·s² + 1.22083953·s + 0.0052439
 *   BAK  = −0.13166888·b² + 1.60915514·b − 0.39604546
 *   OVRL = −0.06766283·o² + 1.11546468·o + 0.04602535
 * before averaging. (The personalised DNSMOS — `pDNSMOS/sig_bak_ovr.onnx`, other polynomials — is not used.)
 *
 * P.808 front end: the segment without its last 160 samples (144,000 samples), librosa-style
 * `melspectrogram(sr=16000, n_fft=321, hop_length=160, n_mels=120)`: centred frames (160 zeros of padding
 * each side, giving 900 frames), periodic Hann window of 321 samples, 321-point DFT (161 bins, bin k at
 * k·16000/321 Hz), power spectrum, 120 Slaney-scale triangular mel filters over 0–8 kHz with Slaney area
 * normalisation; then `power_to_db(ref=max)` (10·log10(max(S, 1e-10)) minus that of the segment's maximum,
 * floored at −80 dB) and (dB + 40)/40.
 */
import path from 'node:path';
import { OnnxSession } from '../common/onnx-session.ts';
import type { OnnxSessionConfig } from '../common/onnx-session.ts';

export const DNSMOS_RATE_HZ = 16_000;
/** 9.01 s at 16 kHz. */
export const DNSMOS_SEGMENT_SAMPLES = Math.trunc(9.01 * DNSMOS_RATE_HZ);
export const DNSMOS_INPUT_SECONDS = 9.01;

export const P835_MODEL_FILE = 'sig_bak_ovr.onnx';
export const P808_MODEL_FILE = 'model_v8.onnx';

/** Non-personalised P.835 calibration polynomials, highest power first (DNS Challenge `dnsmos_local.py`). */
export const P835_POLYFIT = {
  sig: [-0.08397278, 1.22083953, 0.0052439],
  bak: [-0.13166888, 1.60915514, -0.39604546],
  ovrl: [-0.06766283, 1.11546468, 0.04602535],
} as const;

const MEL_N_FFT = 321;
const MEL_HOP = 160;
const MEL_BANDS = 120;
const MEL_FRAMES = 900;
const MEL_BINS = Math.floor(MEL_N_FFT / 2) + 1;

export interface DnsmosScores {
  /** Calibrated P.835 scores, 1–5 scale (means over segments). */
  readonly sig: number;
  readonly bak: number;
  readonly ovrl: number;
  /** P.808 MOS (null when `model_v8.onnx` was not loaded). */
  readonly p808: number | null;
  /** Raw (uncalibrated) P.835 outputs, means over segments. */
  readonly sigRaw: number;
  readonly bakRaw: number;
  readonly ovrlRaw: number;
  /** 9.01 s segments scored. */
  readonly segments: number;
}

function polyval(c: readonly number[], x: number): number {
  let y = 0;
  for (const a of c) y = y * x + a;
  return y;
}

/** Slaney mel scale (librosa's default, htk = false): linear below 1 kHz, logarithmic above. */
function hzToMel(f: number): number {
  const fSp = 200 / 3;
  const minLogHz = 1000;
  const minLogMel = minLogHz / fSp;
  const logStep = Math.log(6.4) / 27;
  return f >= minLogHz ? minLogMel + Math.log(f / minLogHz) / logStep : f / fSp;
}

function melToHz(m: number): number {
  const fSp = 200 / 3;
  const minLogHz = 1000;
  const minLogMel = minLogHz / fSp;
  const logStep = Math.log(6.4) / 27;
  return m >= minLogMel ? minLogHz * Math.exp(logStep * (m - minLogMel)) : fSp * m;
}

/** Mel filterbank, `bands × bins` row-major, Slaney-normalised triangles over 0 … rate/2. */
export function melFilterbank(rateHz: number, nFft: number, bands: number): Float64Array {
  const bins = Math.floor(nFft / 2) + 1;
  const fftHz = Float64Array.from({ length: bins }, (_, k) => (k * rateHz) / nFft);
  const mMax = hzToMel(rateHz / 2);
  const edges = Float64Array.from({ length: bands + 2 }, (_, i) => melToHz((i * mMax) / (bands + 1)));
  const fb = new Float64Array(bands * bins);
  for (let m = 0; m < bands; m++) {
    const lo = edges[m]!;
    const mid = edges[m + 1]!;
    const hi = edges[m + 2]!;
    const norm = 2 / (hi - lo);
    for (let k = 0; k < bins; k++) {
      const f = fftHz[k]!;
      const w = Math.max(0, Math.min((f - lo) / (mid - lo), (hi - f) / (hi - mid)));
      fb[m * bins + k] = w * norm;
    }
  }
  return fb;
}

/** Precomputed tables of the P.808 front end. */
interface MelFrontEnd {
  /** w[i]·cos(2πki/n) and w[i]·sin(2πki/n), `bins × n` row-major: the windowed DFT as a matrix. */
  readonly cos: Float64Array;
  readonly sin: Float64Array;
  readonly filterbank: Float64Array;
}

let frontEnd: MelFrontEnd | null = null;

function melFrontEnd(): MelFrontEnd {
  if (frontEnd) return frontEnd;
  const n = MEL_N_FFT;
  const cos = new Float64Array(MEL_BINS * n);
  const sin = new Float64Array(MEL_BINS * n);
  for (let k = 0; k < MEL_BINS; k++) {
    for (let i = 0; i < n; i++) {
      const w = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n); // periodic Hann
      const phase = (2 * Math.PI * ((k * i) % n)) / n;
      cos[k * n + i] = w * Math.cos(phase);
      sin[k * n + i] = w * Math.sin(phase);
    }
  }
  frontEnd = { cos, sin, filterbank: melFilterbank(DNSMOS_RATE_HZ, n, MEL_BANDS) };
  return frontEnd;
}

/**
 * The P.808 model's input for one segment: (power_to_db(mel, ref = max) + 40)/40, `frames × 120` row-major
 * (900 frames for the 144,000 samples the runner gives it). See the file comment.
 */
export function p808Features(audio: Float32Array): { data: Float32Array; frames: number } {
  const { cos, sin, filterbank } = melFrontEnd();
  const n = MEL_N_FFT;
  const pad = Math.floor(n / 2);
  const frames = 1 + Math.floor((audio.length + 2 * pad - n) / MEL_HOP);
  const mel = new Float64Array(frames * MEL_BANDS);
  const x = new Float64Array(n);
  const power = new Float64Array(MEL_BINS);
  let maxMel = 0;
  for (let t = 0; t < frames; t++) {
    const start = t * MEL_HOP - pad;
    for (let i = 0; i < n; i++) {
      const j = start + i;
      x[i] = j >= 0 && j < audio.length ? audio[j]! : 0;
    }
    for (let k = 0; k < MEL_BINS; k++) {
      let re = 0;
      let im = 0;
      const row = k * n;
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        re += v * cos[row + i]!;
        im += v * sin[row + i]!;
      }
      power[k] = re * re + im * im;
    }
    for (let m = 0; m < MEL_BANDS; m++) {
      let s = 0;
      const row = m * MEL_BINS;
      for (let k = 0; k < MEL_BINS; k++) s += filterbank[row + k]! * power[k]!;
      mel[t * MEL_BANDS + m] = s;
      if (s > maxMel) maxMel = s;
    }
  }
  const amin = 1e-10;
  const ref = 10 * Math.log10(Math.max(amin, maxMel));
  const data = new Float32Array(frames * MEL_BANDS);
  for (let i = 0; i < mel.length; i++) {
    const db = Math.max(10 * Math.log10(Math.max(amin, mel[i]!)) - ref, -80);
    data[i] = (db + 40) / 40;
  }
  return { data, frames };
}

/** The 9.01 s segments DNSMOS scores for a clip (after self-concatenation of a short clip). */
export function dnsmosSegments(audio16k: Float32Array): Float32Array[] {
  if (audio16k.length === 0) throw new RangeError('DNSMOS: empty clip');
  const fs = DNSMOS_RATE_HZ;
  const need = DNSMOS_SEGMENT_SAMPLES;
  let audio = audio16k;
  while (audio.length < need) {
    const doubled = new Float32Array(audio.length * 2);
    doubled.set(audio);
    doubled.set(audio, audio.length);
    audio = doubled;
  }
  const hops = Math.trunc(Math.floor(audio.length / fs) - DNSMOS_INPUT_SECONDS) + 1;
  const segments: Float32Array[] = [];
  for (let idx = 0; idx < hops; idx++) {
    const start = Math.trunc(idx * fs);
    const end = Math.trunc((idx + DNSMOS_INPUT_SECONDS) * fs);
    const seg = audio.subarray(start, Math.min(end, audio.length));
    if (seg.length < need) continue;
    segments.push(seg);
  }
  return segments;
}

export class Dnsmos {
  private constructor(
    private readonly p835: OnnxSession,
    private readonly p808: OnnxSession | null,
  ) {}

  /**
   * Loads `sig_bak_ovr.onnx` (required) and `model_v8.onnx` (optional: without it `p808` is null) from `dir`.
   */
  static async load(dir: string, config: OnnxSessionConfig = {}): Promise<Dnsmos> {
    const p835 = await OnnxSession.create(path.join(dir, P835_MODEL_FILE), config);
    let p808: OnnxSession | null = null;
    try {
      p808 = await OnnxSession.create(path.join(dir, P808_MODEL_FILE), config);
    } catch (err) {
      config.log?.(`dnsmos: P.808 model not loaded: ${String(err)}`);
    }
    for (const [s, name] of [
      [p835, P835_MODEL_FILE],
      [p808, P808_MODEL_FILE],
    ] as const) {
      if (s && (s.inputs.length !== 1 || s.outputs.length !== 1))
        throw new Error(
          `DNSMOS: ${name} has ${s.inputs.length} inputs, ${s.outputs.length} outputs (1, 1 expected)`,
        );
    }
    return new Dnsmos(p835, p808);
  }

  get hasP808(): boolean {
    return this.p808 !== null;
  }

  /** Scores a 16 kHz mono clip (samples in [−1, 1], any length > 0). */
  async score(audio16k: Float32Array): Promise<DnsmosScores> {
    const segments = dnsmosSegments(audio16k);
    if (segments.length === 0) throw new RangeError('DNSMOS: no segment to score');
    const p835In = this.p835.inputs[0]!.name;
    const p835Out = this.p835.outputs[0]!.name;
    let sig = 0;
    let bak = 0;
    let ovrl = 0;
    let sigRaw = 0;
    let bakRaw = 0;
    let ovrlRaw = 0;
    let p808 = 0;
    for (const seg of segments) {
      const out = await this.p835.run({ [p835In]: { data: Float32Array.from(seg), dims: [1, seg.length] } });
      const raw = out[p835Out]!.data;
      const [s, b, o] = [raw[0]!, raw[1]!, raw[2]!];
      sigRaw += s;
      bakRaw += b;
      ovrlRaw += o;
      sig += polyval(P835_POLYFIT.sig, s);
      bak += polyval(P835_POLYFIT.bak, b);
      ovrl += polyval(P835_POLYFIT.ovrl, o);
      if (this.p808) {
        const { data, frames } = p808Features(seg.subarray(0, seg.length - MEL_HOP));
        if (frames !== MEL_FRAMES)
          throw new Error(`DNSMOS: P.808 features have ${frames} frames, not ${MEL_FRAMES}`);
        const r = await this.p808.run({
          [this.p808.inputs[0]!.name]: { data, dims: [1, frames, MEL_BANDS] },
        });
        p808 += r[this.p808.outputs[0]!.name]!.data[0]!;
      }
    }
    const n = segments.length;
    return {
      sig: sig / n,
      bak: bak / n,
      ovrl: ovrl / n,
      p808: this.p808 ? p808 / n : null,
      sigRaw: sigRaw / n,
      bakRaw: bakRaw / n,
      ovrlRaw: ovrlRaw / n,
      segments: n,
    };
  }

  async release(): Promise<void> {
    await this.p835.release();
    await this.p808?.release();
  }
}
