/**
 * Short-time Fourier analysis and synthesis of 16 kHz mono speech, streaming, as in the AVDCNN set-up
 * (Hou et al. 2018): 512-sample (32 ms) periodic Hann window, 320-sample (20 ms) hop — 37.5 % overlap,
 * 50 frames/s — a 512-point FFT and the 257-bin log power spectrum; window and hop are configurable for the
 * live low-delay variants (512/128, 320/160 zero-padded to a 512-point FFT: still 257 bins).
 *
 * Log power: `lps[k] = ln(|X[k]|² + ε)`, natural log, ε = 1e-10 (`LOG_POWER_EPSILON`; silence gives
 * ln ε = −23.03), with X the unscaled FFT of the windowed frame of samples in [−1, 1]. For scale: a full-scale
 * sine peaks near ln(128²) ≈ 9.7; 16-bit quantisation noise sits near ln(1.5e-8) ≈ −18, well above ε. The
 * ε is added rather than used as a hard floor so the mapping stays smooth and invertible: synthesis takes
 * |X|² = max(e^lps − ε, 0), which gives quiet, band-limited float recordings back exactly too (a hard floor
 * cost up to 8e-6 of round-trip error on the Lombard GRID files). Phase: atan2(Im, Re) in (−π, π], radians.
 *
 * Framing (time convention): frame t covers input samples [(t+1)·hop − W, (t+1)·hop), W the window length,
 * i.e. the signal is preceded by W − hop zeros and each hop of input completes one frame — the natural
 * streaming form, with no look-ahead. Frame t is complete when sample (t+1)·hop − 1 has arrived. At the end,
 * `flush()` pads zeros to emit every frame that still covers a real sample (the frames with start ≤ N − 1):
 * floor((N − 1 + W)/hop) frames in all for N > 0 samples.
 *
 * Synthesis: weighted overlap-add with the same window, normalised by the summed squared window,
 * y[n] = Σ_t w[n − s_t]·x_t[n − s_t] / Σ_t w[n − s_t]², the least-squares inverse (Griffin & Lim 1984).
 * A Hann window at 37.5 % overlap does not sum to a constant; the division makes the round trip exact, and
 * thanks to the W − hop zeros of leading padding every sample n ≥ 0 sees the steady-state window sum, so the
 * edges need no special case. A frame is only final once the next frame has been added: after frame t the
 * samples up to (t+2)·hop − W are emitted, so the output lags the input by W − hop samples (12 ms at 512/320)
 * plus the wait for a whole hop; the output timeline is not shifted (output sample n is input sample n).
 *
 * Algorithmic delay, as the DNS Challenge counts it: window + hop + look-ahead (`algorithmicDelay`).
 * Instances are stateful, one per stream, not re-entrant.
 */
import { createRealFft } from './fft.ts';
import type { FftImplementation, RealFft } from './fft.ts';

export interface StftConfig {
  /** Sample rate of the signal, Hz (16,000 for AVDCNN); used for the delays in ms. */
  readonly sampleRateHz: number;
  /** Window length W, samples. */
  readonly windowLength: number;
  /** Hop, samples (1 ≤ hop < W). */
  readonly hop: number;
  /** FFT size, a power of two ≥ W (default: the smallest); bins = fftSize/2 + 1. */
  readonly fftSize?: number;
  readonly fft?: FftImplementation;
}

/** The paper's set-up: 32 ms window, 20 ms hop (offline; 92 ms algorithmic delay with ±2 context frames). */
export const AVDCNN_STFT: StftConfig = { sampleRateHz: 16_000, windowLength: 512, hop: 320 };
/** Live variant: 32 ms window, 8 ms hop → 40 ms algorithmic delay with past context only. */
export const LIVE_STFT_512_128: StftConfig = { sampleRateHz: 16_000, windowLength: 512, hop: 128 };
/** Live variant: 20 ms window, 10 ms hop, 512-point FFT (257 bins) → 30 ms with past context only. */
export const LIVE_STFT_320_160: StftConfig = {
  sampleRateHz: 16_000,
  windowLength: 320,
  hop: 160,
  fftSize: 512,
};

