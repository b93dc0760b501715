/**
 * Log-spectral amplitude MMSE speech enhancement (Ephraim & Malah 1985, "Speech enhancement using a minimum
 * mean-square error log-spectral amplitude estimator", IEEE TASSP 33(2), 443–445): a classic single-channel
 * baseline for the cabin speech enhancer, streaming and chunk-invariant.
 *
 * Analysis/synthesis: the project's STFT (`stft.ts`) at 16 kHz with a 320-sample (20 ms) periodic Hann
 * window, 160-sample (10 ms) hop — 50 % overlap — zero-padded to a 512-point FFT (257 bins), i.e.
 * `LIVE_STFT_320_160`; synthesis by WOLA with the noisy phase. The STFT's own framing applies (frame t covers
 * samples [(t+1)·hop − W, (t+1)·hop), the output timeline is not shifted).
 *
 * Per frame t and bin k, with Y the noisy spectrum and λ the noise power estimate:
 *   - a-posteriori SNR γ = |Y|²/λ, clipped to `maxPosteriorSnr` (40, as in Loizou's reference implementation);
 *   - a-priori SNR by the decision-directed rule, ξ = α·Â²(t−1)/λ + (1 − α)·max(γ − 1, 0), α = 0.98
 *     (first frame: ξ = α + (1 − α)·max(γ − 1, 0)), floored at ξ_min = −25 dB;
 *   - gain G = ξ/(1 + ξ)·exp(½·E1(v)), v = ξ/(1 + ξ)·γ, E1 the exponential integral (`expint1`), clipped to
 *     [gainFloor, maxGain] (defaults −25 dB and 1: the estimator never amplifies; at v → 0, e.g. digital
 *     silence, the unclipped gain diverges);
 *   - Â = G·|Y|, the enhanced spectrum Â·e^{i∠Y}.
 * Noise: λ starts as the mean power |Y|² of the first `initialNoiseFrames` (6) frames whose window lies
 * wholly inside the signal (frame 0 covers W − hop samples of the STFT's leading zero padding and is not
 * used), assumed noise only, as in the classic implementation (which averages magnitudes and squares the
 * mean; the power mean here is the E&M noise variance λ_d, about 1 dB above it for Gaussian noise). After
 * that a simple likelihood-ratio VAD updates it: a frame is noise only when
 * mean_k(γ·ξ/(1 + ξ) − ln(1 + ξ)) < η (0.15), and then λ ← μ·λ + (1 − μ)·|Y|², μ = 0.98. The noise power
 * has a floor of `LOG_POWER_EPSILON` (unscaled FFT units) so that silence gives γ = 0, not 0/0.
 *
 * Streaming: frames are held until the initial noise estimate exists (6 + 1 frames, 70 ms at start-up only),
 * then each frame is enhanced as it completes; the per-frame arithmetic is the same whatever the chunking,
 * so output is bit-identical to the whole-signal `logMmse` for any chunk sizes. A stream shorter than the
 * initial window uses the frames it has (full ones when there are any). Steady-state latency is the STFT's:
 * W − hop samples plus the hop wait (20 ms); algorithmic delay window + hop = 30 ms.
 *
 * Other rates: input at a rate ≠ 16 kHz is resampled to 16 kHz with the project's `Resampler`, enhanced, and
 * resampled back; the output is trimmed or zero-padded to the input length.
 */
import { Resampler } from '../../streams/features/audio/resample.ts';
import {
  LIVE_STFT_320_160,
  LOG_POWER_EPSILON,
  StreamingIstft,
  StreamingStft,
} from '../../streams/features/audio/stft.ts';
import type { StftConfig, StftFrame } from '../../streams/features/audio/stft.ts';

export const LOGMMSE_RATE_HZ = 16_000;
/** 20 ms periodic Hann, 10 ms hop (50 % overlap), 512-point FFT: 257 bins. */
export const LOGMMSE_STFT: StftConfig = LIVE_STFT_320_160;

