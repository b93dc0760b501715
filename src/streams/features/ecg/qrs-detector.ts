/**
 * QRS detector over one continuous segment of ECG samples (no gaps, one rate): the Pan–Tompkins family,
 * with the decision rules of Hamilton & Tompkins (1986, "Quantitative investigation of QRS detection rules
 * using the MIT/BIH arrhythmia database", the OSEA detector) and Pan & Tompkins (1985).
 *
 * Pipeline (see filters.ts for the filters and their delays):
 * 1. band-pass → derivative → square → 150 ms moving-window integrator (MWI), causal, O(1) per sample.
 * 2. MWI peaks: a local maximum (reached while rising) is declared once the MWI falls below half of it or
 *    95 ms have passed. Peaks below `minPeak` ((mV/s)²) are ignored, so a flat line gives no candidates.
 * 3. Hold: a peak waits `holdS` (200 ms) in case a larger one follows; the larger one replaces it.
 * 4. Decision, with adaptive levels: threshold = noise + 0.3125 · (qrs − noise), where qrs and noise are the
 *    medians of the last 8 QRS and 8 noise peak heights. A held peak is a QRS when it is above the threshold,
 *    outside the 200 ms refractory period after the last beat, not a baseline shift (its derivative must swing
 *    both ways within the 150 ms integration window, neither side below 1/8 of the other), and not a T wave
 *    (within 360 ms of the last beat with a maximum slope below half that beat's). Anything else is noise.
 * 5. Search-back: when no beat has come for 1.5 × the median of the last 8 RR intervals, the largest noise
 *    peak ≥ 360 ms after the last beat and above half the threshold becomes a beat (repeated as needed).
 * 6. Learning: the first 2 s after the first candidate initialise the QRS level (maximum peak of each 1 s
 *    half); the candidates of those 2 s are then replayed through the rules, so the first beats are kept.
 * 7. Stall: 3 s without a beat (an artefact inflated the QRS level, or the amplitude dropped) re-learns the
 *    QRS level from the largest peak since the last beat.
 * 8. Beat time (fiducial): the band-pass extreme within ±75 ms of the MWI peak's centre (MWI index minus the
 *    chain's delay), of the lead's learned polarity (the larger extreme until learned; the other one when it
 *    is over twice as large, e.g. a ventricular beat of opposite polarity), then the raw-signal extreme of the
 *    same sign within ±20 ms: the R (or QS) peak. All delays are removed: indices are input sample indices.
 *
 * Decisions are made in MWI time (the input sample index at which the MWI value was computed). Latency from
 * an R peak to its emission: the MWI delay (≈ 0.2 s) + the peak's decline (≤ 95 ms) + `holdS` (0.2 s):
 * measured median 0.40–0.42 s, 95th percentile 0.42 s (mitdb 100, drivedb drive06); longer for beats found by
 * search-back (≈ 1.5 RR after the previous beat) and for the first beats of a segment (learning: ≤ ≈ 2.2 s).
 *
 * Lifecycle: one instance per continuous segment; `process` any number of times, then `finish` once (it feeds
 * edge padding through the chain so the last beats are decided, and decides what is pending). Output indices
 * are ascending and unique. The result depends only on the samples, never on how they were split into calls.
 */
import type { QrsFilterDesign } from './filters.ts';
import { QrsFilterChain } from './filters.ts';

/** The detector's parameters: one set for every record and rate (durations in seconds). */
export interface QrsParams {
  readonly learnS: number;
  readonly holdS: number;
  readonly peakTimeoutS: number;
  readonly refractoryS: number;
  readonly tWaveWindowS: number;
  readonly tWaveSlopeRatio: number;
  readonly thresholdFraction: number;
  readonly searchBackRrFactor: number;
  readonly searchBackFraction: number;
  readonly searchBackMinGapS: number;
  readonly stallS: number;
  readonly initialRrS: number;
  /** Baseline-shift test: each derivative swing must be at least this fraction of the other. */
  readonly baselineShiftRatio: number;
  /** Smallest MWI peak considered, (mV/s)²: about a 1.5 mV/s slope held over the integration window. */
  readonly minPeak: number;
  /** Half-width of the band-pass search for the fiducial around the MWI centre. */
  readonly fiducialHalfWindowS: number;
  /** Half-width of the raw-signal refinement around the band-pass extreme. */
  readonly refineHalfWindowS: number;
}