/** ε of the log power spectrum, added to |X|² (power units of the unscaled FFT); ln ε = −23.03. */
export const LOG_POWER_EPSILON = 1e-10;

/** Periodic Hann window of length n: w[i] = 0.5 − 0.5·cos(2πi/n). */
export function periodicHann(n: number): Float64Array {
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) w[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n);
  return w;
}

export interface ResolvedStft {
  readonly sampleRateHz: number;
  readonly windowLength: number;
  readonly hop: number;
  readonly fftSize: number;
  readonly bins: number;
  readonly window: Float64Array;
  /** 1 / Σ_j w[r + j·hop]², r = 0..hop−1: the WOLA normalisation at offset r of a hop block. */
  readonly invWindowSum: Float64Array;
  readonly fft: FftImplementation;
}

/** Validates a config and precomputes the window and the overlap-add normalisation. */
export function resolveStft(config: StftConfig): ResolvedStft {
  const { sampleRateHz, windowLength: w, hop } = config;
  if (!(sampleRateHz > 0)) throw new RangeError(`STFT: sample rate ${sampleRateHz} Hz`);
  if (!Number.isInteger(w) || w < 2) throw new RangeError(`STFT: window length ${w} samples`);
  if (!Number.isInteger(hop) || hop < 1 || hop >= w)
    throw new RangeError(`STFT: hop ${hop} samples must be an integer in 1..${w - 1} (window ${w})`);
  let fftSize = config.fftSize ?? 1;
  if (config.fftSize === undefined) while (fftSize < w) fftSize *= 2;
  if (!Number.isInteger(fftSize) || fftSize < w || (fftSize & (fftSize - 1)) !== 0)
    throw new RangeError(`STFT: FFT size ${fftSize} must be a power of two ≥ the window (${w})`);
  const window = periodicHann(w);
  const sums = new Float64Array(hop);
  for (let m = 0; m < w; m++) sums[m % hop] = sums[m % hop]! + window[m]! * window[m]!;
  let lo = Infinity;
  let hi = 0;
  for (const s of sums) {
    lo = Math.min(lo, s);
    hi = Math.max(hi, s);
  }
  if (!(lo > 1e-3 * hi)) {
    throw new RangeError(
      `STFT: window ${w} with hop ${hop} overlaps too little for a stable inverse ` +
        `(summed squared window min/max ${(lo / hi).toExponential(1)})`,
    );
  }
  const invWindowSum = sums.map((s) => 1 / s);
  return {
    sampleRateHz,
    windowLength: w,
    hop,
    fftSize,
    bins: fftSize / 2 + 1,
    window,
    invWindowSum,
    fft: config.fft ?? 'radix4',
  };
}

export interface AlgorithmicDelay {
  /** window + hop + look-ahead, samples and ms. */
  readonly samples: number;
  readonly ms: number;
  readonly windowMs: number;
  readonly hopMs: number;
  /** Look-ahead from future context frames: lookaheadFrames × hop. */
  readonly lookaheadMs: number;
}

/**
 * Algorithmic delay as the DNS Challenge counts it: window + hop + look-ahead. AVDCNN (512/320, ±2 context
 * frames): 32 + 20 + 40 = 92 ms; live 512/128 with past context only: 40 ms; 320/160: 30 ms.
 */
export function algorithmicDelay(config: StftConfig, lookaheadFrames = 0): AlgorithmicDelay {
  const { sampleRateHz: fs, windowLength: w, hop } = config;
  if (!Number.isInteger(lookaheadFrames) || lookaheadFrames < 0)
    throw new RangeError(`look-ahead ${lookaheadFrames} frames`);
  const samples = w + hop + lookaheadFrames * hop;
  const ms = (n: number): number => (n / fs) * 1000;
  return {
    samples,
    ms: ms(samples),
    windowMs: ms(w),
    hopMs: ms(hop),
    lookaheadMs: ms(lookaheadFrames * hop),
  };
}