export interface LogMmseOptions {
  /** Decision-directed smoothing α (default 0.98). */
  readonly alpha?: number;
  /** Minimum a-priori SNR ξ_min, dB (default −25). */
  readonly minPrioriSnrDb?: number;
  /** Clip of the a-posteriori SNR γ (default 40, linear). */
  readonly maxPosteriorSnr?: number;
  /** Gain floor, dB (default −25). */
  readonly gainFloorDb?: number;
  /** Gain ceiling, linear (default 1). */
  readonly maxGain?: number;
  /** Frames (wholly inside the signal) averaged for the initial noise estimate (default 6). */
  readonly initialNoiseFrames?: number;
  /** VAD threshold η on the mean log likelihood ratio (default 0.15). */
  readonly vadThreshold?: number;
  /** Noise update smoothing μ in noise-only frames (default 0.98). */
  readonly noiseSmoothing?: number;
  /** STFT set-up at 16 kHz (default `LOGMMSE_STFT`). */
  readonly stft?: StftConfig;
}

interface ResolvedOptions {
  readonly alpha: number;
  readonly minPriori: number;
  readonly maxPosterior: number;
  readonly gainFloor: number;
  readonly maxGain: number;
  readonly initialNoiseFrames: number;
  readonly vadThreshold: number;
  readonly noiseSmoothing: number;
  readonly stft: StftConfig;
}

function resolveOptions(o: LogMmseOptions): ResolvedOptions {
  const r: ResolvedOptions = {
    alpha: o.alpha ?? 0.98,
    minPriori: 10 ** ((o.minPrioriSnrDb ?? -25) / 10),
    maxPosterior: o.maxPosteriorSnr ?? 40,
    gainFloor: 10 ** ((o.gainFloorDb ?? -25) / 20),
    maxGain: o.maxGain ?? 1,
    initialNoiseFrames: o.initialNoiseFrames ?? 6,
    vadThreshold: o.vadThreshold ?? 0.15,
    noiseSmoothing: o.noiseSmoothing ?? 0.98,
    stft: o.stft ?? LOGMMSE_STFT,
  };
  if (!(r.alpha >= 0 && r.alpha < 1)) throw new RangeError(`logMMSE: alpha ${r.alpha} not in [0, 1)`);
  if (!(r.noiseSmoothing >= 0 && r.noiseSmoothing <= 1))
    throw new RangeError(`logMMSE: noise smoothing ${r.noiseSmoothing} not in [0, 1]`);
  if (!Number.isInteger(r.initialNoiseFrames) || r.initialNoiseFrames < 1)
    throw new RangeError(`logMMSE: initialNoiseFrames ${r.initialNoiseFrames}`);
  if (!(r.gainFloor > 0 && r.gainFloor <= r.maxGain))
    throw new RangeError(`logMMSE: gain floor ${r.gainFloor} above the ceiling ${r.maxGain}`);
  if (!(r.maxPosterior > 0)) throw new RangeError(`logMMSE: maxPosteriorSnr ${r.maxPosterior}`);
  if (r.stft.sampleRateHz !== LOGMMSE_RATE_HZ)
    throw new RangeError(`logMMSE: the STFT must run at ${LOGMMSE_RATE_HZ} Hz`);
  return r;
}

const EULER_GAMMA = 0.5772156649015329;

/**
 * Exponential integral E1(x) = ∫_x^∞ e^{−t}/t dt for x > 0 (+∞ at 0, NaN below), to about 1e-15 relative:
 * the power series E1(x) = −γ − ln x − Σ_{k≥1} (−x)^k/(k·k!) for x ≤ 1, and for x > 1 the continued
 * fraction E1(x) = e^{−x}·1/(x + 1 − 1²/(x + 3 − 2²/(x + 5 − …))) evaluated by the modified Lentz method.
 */
