/**
 * QRS-detection filters: a linear-phase band-pass (≈ 5–15 Hz at −3 dB), a derivative, squaring and a
 * moving-window integrator, designed from the sampling rate (any rate 125–1000 Hz) and run causally, one
 * sample at a time, so the streaming detector and the whole-record path are the same code.
 *
 * Design (Pan & Tompkins 1985, generalised from 200 Hz to any rate). Every stage is a cascade of moving
 * sums (boxcars), so each has an exactly linear phase and an integer delay, and costs O(1) per sample:
 * - low-pass: two boxcars of L = round(0.025 s · fs) samples (a triangle); delay L − 1 samples.
 * - high-pass: the low-pass output delayed by M − 1 samples minus its triangle smoothing (two boxcars of
 *   M = round(0.1 s · fs)); delay M − 1 samples. Together: −3 dB at ≈ 5.2 and ≈ 15 Hz at every rate in the
 *   range (125 Hz: 5.1–16 Hz); 0.5 Hz baseline wander is attenuated ≈ 40 dB, 50/60 Hz mains ≈ 25–30 dB.
 * - derivative: y(n) = fs/(8h) · (2x(n) + x(n−h) − x(n−3h) − 2x(n−4h)), h = max(1, round(fs / 200)): the
 *   5-point derivative of Pan–Tompkins stretched to the rate; delay 2h samples; output in mV/s.
 * - squaring, then a moving-window integrator (mean over W = 2·round(0.075 s · fs) + 1 samples ≈ 150 ms);
 *   delay (W − 1)/2 samples; output in (mV/s)².
 *
 * Delays. Zero-phase filtering needs the future, so the chain is causal and its output lags: the band-pass
 * output at input sample n describes sample n − `bandPassDelay`, the derivative n − `derivativeDelay`, the
 * integrator n − `integratorDelay` (≈ 0.13 + 0.01 + 0.075 s; 360 Hz: 43, 47 and 74 samples). The detector
 * subtracts these delays (in samples) before it turns indices into times, so beat times carry no filter lag.
 *
 * Start-up: the histories are primed with the segment's first sample repeated into the past (edge padding),
 * so a DC offset gives no start-up transient (the band-pass output of a constant is exactly 0).
 *
 * Numerics: moving sums are float64 running sums, recomputed from their rings every 64 wraps, so rounding
 * drift stays bounded over hours of input.
 */

export interface QrsFilterDesign {
  readonly rateHz: number;
  /** Low-pass boxcar length (samples); two in cascade. */
  readonly lowPassLength: number;
  /** High-pass smoothing boxcar length (samples); two in cascade. */
  readonly highPassLength: number;
  /** Derivative tap spacing h (samples). */
  readonly derivativeStep: number;
  /** Moving-window integrator length W (samples, odd). */
  readonly integratorLength: number;
  /** Band-pass group delay (samples): (L − 1) + (M − 1). */
  readonly bandPassDelay: number;
  /** Band-pass + derivative delay (samples): bandPassDelay + 2h. */
  readonly derivativeDelay: number;
  /** Whole chain's delay (samples): derivativeDelay + (W − 1)/2. */
  readonly integratorDelay: number;
}

/** Supported sampling rates (Hz), inclusive. */
export const QRS_MIN_RATE_HZ = 125;
export const QRS_MAX_RATE_HZ = 1000;

/** Throws a RangeError unless `rateHz` is a finite rate in [125, 1000] Hz. */
export function checkQrsRate(rateHz: number): void {
  if (!Number.isFinite(rateHz) || rateHz < QRS_MIN_RATE_HZ || rateHz > QRS_MAX_RATE_HZ) {
    throw new RangeError(
      `ECG rate ${rateHz} Hz is outside the supported ${QRS_MIN_RATE_HZ}–${QRS_MAX_RATE_HZ} Hz`,
    );
  }
}

/** The filter lengths and delays for a sampling rate (pure). */
export function designQrsFilter(rateHz: number): QrsFilterDesign {
  checkQrsRate(rateHz);
  const lowPassLength = Math.max(2, Math.round(0.025 * rateHz));
  const highPassLength = Math.max(3, Math.round(0.1 * rateHz));
  const derivativeStep = Math.max(1, Math.round(rateHz / 200));
  const integratorLength = 2 * Math.round(0.075 * rateHz) + 1;
  const bandPassDelay = lowPassLength - 1 + (highPassLength - 1);
  const derivativeDelay = bandPassDelay + 2 * derivativeStep;
  return {
    rateHz,
    lowPassLength,
    highPassLength,
    derivativeStep,
    integratorLength,
    bandPassDelay,
    derivativeDelay,
    integratorDelay: derivativeDelay + (integratorLength - 1) / 2,
  };
}

const RESUM_WRAPS = 64;

/** Index `k` places before `pos` in a ring of `len` (0 ≤ k < len). */
function ringBack(pos: number, k: number, len: number): number {
  return pos >= k ? pos - k : pos - k + len;
}