/** Frames for N samples once flushed: floor((N − 1 + W)/hop) (0 for N = 0). */
export function frameCount(samples: number, config: StftConfig): number {
  return samples <= 0 ? 0 : Math.floor((samples - 1 + config.windowLength) / config.hop);
}

export interface StftFrame {
  /** Frame index t from the start of the stream; it covers samples [(t+1)·hop − W, (t+1)·hop). */
  readonly index: number;
  /** ln(|X|² + ε), `bins` values. */
  readonly logPower: Float32Array;
  /** atan2(Im X, Re X), radians, `bins` values. */
  readonly phase: Float32Array;
}

/** Whole-signal spectrogram: frame-major (row t = frame t), `frames × bins` values each. */
export interface Spectrogram {
  readonly frames: number;
  readonly bins: number;
  /** Input samples analysed (the length to give back on synthesis). */
  readonly samples: number;
  readonly logPower: Float32Array;
  readonly phase: Float32Array;
}

/** Streaming analysis: push samples in chunks of any size, get the frames they complete. */
export class StreamingStft {
  readonly config: ResolvedStft;
  private readonly fft: RealFft;
  /** Samples of the frame being filled; the first W − hop are the previous frame's tail. */
  private readonly buf: Float64Array;
  private fill: number;
  private readonly frameIn: Float64Array;
  private readonly re: Float64Array;
  private readonly im: Float64Array;
  private frames = 0;
  private received = 0;

  constructor(config: StftConfig) {
    this.config = resolveStft(config);
    const { windowLength: w, fftSize, bins } = this.config;
    this.fft = createRealFft(fftSize, this.config.fft);
    this.buf = new Float64Array(w);
    this.fill = w - this.config.hop;
    this.frameIn = new Float64Array(fftSize);
    this.re = new Float64Array(bins);
    this.im = new Float64Array(bins);
  }

  /** Samples pushed and frames emitted since the start (or the last flush). */
  get samplesIn(): number {
    return this.received;
  }
  get framesOut(): number {
    return this.frames;
  }

  /** Pushes samples (any count, including 0); returns the frames completed, oldest first. */
  push(samples: ArrayLike<number>): StftFrame[] {
    const out: StftFrame[] = [];
    const w = this.config.windowLength;
    const n = samples.length;
    for (let i = 0; i < n;) {
      const take = Math.min(w - this.fill, n - i);
      for (let j = 0; j < take; j++) this.buf[this.fill + j] = samples[i + j]!;
      this.fill += take;
      i += take;
      if (this.fill === w) out.push(this.emit());
    }
    this.received += n;
    return out;
  }

  /** Ends the stream: zero-pads to emit the frames that still cover real samples, then resets. */
  flush(): StftFrame[] {
    const out: StftFrame[] = [];
    const total = frameCount(this.received, this.config);
    const w = this.config.windowLength;
    while (this.frames < total) {
      this.buf.fill(0, this.fill, w);
      this.fill = w;
      out.push(this.emit());
    }
    this.reset();
    return out;
  }

  reset(): void {
    this.buf.fill(0);
    this.fill = this.config.windowLength - this.config.hop;
    this.frames = 0;
    this.received = 0;
  }

  private emit(): StftFrame {
    const { windowLength: w, hop, bins, window } = this.config;
    const x = this.frameIn;
    const buf = this.buf;
    for (let i = 0; i < w; i++) x[i] = buf[i]! * window[i]!;
    this.fft.forward(x, this.re, this.im);
    const logPower = new Float32Array(bins);
    const phase = new Float32Array(bins);
    const re = this.re;
    const im = this.im;
    for (let k = 0; k < bins; k++) {
      const r = re[k]!;
      const q = im[k]!;
      const p = r * r + q * q;
      logPower[k] = Math.log(p + LOG_POWER_EPSILON);
      phase[k] = Math.atan2(q, r);
    }
    buf.copyWithin(0, hop, w);
    this.fill = w - hop;
    return { index: this.frames++, logPower, phase };
  }
}

