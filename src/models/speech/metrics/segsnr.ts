/**
 * Segmental SNR (segSNR), dB: the mean over frames of the frame SNR, each clamped to [−10, 35] dB (the
 * usual definition: S. R. Quackenbush, T. P. Barnwell, M. A. Clements, "Objective Measures of Speech
 * Quality", 1988; P. C. Loizou, "Speech Enhancement: Theory and Practice", ch. 11, whose limits these are):
 *
 *   SNR_m = 10·log10(Σ_n s²(n) / (Σ_n (s(n) − ŝ(n))² + ε) + ε),   segSNR = (1/M)·Σ_m clamp(SNR_m, −10, 35)
 *
 * Framing chosen here (defaults): signals at 16 kHz (other rates are resampled with the project's resampler),
 * rectangular frames of 256 samples (16 ms), hop 256 (no overlap), every whole frame counted (silent frames
 * too: they sit at the −10 dB floor unless the error is silent as well); a trailing partial frame is dropped,
 * and a signal shorter than one frame is one frame. ε = `Number.EPSILON`: a frame with no error scores the
 * 35 dB ceiling, a silent clean frame with any error the −10 dB floor.
 */
import { resample } from '../../../streams/features/audio/resample.ts';
import type { AudioSignal } from './stoi.ts';

export const SEGSNR_RATE_HZ = 16_000;

export interface SegSnrOptions {
  /** Frame length, samples at 16 kHz (default 256). */
  readonly frameLength?: number;
  /** Hop, samples (default = frameLength: no overlap). */
  readonly hop?: number;
  /** Clamp range of the frame SNR, dB (default −10 … 35). */
  readonly minDb?: number;
  readonly maxDb?: number;
}

function to16k(x: AudioSignal, rateHz: number): AudioSignal {
  if (rateHz === SEGSNR_RATE_HZ) return x;
  return resample(x instanceof Float32Array ? x : Float32Array.from(x), rateHz, SEGSNR_RATE_HZ);
}

/** Segmental SNR of `processed` against `clean` (equal lengths, ≥ 1 sample) at `rateHz`, dB. */
export function segmentalSnr(
  clean: AudioSignal,
  processed: AudioSignal,
  rateHz: number = SEGSNR_RATE_HZ,
  options: SegSnrOptions = {},
): number {
  if (clean.length !== processed.length)
    throw new RangeError(
      `segmentalSnr: signals of ${clean.length} and ${processed.length} samples (must be equal)`,
    );
  if (clean.length === 0) throw new RangeError('segmentalSnr: empty signals');
  if (!Number.isInteger(rateHz) || rateHz <= 0)
    throw new RangeError(`segmentalSnr: sample rate ${rateHz} Hz must be a positive integer`);
  const frame = options.frameLength ?? 256;
  const hop = options.hop ?? frame;
  const lo = options.minDb ?? -10;
  const hi = options.maxDb ?? 35;
  if (!Number.isInteger(frame) || frame < 1 || !Number.isInteger(hop) || hop < 1)
    throw new RangeError(`segmentalSnr: frame ${frame} and hop ${hop} must be positive integers`);
  if (!(lo < hi)) throw new RangeError(`segmentalSnr: clamp range ${lo} … ${hi} dB is empty`);
  const s = to16k(clean, rateHz);
  const y = to16k(processed, rateHz);
  const n = s.length;
  const len = Math.min(frame, n);
  const frames = Math.floor((n - len) / hop) + 1;
  const eps = Number.EPSILON;
  let sum = 0;
  for (let f = 0; f < frames; f++) {
    const o = f * hop;
    let es = 0;
    let ee = 0;
    for (let i = o; i < o + len; i++) {
      const v = s[i]!;
      const e = v - y[i]!;
      es += v * v;
      ee += e * e;
    }
    const db = 10 * Math.log10(es / (ee + eps) + eps);
    sum += Math.min(hi, Math.max(lo, db));
  }
  return sum / frames;
}