/** Moving mean over the last `length` inputs (float64 running sum with periodic exact re-summation). */
class MovingMean {
  private readonly ring: Float64Array;
  private pos = 0;
  private sum = 0;
  private wraps = 0;

  constructor(readonly length: number) {
    this.ring = new Float64Array(length);
  }

  /** Pretends the past was `value` forever. */
  prime(value: number): void {
    this.ring.fill(value);
    this.sum = value * this.length;
    this.pos = 0;
    this.wraps = 0;
  }

  push(x: number): number {
    const ring = this.ring;
    this.sum += x - ring[this.pos]!;
    ring[this.pos] = x;
    if (++this.pos === this.length) {
      this.pos = 0;
      if (++this.wraps === RESUM_WRAPS) {
        this.wraps = 0;
        let s = 0;
        for (let i = 0; i < ring.length; i++) s += ring[i]!;
        this.sum = s;
      }
    }
    return this.sum / this.length;
  }

  /** The input pushed `length − 1` pushes ago (the oldest kept). */
  oldest(): number {
    return this.ring[this.pos]!;
  }
}

/**
 * The filter chain, one sample per `push`. After `push(x)` for input sample n, `bandPass`, `derivative`
 * and `integrated` hold the outputs for sample n (describing input samples n − delay, see the design).
 * Lifecycle: `prime(x0)` starts a segment (required before the first push); one instance per segment.
 */
export class QrsFilterChain {
  readonly design: QrsFilterDesign;
  bandPass = 0;
  derivative = 0;
  integrated = 0;
  private readonly lp1: MovingMean;
  private readonly lp2: MovingMean;
  /** Low-pass output history: its oldest entry is the low-pass output M − 1 samples ago. */
  private readonly hpDelay: MovingMean;
  private readonly hp2: MovingMean;
  private readonly bpHistory: Float64Array;
  private bpPos = 0;
  private readonly derivativeScale: number;
  private readonly mwi: MovingMean;

  constructor(rateHz: number) {
    const d = designQrsFilter(rateHz);
    this.design = d;
    this.lp1 = new MovingMean(d.lowPassLength);
    this.lp2 = new MovingMean(d.lowPassLength);
    this.hpDelay = new MovingMean(d.highPassLength);
    this.hp2 = new MovingMean(d.highPassLength);
    this.bpHistory = new Float64Array(4 * d.derivativeStep + 1);
    this.derivativeScale = rateHz / (8 * d.derivativeStep);
    this.mwi = new MovingMean(d.integratorLength);
  }

  /** Primes every history as if the input had been `x0` forever (no start-up transient for a DC offset). */
  prime(x0: number): void {
    this.lp1.prime(x0);
    this.lp2.prime(x0);
    this.hpDelay.prime(x0);
    this.hp2.prime(x0);
    this.bpHistory.fill(0);
    this.bpPos = 0;
    this.mwi.prime(0);
    this.bandPass = 0;
    this.derivative = 0;
    this.integrated = 0;
  }

  push(x: number): void {
    const lp = this.lp2.push(this.lp1.push(x));
    // hpDelay holds the last M low-pass outputs; read the oldest (n − (M − 1)) before pushing the new one
    // would give n − M, so push first: then oldest() is n − (M − 1).
    const smooth1 = this.hpDelay.push(lp);
    const delayed = this.hpDelay.oldest();
    const bp = delayed - this.hp2.push(smooth1);
    // bpHistory is a ring of the last 4h + 1 band-pass outputs; `pos` is where bp(n) goes, so bp(n − k)
    // sits at pos − k (mod 4h + 1).
    const h = this.design.derivativeStep;
    const hist = this.bpHistory;
    const len = hist.length;
    const pos = this.bpPos;
    hist[pos] = bp;
    const der =
      this.derivativeScale *
      (2 * bp +
        hist[ringBack(pos, h, len)]! -
        hist[ringBack(pos, 3 * h, len)]! -
        2 * hist[ringBack(pos, 4 * h, len)]!);
    this.bpPos = pos + 1 === len ? 0 : pos + 1;
    this.bandPass = bp;
    this.derivative = der;
    this.integrated = this.mwi.push(der * der);
  }
}

/**
 * Band-passes a whole signal with the QRS band-pass and removes its delay (output[i] describes input[i]);
 * the last `bandPassDelay` samples are computed from edge padding. For tests, quality measures and plots;
 * NaN samples are not allowed (split at gaps first).
 */
export function qrsBandPass(samples: ArrayLike<number>, rateHz: number): Float32Array {
  const chain = new QrsFilterChain(rateHz);
  const n = samples.length;
  const out = new Float32Array(n);
  if (n === 0) return out;
  const delay = chain.design.bandPassDelay;
  chain.prime(samples[0]!);
  const last = samples[n - 1]!;
  for (let i = 0; i < n + delay; i++) {
    chain.push(i < n ? samples[i]! : last);
    const k = i - delay;
    if (k >= 0) out[k] = chain.bandPass;
  }
  return out;
}