/**
 * Streaming synthesis from log power + phase frames (e.g. the enhanced log power spectrum with the noisy
 * phase): |X| = √max(e^lps − ε, 0), X = |X|·e^{iφ}, inverse FFT, the first W samples windowed and overlap-added,
 * normalised by the summed squared window. Output sample n is the same instant as input sample n of the
 * analysis; `push` returns the samples made final by a frame (hop of them once running; the first frames
 * return fewer or none: they only cover the leading padding), `flush` the last W − hop. Consumers trim to the
 * analysed length (`Spectrogram.samples`, `StreamingStft.samplesIn`).
 */
export class StreamingIstft {
  readonly config: ResolvedStft;
  private readonly fft: RealFft;
  private readonly re: Float64Array;
  private readonly im: Float64Array;
  private readonly frameOut: Float64Array;
  /** Overlap-add accumulator; acc[0] is absolute sample `accStart` (the start of the next frame to come). */
  private readonly acc: Float64Array;
  private accStart: number;
  private frames = 0;

  constructor(config: StftConfig) {
    this.config = resolveStft(config);
    const { fftSize, bins, windowLength: w, hop } = this.config;
    this.fft = createRealFft(fftSize, this.config.fft);
    this.re = new Float64Array(bins);
    this.im = new Float64Array(bins);
    this.frameOut = new Float64Array(fftSize);
    this.acc = new Float64Array(w);
    this.accStart = hop - w;
  }

  get framesIn(): number {
    return this.frames;
  }

  /** Adds one frame (log power and phase, `bins` values each); returns the samples now final. */
  push(logPower: ArrayLike<number>, phase: ArrayLike<number>): Float32Array {
    return this.pushMean([logPower], phase);
  }

  /**
   * Adds one frame whose magnitude is the mean of the magnitudes of several log-power frames, with one phase:
   * by linearity, the mean (up to rounding) of what `push` would give for each through its own ISTFT (an
   * ensemble of models that keep the noisy phase, synthesised once). With one frame it is `push` exactly.
   */
  pushMean(logPowers: readonly ArrayLike<number>[], phase: ArrayLike<number>): Float32Array {
    const { bins } = this.config;
    const n = logPowers.length;
    if (n === 0) throw new RangeError('ISTFT: no frame to add');
    for (const logPower of logPowers)
      if (logPower.length !== bins || phase.length !== bins)
        throw new RangeError(`ISTFT: frame of ${logPower.length}/${phase.length} bins, expected ${bins}`);
    const re = this.re;
    const im = this.im;
    for (let k = 0; k < bins; k++) {
      let mag = 0;
      for (const logPower of logPowers) {
        const power = Math.exp(logPower[k]!) - LOG_POWER_EPSILON;
        if (power > 0) mag += Math.sqrt(power);
      }
      mag /= n;
      const ph = phase[k]!;
      re[k] = mag * Math.cos(ph);
      im[k] = mag * Math.sin(ph);
    }
    return this.pushComplex(re, im);
  }

  /** Adds one frame given as a complex half spectrum (re, im: `bins` values each). */
  pushComplex(re: Float64Array, im: Float64Array): Float32Array {
    const { windowLength: w, hop, window } = this.config;
    this.fft.inverse(re, im, this.frameOut);
    const acc = this.acc;
    const y = this.frameOut;
    for (let i = 0; i < w; i++) acc[i] = acc[i]! + y[i]! * window[i]!;
    this.frames++;
    return this.emit(hop);
  }

  /** Ends the stream: returns the last W − hop samples (the tail of the last frame), then resets. */
  flush(): Float32Array {
    const { windowLength: w, hop } = this.config;
    const out = this.frames === 0 ? new Float32Array(0) : this.emit(w - hop);
    this.reset();
    return out;
  }