export const QRS_DEFAULTS: QrsParams = {
  learnS: 2,
  holdS: 0.2,
  peakTimeoutS: 0.095,
  refractoryS: 0.2,
  tWaveWindowS: 0.36,
  tWaveSlopeRatio: 0.5,
  thresholdFraction: 0.3125,
  searchBackRrFactor: 1.5,
  searchBackFraction: 0.5,
  searchBackMinGapS: 0.36,
  stallS: 3,
  initialRrS: 1,
  baselineShiftRatio: 0.125,
  minPeak: 2,
  fiducialHalfWindowS: 0.075,
  refineHalfWindowS: 0.02,
};

/** One detected beat within a segment. */
export interface QrsDetection {
  /** Input sample index of the R peak (segment-relative, delays removed). */
  readonly index: number;
  /** Found by search-back (below the main threshold). */
  readonly searchBack: boolean;
  /** MWI peak height, (mV/s)². */
  readonly height: number;
}

/** A declared MWI peak, analysed when declared (while its samples are still in the rings). */
interface Candidate {
  /** MWI index of the peak. */
  readonly p: number;
  readonly height: number;
  /** Input index the MWI peak describes: p − integratorDelay. */
  readonly centre: number;
  /** Max |derivative| over the integration window (mV/s). */
  readonly slope: number;
  readonly baselineShift: boolean;
  /** Band-pass maximum and minimum (mV) in the fiducial window, and the raw-refined indices of each. */
  readonly posAmp: number;
  readonly negAmp: number;
  readonly posIndex: number;
  readonly negIndex: number;
}

const BUF = 8;
/** Noise candidates kept for search-back (a few seconds' worth). */
const MAX_NOISE_CANDIDATES = 64;