export function expint1(x: number): number {
  if (Number.isNaN(x) || x < 0) return NaN;
  if (x === 0) return Infinity;
  if (x === Infinity) return 0;
  if (x <= 1) {
    let sum = 0;
    let term = 1; // (−x)^k / k!
    for (let k = 1; k < 100; k++) {
      term *= -x / k;
      const add = term / k;
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return -EULER_GAMMA - Math.log(x) - sum;
  }
  const tiny = 1e-300;
  let b = x + 1;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 1000; i++) {
    const a = -i * i;
    b += 2;
    d = 1 / (a * d + b);
    c = b + a / c;
    const delta = c * d;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return h * Math.exp(-x);
}

/** The Ephraim–Malah log-spectral amplitude gain ξ/(1+ξ)·exp(½·E1(ξγ/(1+ξ))), unclipped (∞ at γ = 0). */
export function logMmseGain(prioriSnr: number, posteriorSnr: number): number {
  const a = prioriSnr / (1 + prioriSnr);
  return a * Math.exp(0.5 * expint1(a * posteriorSnr));
}

/**
 * Streaming logMMSE enhancer: `push` chunks of any size, get the samples made final; `flush` at the end
 * returns the rest (trimmed so that the total equals the samples pushed) and resets the instance.
 */
export class LogMmseStream {
  readonly rateHz: number;
  private readonly opts: ResolvedOptions;
  private readonly analysis: StreamingStft;
  private readonly synthesis: StreamingIstft;
  private readonly toInternal: Resampler | null;
  private readonly fromInternal: Resampler | null;
  private readonly bins: number;
  /** First frame index whose window lies wholly inside the signal: ceil((W − hop)/hop). */
  private readonly firstFullFrame: number;
  private noise: Float64Array | null = null;
  private readonly prevAmp2: Float64Array;
  private framesDone = 0;
  private readonly pending: StftFrame[] = [];
  private readonly re: Float64Array;
  private readonly im: Float64Array;
  private readonly power: Float64Array;
  private readonly gain: Float64Array;
  private inCount = 0;
  private outCount = 0;
  /** 16 kHz samples emitted by the ISTFT (to trim the tail to the 16 kHz samples analysed). */
  private internalOut = 0;

  constructor(rateHz: number = LOGMMSE_RATE_HZ, options: LogMmseOptions = {}) {
    if (!Number.isInteger(rateHz) || rateHz <= 0) throw new RangeError(`logMMSE: rate ${rateHz} Hz`);
    this.rateHz = rateHz;
    this.opts = resolveOptions(options);
    this.analysis = new StreamingStft(this.opts.stft);
    this.synthesis = new StreamingIstft(this.opts.stft);
    const resampled = rateHz !== LOGMMSE_RATE_HZ;
    this.toInternal = resampled
      ? new Resampler({ inputRateHz: rateHz, outputRateHz: LOGMMSE_RATE_HZ })
      : null;
    this.fromInternal = resampled
      ? new Resampler({ inputRateHz: LOGMMSE_RATE_HZ, outputRateHz: rateHz })
      : null;
    const { bins, windowLength, hop } = this.analysis.config;
    this.bins = bins;
    this.firstFullFrame = Math.ceil((windowLength - hop) / hop);
    this.prevAmp2 = new Float64Array(bins);
    this.re = new Float64Array(bins);
    this.im = new Float64Array(bins);
    this.power = new Float64Array(bins);
    this.gain = new Float64Array(bins);
  }

  /** Pushes samples at `rateHz`; returns the enhanced samples now final (possibly none). */
  push(chunk: Float32Array): Float32Array {
    this.inCount += chunk.length;
    const x = this.toInternal ? this.toInternal.process(chunk) : chunk;
    const y = this.enhanceFrames(this.analysis.push(x), false);
    this.internalOut += y.length;
    return this.output(y, false);
  }

  /** Ends the stream: returns the remaining samples (the total equals the samples pushed), then resets. */
  flush(): Float32Array {
    const parts: Float32Array[] = [];
    if (this.toInternal) {
      const tail = this.toInternal.flush();
      parts.push(this.enhanceFrames(this.analysis.push(tail), false));
    }
    const analysed = this.analysis.samplesIn;
    parts.push(this.enhanceFrames(this.analysis.flush(), true));
    parts.push(this.synthesis.flush());
    const y = trimConcat(parts, Math.max(0, analysed - this.internalOut));
    const out = this.output(y, true);
    this.reset();
    return out;
  }

  reset(): void {
    this.analysis.reset();
    this.synthesis.reset();
    this.toInternal?.reset();
    this.fromInternal?.reset();
    this.noise = null;
    this.prevAmp2.fill(0);
    this.framesDone = 0;
    this.pending.length = 0;
    this.inCount = 0;
    this.outCount = 0;
    this.internalOut = 0;
  }

  private output(y16k: Float32Array, final: boolean): Float32Array {
    let y = y16k;
    if (this.fromInternal) {
      const a = this.fromInternal.process(y);
      y = final ? trimConcat([a, this.fromInternal.flush()], Infinity) : a;
    }
    if (final) {
      // Pad (resampling round-off) or trim to exactly the samples pushed.
      const want = this.inCount - this.outCount;
      if (y.length !== want) {
        const z = new Float32Array(Math.max(0, want));
        z.set(y.subarray(0, Math.min(y.length, z.length)));
        y = z;
      }
    } else if (this.outCount + y.length > this.inCount) {
      y = y.subarray(0, this.inCount - this.outCount);
    }
    this.outCount += y.length;
    return y;
  }

  /** Enhances frames (holding them until the noise estimate exists); returns the 16 kHz samples made final. */
  private enhanceFrames(frames: readonly StftFrame[], final: boolean): Float32Array {
    const parts: Float32Array[] = [];
    let ready: readonly StftFrame[] = frames;
    if (this.noise === null) {
      this.pending.push(...frames);
      const full = this.pending.filter((f) => f.index >= this.firstFullFrame);
      if (full.length >= this.opts.initialNoiseFrames || (final && this.pending.length > 0)) {
        const use = full.length > 0 ? full.slice(0, this.opts.initialNoiseFrames) : this.pending;
        this.noise = this.initialNoise(use);
        ready = this.pending.splice(0, this.pending.length);
      } else {
        ready = [];
      }
    }
    let total = 0;
    for (const f of ready) {
      const y = this.enhanceFrame(f);
      parts.push(y);
      total += y.length;
    }
    return trimConcat(parts, total);
  }

  private initialNoise(frames: readonly StftFrame[]): Float64Array {
    const noise = new Float64Array(this.bins);
    for (const f of frames) {
      for (let k = 0; k < this.bins; k++) noise[k] = noise[k]! + framePower(f.logPower[k]!);
    }
    for (let k = 0; k < this.bins; k++) noise[k] = Math.max(noise[k]! / frames.length, LOG_POWER_EPSILON);
    return noise;
  }

  private enhanceFrame(frame: StftFrame): Float32Array {
    const noise = this.noise!;
    const { alpha, minPriori, maxPosterior, gainFloor, maxGain, vadThreshold, noiseSmoothing } = this.opts;
    const bins = this.bins;
    const power = this.power;
    const gain = this.gain;
    const prev = this.prevAmp2;
    const first = this.framesDone === 0;
    let vad = 0;
    for (let k = 0; k < bins; k++) {
      const p = framePower(frame.logPower[k]!);
      power[k] = p;
      const lambda = noise[k]!;
      const gamma = Math.min(p / lambda, maxPosterior);
      const ml = Math.max(gamma - 1, 0);
      let xi = first ? alpha + (1 - alpha) * ml : (alpha * prev[k]!) / lambda + (1 - alpha) * ml;
      if (!(xi >= minPriori)) xi = minPriori;
      const a = xi / (1 + xi);
      vad += gamma * a - Math.log(1 + xi);
      let g = a * Math.exp(0.5 * expint1(a * gamma));
      if (!(g <= maxGain)) g = maxGain; // also catches ∞ (γ = 0)
      if (g < gainFloor) g = gainFloor;
      gain[k] = g;
      prev[k] = g * g * p;
    }
    if (vad / bins < vadThreshold) {
      for (let k = 0; k < bins; k++)
        noise[k] = Math.max(noiseSmoothing * noise[k]! + (1 - noiseSmoothing) * power[k]!, LOG_POWER_EPSILON);
    }
    const re = this.re;
    const im = this.im;
    for (let k = 0; k < bins; k++) {
      const mag = gain[k]! * Math.sqrt(power[k]!);
      const ph = frame.phase[k]!;
      re[k] = mag * Math.cos(ph);
      im[k] = mag * Math.sin(ph);
    }
    this.framesDone++;
    return this.synthesis.pushComplex(re, im);
  }
}

/** |X|² from the STFT's log power ln(|X|² + ε). */
function framePower(logPower: number): number {
  const p = Math.exp(logPower) - LOG_POWER_EPSILON;
  return p > 0 ? p : 0;
}

function trimConcat(parts: readonly Float32Array[], max: number): Float32Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const n = Math.min(total, max);
  const out = new Float32Array(n);
  let o = 0;
  for (const p of parts) {
    if (o >= n) break;
    const take = Math.min(p.length, n - o);
    out.set(take === p.length ? p : p.subarray(0, take), o);
    o += take;
  }
  return out;
}

/**
 * Enhances a whole signal with the logMMSE estimator (see the file comment); returns as many samples as
 * given, at the same rate. The same as one `LogMmseStream.push` and a `flush`.
 */
export function logMmse(noisy: Float32Array, rateHz: number, opts: LogMmseOptions = {}): Float32Array {
  const s = new LogMmseStream(rateHz, opts);
  return trimConcat([s.push(noisy), s.flush()], noisy.length);
}