  reset(): void {
    this.acc.fill(0);
    this.accStart = this.config.hop - this.config.windowLength;
    this.frames = 0;
  }

  /** Emits acc[0..count) (its samples at index ≥ 0), normalised, and shifts the accumulator by `count`. */
  private emit(count: number): Float32Array {
    const { windowLength: w, hop, invWindowSum } = this.config;
    const acc = this.acc;
    const skip = Math.min(count, Math.max(0, -this.accStart));
    const out = new Float32Array(count - skip);
    // acc[i] is offset i from a frame start, so its WOLA normaliser is invWindowSum[i mod hop].
    for (let i = skip; i < count; i++) out[i - skip] = acc[i]! * invWindowSum[i % hop]!;
    acc.copyWithin(0, count, w);
    acc.fill(0, w - count, w);
    this.accStart += count;
    return out;
  }
}

function concat(parts: readonly Float32Array[], total: number): Float32Array {
  const out = new Float32Array(total);
  let p = 0;
  for (const a of parts) {
    const n = Math.min(a.length, total - p);
    out.set(n === a.length ? a : a.subarray(0, n), p);
    p += n;
  }
  return out;
}

/** Whole-signal analysis: exactly the frames of one `push` and a `flush` of a `StreamingStft`. */
export function stft(signal: ArrayLike<number>, config: StftConfig = AVDCNN_STFT): Spectrogram {
  const s = new StreamingStft(config);
  const frames = [...s.push(signal), ...s.flush()];
  const bins = s.config.bins;
  const logPower = new Float32Array(frames.length * bins);
  const phase = new Float32Array(frames.length * bins);
  frames.forEach((f, t) => {
    logPower.set(f.logPower, t * bins);
    phase.set(f.phase, t * bins);
  });
  return { frames: frames.length, bins, samples: signal.length, logPower, phase };
}

/**
 * Whole-signal synthesis of a spectrogram's log power and phase (both frame-major, frames × bins); returns
 * `length` samples (default `spec.samples`), exactly what a `StreamingIstft` gives for the same frames.
 */
export function istft(
  spec: Pick<Spectrogram, 'frames' | 'bins' | 'logPower' | 'phase'> & { readonly samples?: number },
  config: StftConfig = AVDCNN_STFT,
  length?: number,
): Float32Array {
  const s = new StreamingIstft(config);
  const { frames, bins } = spec;
  if (spec.logPower.length !== frames * bins || spec.phase.length !== frames * bins)
    throw new RangeError(`ISTFT: ${frames} frames × ${bins} bins do not match the arrays`);
  const parts: Float32Array[] = [];
  let total = 0;
  for (let t = 0; t < frames; t++) {
    const o = t * bins;
    const y = s.push(spec.logPower.subarray(o, o + bins), spec.phase.subarray(o, o + bins));
    parts.push(y);
    total += y.length;
  }
  const tail = s.flush();
  parts.push(tail);
  total += tail.length;
  return concat(parts, length ?? spec.samples ?? total);
}

/**
 * Recombines enhanced log power frames with the noisy phase frames into a waveform (frame-major arrays of
 * equal size; the same as `istft`). This is the AVDCNN output stage.
 */
export function recombine(
  enhancedLogPower: Float32Array,
  noisyPhase: Float32Array,
  config: StftConfig,
  length: number,
): Float32Array {
  const bins = resolveStft(config).bins;
  if (enhancedLogPower.length !== noisyPhase.length || enhancedLogPower.length % bins !== 0)
    throw new RangeError(
      `recombine: ${enhancedLogPower.length} log power and ${noisyPhase.length} phase values are not frames of ${bins} bins`,
    );
  return istft(
    { frames: enhancedLogPower.length / bins, bins, logPower: enhancedLogPower, phase: noisyPhase },
    config,
    length,
  );
}