/** Median of a small array (copied, sorted). */
function median(values: Float64Array): number {
  const s = Float64Array.from(values).sort();
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** A fixed-size FIFO of the last 8 values whose median is taken. */
class LastEight {
  readonly values = new Float64Array(BUF);
  private pos = 0;
  fill(v: number): void {
    this.values.fill(v);
  }
  push(v: number): void {
    this.values[this.pos] = v;
    this.pos = (this.pos + 1) % BUF;
  }
  median(): number {
    return median(this.values);
  }
}

export class QrsDetector {
  readonly rateHz: number;
  readonly params: QrsParams;
  readonly design: QrsFilterDesign;
  private readonly chain: QrsFilterChain;
  // Rings of the raw input, band-pass output and derivative output, indexed by input sample index n.
  private readonly mask: number;
  private readonly raw: Float64Array;
  private readonly bp: Float64Array;
  private readonly der: Float64Array;
  /** Samples pushed (real + padding). */
  private n = 0;
  /** Real samples pushed (the end-of-segment padding is not real: no fiducial may fall in it). */
  private real = 0;
  private finished = false;
  private lastX = 0;
  // Peak declaration.
  private prevM = 0;
  private curMax = 0;
  private curMaxP = -1;
  // Durations in samples.
  private readonly s: {
    hold: number;
    timeout: number;
    refractory: number;
    tWave: number;
    sbGap: number;
    stall: number;
    learn: number;
    fidHalf: number;
    refHalf: number;
  };
  // Learning.
  private learning = true;
  private learnStart = -1;
  private readonly learnList: { c: Candidate; at: number }[] = [];
  // Decision state.
  private readonly qrsLevels = new LastEight();
  private readonly noiseLevels = new LastEight();
  private readonly rr = new LastEight();
  private pending: Candidate | undefined;
  private pendingDeadline = Infinity;
  private last: { p: number; centre: number; index: number; slope: number } | undefined;
  private sbDeadline = Infinity;
  private stallDeadline = Infinity;
  private readonly noise: Candidate[] = [];
  private polarity = 0;
  private out: QrsDetection[] = [];

  constructor(rateHz: number, params: Partial<QrsParams> = {}) {
    this.chain = new QrsFilterChain(rateHz);
    this.design = this.chain.design;
    this.rateHz = rateHz;
    this.params = { ...QRS_DEFAULTS, ...params };
    const p = this.params;
    const smp = (sec: number): number => Math.round(sec * rateHz);
    this.s = {
      hold: smp(p.holdS),
      timeout: smp(p.peakTimeoutS),
      refractory: smp(p.refractoryS),
      tWave: smp(p.tWaveWindowS),
      sbGap: smp(p.searchBackMinGapS),
      stall: smp(p.stallS),
      learn: smp(p.learnS),
      fidHalf: smp(p.fiducialHalfWindowS),
      refHalf: smp(p.refineHalfWindowS),
    };
    // The rings must reach back from the declaring sample (≤ timeout after the peak) over the chain delay
    // and the fiducial and refinement windows: well under 1 s.
    const need = this.s.timeout + this.design.integratorDelay + this.s.fidHalf + this.s.refHalf + 8;
    let size = 1;
    while (size < Math.max(need, rateHz)) size <<= 1;
    this.mask = size - 1;
    this.raw = new Float64Array(size);
    this.bp = new Float64Array(size);
    this.der = new Float64Array(size);
    this.rr.fill(p.initialRrS * rateHz);
  }

  /** Input samples seen so far (excluding the end-of-segment padding). */
  get samples(): number {
    return this.real;
  }

  /** Detects over `x[from, to)` (finite values only); appends new detections, in order, to `out`. */
  process(x: ArrayLike<number>, from: number, to: number, out: QrsDetection[]): void {
    if (this.finished) throw new Error('QrsDetector: process() after finish()');
    this.out = out;
    for (let i = from; i < to; i++) {
      this.real++;
      this.step(x[i]!);
    }
  }

  /**
   * Ends the segment: pushes the last sample repeated for the chain delay plus the hold and peak time-out,
   * so every real sample has reached the decision rules, then decides whatever is pending.
   */
  finish(out: QrsDetection[]): void {
    if (this.finished) return;
    this.out = out;
    if (this.n > 0) {
      const pad = this.design.integratorDelay + this.s.timeout + this.s.hold + 2;
      for (let i = 0; i < pad; i++) this.step(this.lastX);
      // An MWI maximum still rising at the end is a peak too.
      if (this.curMax > 0) this.declare(this.curMaxP, this.curMax);
      this.curMax = 0;
      if (this.learning) this.endLearning();
      this.advance(this.n);
      if (this.pending !== undefined) {
        const c = this.pending;
        this.pending = undefined;
        this.pendingDeadline = Infinity;
        this.decide(c, this.n);
      }
    }
    this.finished = true;
  }

  private step(x: number): void {
    const n = this.n;
    if (n === 0) this.chain.prime(x);
    const chain = this.chain;
    chain.push(x);
    const k = n & this.mask;
    this.raw[k] = x;
    this.bp[k] = chain.bandPass;
    this.der[k] = chain.derivative;
    this.lastX = x;
    this.n = n + 1;

    // Peak declaration on the MWI (OSEA's Peak()).
    const m = chain.integrated;
    if (m > this.prevM && m > this.curMax) {
      this.curMax = m;
      this.curMaxP = n;
    } else if (this.curMax > 0 && (m < this.curMax / 2 || n - this.curMaxP > this.s.timeout)) {
      this.declare(this.curMaxP, this.curMax);
      this.curMax = 0;
    }
    this.prevM = m;

    if (this.learning) {
      if (this.learnStart >= 0 && n - this.learnStart >= this.s.learn) this.endLearning();
    } else if (n >= this.pendingDeadline || n >= this.sbDeadline || n >= this.stallDeadline) {
      this.advance(n);
    }
  }

  /** A new MWI peak at index p, declared now (at this.n − 1). */
  private declare(p: number, height: number): void {
    if (height < this.params.minPeak) return;
    // A peak centred in the end-of-segment padding describes no real sample.
    if (p - this.design.integratorDelay >= this.real) return;
    const c = this.analyse(p, height);
    const at = this.n - 1;
    if (this.learning) {
      if (this.learnStart < 0) this.learnStart = p;
      this.learnList.push({ c, at });
    } else {
      this.advance(at);
      this.onCandidate(c);
    }
  }

  private analyse(p: number, height: number): Candidate {
    const d = this.design;
    const mask = this.mask;
    const centre = p - d.integratorDelay;
    // Windows are clipped at the segment's first sample (index 0). Derivative over the integration window: input indices [centre − (W−1)/2, centre + (W−1)/2]; the
    // derivative of input index k sits in the ring at k + derivativeDelay.
    const half = (d.integratorLength - 1) / 2;
    let dMax = 0;
    let dMin = 0;
    for (let k = Math.max(0, centre - half); k <= centre + half; k++) {
      const v = this.der[(k + d.derivativeDelay) & mask]!;
      if (v > dMax) dMax = v;
      if (v < dMin) dMin = v;
    }
    const r = this.params.baselineShiftRatio;
    const swingOk = dMax > -dMin * r && -dMin > dMax * r;
    // Band-pass extremes around the centre (band-pass of input k sits at k + bandPassDelay).
    const fh = this.s.fidHalf;
    const hiBp = Math.min(centre + fh, this.n - 1 - d.bandPassDelay);
    let posAmp = -Infinity;
    let negAmp = -Infinity;
    let posAt = Math.max(0, centre);
    let negAt = posAt;
    for (let k = Math.max(0, centre - fh); k <= hiBp; k++) {
      const v = this.bp[(k + d.bandPassDelay) & mask]!;
      if (v > posAmp) {
        posAmp = v;
        posAt = k;
      }
      if (-v > negAmp) {
        negAmp = -v;
        negAt = k;
      }
    }
    return {
      p,
      height,
      centre,
      slope: Math.max(dMax, -dMin),
      baselineShift: !swingOk,
      posAmp: Math.max(0, posAmp),
      negAmp: Math.max(0, negAmp),
      posIndex: this.refine(posAt, 1),
      negIndex: this.refine(negAt, -1),
    };
  }

  /** The raw extreme of sign `sign` within ±refHalf of `at`, kept inside the real samples. */
  private refine(at: number, sign: 1 | -1): number {
    const lo = Math.max(0, at - this.s.refHalf);
    const hi = Math.min(at + this.s.refHalf, this.real - 1);
    let best = Math.min(at, this.real - 1);
    let bestV = -Infinity;
    for (let k = lo; k <= hi; k++) {
      const v = sign * this.raw[k & this.mask]!;
      if (v > bestV) {
        bestV = v;
        best = k;
      }
    }
    return best;
  }

  private endLearning(): void {
    this.learning = false;
    const list = this.learnList;
    const mid = this.learnStart + (this.s.learn >> 1);
    let a = 0;
    let b = 0;
    for (const { c } of list) {
      if (c.p < mid) a = Math.max(a, c.height);
      else b = Math.max(b, c.height);
    }
    if (a === 0) a = b;
    if (b === 0) b = a;
    for (let i = 0; i < BUF; i++) this.qrsLevels.push(i % 2 === 0 ? a : b);
    this.noiseLevels.fill(0);
    this.armTimers(0);
    for (const { c, at } of list) {
      this.advance(at);
      this.onCandidate(c);
    }
    list.length = 0;
    this.advance(this.n - 1);
  }

  private threshold(): number {
    const q = this.qrsLevels.median();
    const nz = this.noiseLevels.median();
    return nz + this.params.thresholdFraction * (q - nz);
  }

  private rrSamples(): number {
    return this.rr.median();
  }

  /** (Re)arms the search-back and stall timers from MWI index `ref` (the last beat's, or 0). */
  private armTimers(ref: number): void {
    this.sbDeadline = ref + Math.round(this.params.searchBackRrFactor * this.rrSamples());
    this.stallDeadline = ref + this.s.stall;
  }

  /** Runs every timed event due at or before MWI index `t`, in time order. */
  private advance(t: number): void {
    for (;;) {
      const e = Math.min(this.pendingDeadline, this.sbDeadline, this.stallDeadline);
      if (e > t) return;
      if (e === this.pendingDeadline) {
        const c = this.pending!;
        this.pending = undefined;
        this.pendingDeadline = Infinity;
        this.decide(c, e);
      } else if (e === this.sbDeadline) {
        this.sbDeadline = Infinity;
        this.searchBack(e);
      } else {
        this.stall(e);
      }
    }
  }

  private onCandidate(c: Candidate): void {
    const pend = this.pending;
    if (pend !== undefined && c.p - pend.p <= this.s.hold) {
      if (c.height > pend.height) {
        this.pending = c;
        this.pendingDeadline = c.p + this.s.hold;
      }
      return;
    }
    this.pending = c;
    this.pendingDeadline = c.p + this.s.hold;
  }

  private decide(c: Candidate, now: number): void {
    const last = this.last;
    const since = last === undefined ? Infinity : c.centre - last.centre;
    if (since < this.s.refractory) return;
    const isT =
      last !== undefined && since < this.s.tWave && c.slope < this.params.tWaveSlopeRatio * last.slope;
    if (c.height >= this.threshold() && !c.baselineShift && !isT) {
      this.accept(c, false);
      return;
    }
    this.noiseLevels.push(c.height);
    if (!isT && !c.baselineShift) {
      this.noise.push(c);
      if (this.noise.length > MAX_NOISE_CANDIDATES) this.noise.shift();
    }
    this.searchBack(now);
  }

  /**
   * Search-back: once `now` is 1.5 median RR past the last beat (MWI time), the largest noise candidate
   * ≥ 360 ms after the last beat and above half the threshold becomes a beat; repeated while it applies.
   */
  private searchBack(now: number): void {
    for (;;) {
      const ref = this.last?.p ?? 0;
      if (now < ref + Math.round(this.params.searchBackRrFactor * this.rrSamples())) return;
      const minCentre = this.last === undefined ? -Infinity : this.last.centre + this.s.sbGap;
      const limit = this.params.searchBackFraction * this.threshold();
      let best: Candidate | undefined;
      for (const c of this.noise) {
        if (c.centre < minCentre || c.height < limit) continue;
        if (best === undefined || c.height > best.height) best = c;
      }
      if (best === undefined) return;
      this.accept(best, true);
    }
  }

  private stall(now: number): void {
    let top = 0;
    for (const c of this.noise) top = Math.max(top, c.height);
    if (top > 0) {
      this.qrsLevels.fill(top);
      this.noiseLevels.fill(0);
    }
    this.stallDeadline = now + this.s.stall;
    this.searchBack(now);
  }

  private accept(c: Candidate, searchBack: boolean): void {
    // Fiducial by polarity.
    let sign: 1 | -1;
    if (this.polarity > 0) sign = c.negAmp > 2 * c.posAmp ? -1 : 1;
    else if (this.polarity < 0) sign = c.posAmp > 2 * c.negAmp ? 1 : -1;
    else sign = c.posAmp >= c.negAmp ? 1 : -1;
    this.polarity = 0.8 * this.polarity + 0.2 * (c.posAmp >= c.negAmp ? 1 : -1);
    let index = sign > 0 ? c.posIndex : c.negIndex;
    const prev = this.last;
    if (prev !== undefined && index <= prev.index) index = prev.index + 1;
    if (prev !== undefined) this.rr.push(c.p - prev.p);
    this.qrsLevels.push(c.height);
    this.last = { p: c.p, centre: c.centre, index, slope: c.slope };
    // Noise candidates at or before this beat can no longer be searched back.
    let keep = 0;
    for (const nc of this.noise) if (nc.p > c.p) this.noise[keep++] = nc;
    this.noise.length = keep;
    this.armTimers(c.p);
    this.out.push({ index, searchBack, height: c.height });
  }
}
