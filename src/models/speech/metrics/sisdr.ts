/**
 * Scale-invariant signal-to-distortion ratio (SI-SDR), dB: J. Le Roux, S. Wisdom, H. Erdogan, J. R. Hershey,
 * "SDR – half-baked or well done?", ICASSP 2019.
 *
 * Both signals are made zero-mean; the reference s is scaled to the orthogonal projection of the estimate ŝ
 * onto it, e_target = α·s with α = ŝᵀs / ‖s‖², and the rest is the residual e_res = ŝ − e_target:
 *
 *   SI-SDR = 10·log10((‖e_target‖² + ε) / (‖e_res‖² + ε))
 *
 * with α = ŝᵀs / (‖s‖² + ε) and ε = `Number.EPSILON` by default (an absolute energy, negligible for any
 * audible signal; it keeps a perfect estimate finite and a zero reference defined). Invariant to the scale of
 * the estimate (and of the reference) up to ε. Sample-rate independent: no resampling.
 */
import type { AudioSignal } from './stoi.ts';

export interface SiSdrOptions {
  /** ε added to the energies (default `Number.EPSILON`). */
  readonly epsilon?: number;
}

function mean(x: AudioSignal): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]!;
  return x.length === 0 ? 0 : s / x.length;
}

/** SI-SDR of `estimate` against `reference` (equal lengths, ≥ 1 sample), dB. */
export function siSdr(reference: AudioSignal, estimate: AudioSignal, options: SiSdrOptions = {}): number {
  const n = reference.length;
  if (n !== estimate.length)
    throw new RangeError(`siSdr: signals of ${n} and ${estimate.length} samples (must be equal)`);
  if (n === 0) throw new RangeError('siSdr: empty signals');
  const eps = options.epsilon ?? Number.EPSILON;
  const mr = mean(reference);
  const me = mean(estimate);
  let dot = 0;
  let rr = 0;
  for (let i = 0; i < n; i++) {
    const r = reference[i]! - mr;
    dot += (estimate[i]! - me) * r;
    rr += r * r;
  }
  const alpha = dot / (rr + eps);
  let target = 0;
  let residual = 0;
  for (let i = 0; i < n; i++) {
    const t = alpha * (reference[i]! - mr);
    const e = estimate[i]! - me - t;
    target += t * t;
    residual += e * e;
  }
  return 10 * Math.log10((target + eps) / (residual + eps));
}
