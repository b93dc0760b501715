/**
 * The stress model's inputs, built the same way in training, evaluation and the live pipeline (pure).
 *
 * Signals arrive as time-stamped samples (`push…`, seconds on any fixed origin: the pipeline uses
 * µs-since-epoch / 1e6, training and evaluation replay records the same way). Every signal is reduced to
 * bins of 1 / binHz s (the mean of the samples falling in a bin), kept in a ring that holds the model's whole
 * look-back, so memory is fixed whatever the drive length or the sensors' rates.
 *
 * An estimate at time t (`inputsAt(t)`) looks at `sequenceLength` windows of `windowS`, ending at
 * t − k·strideS (k = sequenceLength − 1 … 0, oldest first). Per window:
 * - physio series [T = windowS·binHz][4]: HR − calibration HR (/10 bpm; gaps interpolated), hand and foot
 *   EDA as ratio to their calibration level − 1, respiration minus the window mean over the calibration
 *   amplitude;
 * - physio statistics [13] (the baseline's features, `FEATURE_NAMES`, on the bins): HR mean/sd/slope, EDA
 *   mean/sd/slope/SCR rate per site, respiration rate and amplitude, each relative to the calibration;
 * - vehicle series [T][6]: speed, longitudinal acceleration, steering angle, steering rate, throttle,
 *   brake, in fixed scales;
 * - context [contextSteps][17]: the latest weather/daylight/time-of-day vector at each step (scaled), 0
 *   where unknown;
 * - flags [5]: which of hr, eda, resp, vehicle, context the window uses (1) — a source that is absent, or
 *   masked by the checks below, is all zeros with flag 0 (the model is trained that way).
 *
 * Calibration (causal): the first `calibrationS` after the first physiological sample (evaluation starts
 * replay at the drive's initial rest). Its baseline is the mean of the raw statistics of windows lying wholly
 * inside it, on a `strideS` grid, plus the mean EDA levels; nothing later enters it. No estimate exists
 * before it ends (`inputsAt` returns `calibrating`). No elapsed-time or position input exists.
 *
 * Checks before use (after M3ER: a source that is flat, saturated, implausible or inconsistent is masked
 * and reported), on each window, with the newest `checkS` (10 s) deciding for the newest window so that a
 * failing sensor is flagged within 10 s:
 * - hr: ECG quality faults reported by the source (flat, saturated, noisy; a device HR channel reading
 *   "no beat" for ≥ 2 s is reported as flat) in the last `checkS`, fewer than a quarter of the bins covered
 *   or none in the last `checkS` (noisy), successive bins jumping by > 15 bpm on average over the last
 *   `checkS` (noisy: heart rate moves slowly), a mean outside 35–200 bpm (implausible), an unchanging value
 *   (flat);
 * - eda: unchanging (flat), stuck at its window maximum (saturated), level ≤ 0 or outside 0.1–10× the
 *   calibration level (implausible);
 * - resp: amplitude < 2 % of the calibration amplitude (flat), rate > 60 /min (noisy);
 * - vehicle: moving > 2 m/s in park for most of the window (inconsistent);
 * A window's source is also masked when faults cover more than 10 % of it.
 */
import { CONTEXT_FEATURES } from '../../streams/features/weather.ts';
import { FEATURE_NAMES, hysteresisCrossings, scrPeaks, slope } from './windows.ts';

export const STRESS_SOURCES = ['hr', 'eda', 'resp', 'vehicle', 'context'] as const;
export type StressSource = (typeof STRESS_SOURCES)[number];
export const FAULT_REASONS = ['flat', 'saturated', 'implausible', 'inconsistent', 'noisy'] as const;
export type FaultReason = (typeof FAULT_REASONS)[number];
export type SourceUse = 'used' | 'absent' | 'masked';

export const PHYSIO_CHANNELS = ['hr', 'hand_eda', 'foot_eda', 'resp'] as const;
export const VEHICLE_CHANNELS = [
  'speed',
  'accel',
  'steering_angle',
  'steering_rate',
  'throttle',
  'brake',
] as const;
export type VehicleSignal = 'speed' | 'steering_angle' | 'steering_rate' | 'throttle' | 'brake' | 'gear';
export const STAT_NAMES = FEATURE_NAMES;
export const N_STATS = STAT_NAMES.length;
export const N_CONTEXT = CONTEXT_FEATURES.length;

export interface StressWindowConfig {
  readonly windowS: number;
  readonly strideS: number;
  readonly sequenceLength: number;
  readonly binHz: number;
  readonly calibrationS: number;
  readonly contextSteps: number;
  readonly checkS: number;
}

export const DEFAULT_STRESS_WINDOWS: StressWindowConfig = {
  windowS: 60,
  strideS: 10,
  sequenceLength: 6,
  binHz: 2,
  calibrationS: 300,
  contextSteps: 6,
  checkS: 10,
};

/**
 * The largest window set-up (bounded memory): the bin rate, bins per window, windows per sequence, context
 * steps, and the bins each of the builder's rings holds (its look-back: the sequence's span plus 60 s).
 */
export const STRESS_WINDOW_LIMITS = {
  binHz: 100,
  binsPerWindow: 100_000,
  sequenceLength: 1000,
  contextSteps: 1000,
  ringBins: 1_000_000,
} as const;

/** Bins each ring of the input builder holds: ((sequenceLength − 1)·strideS + windowS + 60 s)·binHz. */
export function ringBins(c: StressWindowConfig): number {
  return Math.ceil(((c.sequenceLength - 1) * c.strideS + c.windowS + 60) * c.binHz);
}

export function validateWindowConfig(c: StressWindowConfig): void {
  const int = (v: number) => Number.isInteger(v) && v > 0;
  if (!(c.binHz > 0 && c.binHz <= STRESS_WINDOW_LIMITS.binHz))
    throw new RangeError(`binHz ${c.binHz} must be in (0, ${STRESS_WINDOW_LIMITS.binHz}]`);
  if (!int(c.windowS * c.binHz) || !int(c.strideS * c.binHz))
    throw new RangeError('windowS and strideS must be whole numbers of bins (1 / binHz)');
  if (!int(c.sequenceLength) || !int(c.contextSteps))
    throw new RangeError('sequenceLength, contextSteps ≥ 1');
  const L = STRESS_WINDOW_LIMITS;
  if (
    c.windowS * c.binHz > L.binsPerWindow ||
    c.sequenceLength > L.sequenceLength ||
    c.contextSteps > L.contextSteps ||
    ringBins(c) > L.ringBins
  )
    throw new RangeError(
      `at most ${L.binsPerWindow} bins per window, ${L.sequenceLength} windows per sequence, ` +
        `${L.contextSteps} context steps and ${L.ringBins} bins of look-back ` +
        '(((sequenceLength − 1)·strideS + windowS + 60 s)·binHz)',
    );
  if (!(c.calibrationS >= c.windowS)) throw new RangeError('calibrationS must be ≥ windowS');
  if (!(c.checkS > 0 && c.checkS <= c.windowS)) throw new RangeError('checkS must be in (0, windowS]');
}

/** Sizes of one estimate's tensors (batch 1, TF.js/ONNX layouts: [1, S, T, C] and [1, S, F]). */
export function inputShapes(c: StressWindowConfig) {
  const S = c.sequenceLength;
  const T = Math.round(c.windowS * c.binHz);
  return {
    physio: [S, T, PHYSIO_CHANNELS.length],
    stats: [S, N_STATS],
    vehicle: [S, T, VEHICLE_CHANNELS.length],
    context: [S, c.contextSteps, N_CONTEXT],
    flags: [S, STRESS_SOURCES.length],
  } as const;
}

export interface StressInput {
  readonly tS: number;
  readonly physio: Float32Array;
  readonly stats: Float32Array;
  readonly vehicle: Float32Array;
  readonly context: Float32Array;
  readonly flags: Float32Array;
  /** The newest window's sources and faults (what the estimate reports). */
  readonly sources: Readonly<Record<StressSource, SourceUse>>;
  readonly faults: readonly { readonly source: StressSource; readonly reason: FaultReason }[];
  /** Fraction of (window, source) cells of the sequence in use, weighted by SOURCE_WEIGHTS. */
  readonly coverage: number;
}

/** Weights of the sources in `coverage` (fixed in advance, not fitted). */
export const SOURCE_WEIGHTS: Readonly<Record<StressSource, number>> = {
  hr: 0.4,
  eda: 0.3,
  resp: 0.1,
  vehicle: 0.15,
  context: 0.05,
};

// ---------------------------------------------------------------------------------------------------------
// Binned ring
// ---------------------------------------------------------------------------------------------------------

/** Bin means over a fixed ring of bins; bins older than the ring are gone (and late samples counted). */
export class BinRing {
  private readonly sum: Float64Array;
  private readonly count: Uint32Array;
  private readonly index: Float64Array;
  private newest = -Infinity;
  late = 0;

  constructor(readonly capacity: number) {
    this.sum = new Float64Array(capacity);
    this.count = new Uint32Array(capacity);
    this.index = new Float64Array(capacity).fill(NaN);
  }

  add(bin: number, value: number): void {
    if (bin <= this.newest - this.capacity) {
      this.late++;
      return;
    }
    const slot = ((bin % this.capacity) + this.capacity) % this.capacity;
    if (this.index[slot] !== bin) {
      this.index[slot] = bin;
      this.sum[slot] = 0;
      this.count[slot] = 0;
    }
    this.sum[slot]! += value;
    this.count[slot]! += 1;
    if (bin > this.newest) this.newest = bin;
  }

  /** Bin means of [fromBin, toBin) into `out` (NaN where empty or no longer held). */
  read(fromBin: number, toBin: number, out: Float64Array): Float64Array {
    for (let b = fromBin; b < toBin; b++) {
      const slot = ((b % this.capacity) + this.capacity) % this.capacity;
      out[b - fromBin] =
        this.index[slot] === b && this.count[slot]! > 0 ? this.sum[slot]! / this.count[slot]! : NaN;
    }
    return out;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Small pure helpers
// ---------------------------------------------------------------------------------------------------------

function finiteStats(x: ArrayLike<number>): {
  n: number;
  mean: number;
  sd: number;
  min: number;
  max: number;
} {
  let n = 0;
  let s = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (Number.isFinite(v)) {
      n++;
      s += v;
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  const mean = n > 0 ? s / n : NaN;
  let q = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (Number.isFinite(v)) q += (v - mean) ** 2;
  }
  return { n, mean, sd: n > 1 ? Math.sqrt(q / (n - 1)) : 0, min, max };
}

/** Linear interpolation over NaN gaps; ends held; all-NaN → all `fill`. */
export function fillGaps(x: Float64Array, fill = 0): Float64Array {
  const out = Float64Array.from(x);
  let prev = -1;
  for (let i = 0; i < out.length; i++) {
    if (!Number.isFinite(out[i]!)) continue;
    if (prev < 0) out.fill(out[i]!, 0, i);
    else if (i - prev > 1) {
      const a = out[prev]!;
      const b = out[i]!;
      for (let k = prev + 1; k < i; k++) out[k] = a + ((b - a) * (k - prev)) / (i - prev);
    }
    prev = i;
  }
  if (prev < 0) out.fill(fill);
  else out.fill(out[prev]!, prev + 1);
  return out;
}

const clamp = (v: number, lo: number, hi: number) => (v < lo ? lo : v > hi ? hi : v);

/** Mean |difference| between successive finite values (bpm per bin for HR): heart rate moves slowly. */
function meanAbsStep(x: ArrayLike<number>): number {
  let prev = NaN;
  let sum = 0;
  let n = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (!Number.isFinite(v)) continue;
    if (Number.isFinite(prev)) {
      sum += Math.abs(v - prev);
      n++;
    }
    prev = v;
  }
  return n > 0 ? sum / n : 0;
}

/** No change beyond float rounding (a sensor stuck at one value). */
const unchanging = (s: { sd: number; mean: number }) => s.sd <= 1e-9 * Math.max(1, Math.abs(s.mean));

/** Context vector scales (CONTEXT_FEATURES order) so that every input is O(1). */
const CONTEXT_SCALE: readonly number[] = [30, 30, 1, 5, 5, 1, 20, 20, 20, 1, 90, 1, 1, 1, 1, 1, 1];

// ---------------------------------------------------------------------------------------------------------
// The builder
// ---------------------------------------------------------------------------------------------------------

interface WindowFeatures {
  readonly physio: Float32Array;
  readonly stats: Float32Array;
  readonly vehicle: Float32Array;
  readonly context: Float32Array;
  readonly flags: Float32Array;
  readonly use: Record<StressSource, SourceUse>;
  readonly faults: { source: StressSource; reason: FaultReason }[];
}

interface Baseline {
  readonly raw: Float64Array;
  readonly handLevel: number;
  readonly footLevel: number;
}

export interface BuilderCounters {
  late: number;
  nonFinite: number;
  estimates: number;
}

/**
 * One vehicle's (or one replayed record's) input builder. Not thread-safe; call `inputsAt` with
 * non-decreasing times after pushing everything up to that time. `disabled` removes sources outright
 * (model variants, the sensor-failure study).
 */
export class StressInputBuilder {
  private readonly T: number;
  private readonly strideBins: number;
  private readonly rings: Record<string, BinRing> = {};
  private readonly faultRings: Record<'hr' | 'eda' | 'resp', BinRing>;
  private calStartS: number | undefined;
  private calEndS = NaN;
  private nextCalEndS = NaN;
  private readonly calSums = new Float64Array(N_STATS);
  private readonly calCounts = new Float64Array(N_STATS);
  private readonly levelSum = { hand: 0, foot: 0 };
  private readonly levelCount = { hand: 0, foot: 0 };
  private baseline: Baseline | undefined;
  private readonly cache = new Map<number, WindowFeatures>();
  private context: { tS: number; values: Float32Array; mask: Uint8Array }[] = [];
  readonly counters: BuilderCounters = { late: 0, nonFinite: 0, estimates: 0 };

  constructor(
    readonly config: StressWindowConfig = DEFAULT_STRESS_WINDOWS,
    private readonly disabled: ReadonlySet<StressSource> = new Set(),
  ) {
    validateWindowConfig(config);
    this.T = Math.round(config.windowS * config.binHz);
    this.strideBins = Math.round(config.strideS * config.binHz);
    const cap = ringBins(config);
    for (const k of ['hr', 'hand', 'foot', 'resp', ...VEHICLE_CHANNELS, 'steer_in', 'gear'])
      this.rings[k] = new BinRing(cap);
    this.faultRings = { hr: new BinRing(cap), eda: new BinRing(cap), resp: new BinRing(cap) };
  }

  /** Starts the calibration at `tS` (default: the first physiological sample). */
  startCalibration(tS: number): void {
    if (this.calStartS !== undefined) return;
    this.calStartS = tS;
    this.calEndS = tS + this.config.calibrationS;
    this.nextCalEndS = tS + this.config.windowS;
  }

  get calibrated(): boolean {
    return this.baseline !== undefined;
  }

  private bin(tS: number): number {
    return Math.floor(tS * this.config.binHz + 1e-9);
  }

  private put(ring: string, tS: number, v: number): boolean {
    if (!Number.isFinite(v) || !Number.isFinite(tS)) {
      this.counters.nonFinite++;
      return false;
    }
    this.rings[ring]!.add(this.bin(tS), v);
    return true;
  }

  pushHr(tS: number, bpm: number): void {
    if (this.put('hr', tS, bpm)) this.startCalibration(tS);
  }

  /** Evenly sampled EDA (site: hand is the primary, steering-wheel-like site; foot optional). */
  pushEda(site: 'hand' | 'foot', t0S: number, rateHz: number, samples: ArrayLike<number>): void {
    this.pushUniform(site, t0S, rateHz, samples, (t, v) => {
      if (this.calStartS !== undefined && t >= this.calStartS && t < this.calEndS) {
        this.levelSum[site] += v;
        this.levelCount[site]++;
      }
    });
  }

  pushResp(t0S: number, rateHz: number, samples: ArrayLike<number>): void {
    this.pushUniform('resp', t0S, rateHz, samples);
  }

  private pushUniform(
    ring: string,
    t0S: number,
    rateHz: number,
    samples: ArrayLike<number>,
    each?: (tS: number, v: number) => void,
  ): void {
    for (let i = 0; i < samples.length; i++) {
      const t = t0S + i / rateHz;
      if (this.put(ring, t, samples[i]!)) {
        this.startCalibration(t);
        each?.(t, samples[i]!);
      }
    }
  }

  /** A sensor-quality fault over [fromS, toS) from the source (e.g. the ECG quality check). */
  pushFault(source: 'hr' | 'eda' | 'resp', reason: FaultReason, fromS: number, toS: number): void {
    const code = FAULT_REASONS.indexOf(reason) + 1;
    // Only the first fault of a bin is kept (bins average what they hold: codes must not mix).
    const ring = this.faultRings[source];
    const one = new Float64Array(1);
    for (let b = this.bin(fromS); b < this.bin(toS); b++)
      if (!(ring.read(b, b + 1, one)[0]! > 0)) ring.add(b, code);
  }

  pushVehicle(signal: VehicleSignal, tS: number, value: number): void {
    if (signal === 'gear') this.put('gear', tS, value);
    else if (signal === 'steering_angle') this.put('steering_angle', tS, value);
    else this.put(signal, tS, value);
  }

  /** A context vector (CONTEXT_FEATURES order with its mask), valid from tS for `maxAgeS`. */
  pushContext(tS: number, values: Float32Array, mask: Uint8Array): void {
    this.context.push({ tS, values, mask });
    this.context.sort((a, b) => a.tS - b.tS);
    if (this.context.length > 64) this.context.shift();
  }

  // -------------------------------------------------------------------------------------------------------

  private readWindow(ring: string, endBin: number): Float64Array {
    return this.rings[ring]!.read(endBin - this.T, endBin, new Float64Array(this.T));
  }

  /** Raw statistics (FEATURE_NAMES order) of the window ending at endBin; NaN where missing. */
  private rawStats(endBin: number, level: { hand: number; foot: number }): Float64Array {
    const out = new Float64Array(N_STATS).fill(NaN);
    const hz = this.config.binHz;
    const t = Float64Array.from({ length: this.T }, (_, i) => i / hz / 60);
    const hr = this.readWindow('hr', endBin);
    const hs = finiteStats(hr);
    if (hs.n >= 10 && hs.n >= 0.5 * this.T * 0.5) {
      const tt: number[] = [];
      const yy: number[] = [];
      hr.forEach((v, i) => {
        if (Number.isFinite(v)) {
          tt.push(t[i]!);
          yy.push(v);
        }
      });
      out[0] = hs.mean;
      out[1] = hs.sd;
      out[2] = slope(tt, yy);
    }
    const eda = (ring: 'foot' | 'hand', at: number, lvl: number) => {
      const x = this.readWindow(ring, endBin);
      const s = finiteStats(x);
      if (s.n < 0.5 * this.T) return;
      const f = fillGaps(x);
      out[at] = s.mean;
      out[at + 1] = s.sd;
      out[at + 2] = slope(t, f);
      const rise = 0.01 * Math.abs(lvl);
      out[at + 3] =
        scrPeaks(f, hz, rise > 0 ? rise : 0.01 * Math.abs(s.mean)).length / (this.config.windowS / 60);
    };
    eda('foot', 3, level.foot);
    eda('hand', 7, level.hand);
    const r = this.readWindow('resp', endBin);
    const rs = finiteStats(r);
    if (rs.n >= 0.5 * this.T) {
      const c = fillGaps(r).map((v) => v - rs.mean);
      out[11] = hysteresisCrossings(c, 0.25 * rs.sd) / (this.config.windowS / 60);
      out[12] = rs.sd;
    }
    return out;
  }

  private level(site: 'hand' | 'foot'): number {
    return this.levelCount[site] > 0 ? this.levelSum[site] / this.levelCount[site] : NaN;
  }

  /** Accumulates calibration windows up to tS; closes the calibration at its end. */
  private advanceCalibration(tS: number): void {
    if (this.calStartS === undefined || this.baseline !== undefined) return;
    while (this.nextCalEndS <= Math.min(tS, this.calEndS) + 1e-9) {
      const raw = this.rawStats(this.bin(this.nextCalEndS), {
        hand: this.level('hand'),
        foot: this.level('foot'),
      });
      raw.forEach((v, k) => {
        if (Number.isFinite(v)) {
          this.calSums[k]! += v;
          this.calCounts[k]! += 1;
        }
      });
      this.nextCalEndS += this.config.strideS;
    }
    if (tS >= this.calEndS) {
      this.baseline = {
        raw: this.calSums.map((s, k) => (this.calCounts[k]! > 0 ? s / this.calCounts[k]! : NaN)),
        handLevel: this.level('hand'),
        footLevel: this.level('foot'),
      };
    }
  }

  private recentFault(
    source: 'hr' | 'eda' | 'resp',
    endBin: number,
  ): { reason: FaultReason; frac: number } | null {
    const x = this.faultRings[source].read(endBin - this.T, endBin, new Float64Array(this.T));
    const checkBins = Math.round(this.config.checkS * this.config.binHz);
    let n = 0;
    let inRecent = false;
    let last = 0;
    for (let i = 0; i < this.T; i++) {
      if (x[i]! > 0) {
        n++;
        last = x[i]!;
        if (i >= this.T - checkBins) inRecent = true;
      }
    }
    const frac = n / this.T;
    if (n === 0 || (!inRecent && frac <= 0.1)) return null;
    return { reason: FAULT_REASONS[Math.max(0, Math.round(last) - 1)] ?? 'noisy', frac };
  }

  private computeWindow(endBin: number): WindowFeatures {
    const T = this.T;
    const S_FLAGS = STRESS_SOURCES.length;
    const physio = new Float32Array(T * PHYSIO_CHANNELS.length);
    const stats = new Float32Array(N_STATS);
    const vehicle = new Float32Array(T * VEHICLE_CHANNELS.length);
    const context = new Float32Array(this.config.contextSteps * N_CONTEXT);
    const flags = new Float32Array(S_FLAGS);
    const use: Record<StressSource, SourceUse> = {
      hr: 'absent',
      eda: 'absent',
      resp: 'absent',
      vehicle: 'absent',
      context: 'absent',
    };
    const faults: { source: StressSource; reason: FaultReason }[] = [];
    const mask = (source: StressSource, reason: FaultReason) => {
      use[source] = 'masked';
      faults.push({ source, reason });
    };
    const base = this.baseline;
    const checkBins = Math.round(this.config.checkS * this.config.binHz);
    if (base !== undefined) {
      const raw = this.rawStats(endBin, { hand: base.handLevel, foot: base.footLevel });
      const norm = normaliseStats(raw, base);
      // hr
      const hr = this.readWindow('hr', endBin);
      const hs = finiteStats(hr);
      const recentHr = finiteStats(hr.subarray(T - checkBins));
      const hrFault = this.recentFault('hr', endBin);
      if ((hs.n > 0 || hrFault) && !this.disabled.has('hr')) {
        if (hrFault) mask('hr', hrFault.reason);
        else if (hs.n < 0.5 * T * 0.5 || recentHr.n === 0) mask('hr', 'noisy');
        else if (meanAbsStep(hr.subarray(T - checkBins)) > 15) mask('hr', 'noisy');
        else if (hs.mean < 35 || hs.mean > 200) mask('hr', 'implausible');
        else if (unchanging(hs) && unchanging(recentHr)) mask('hr', 'flat');
        else if (![0, 1, 2].every((k) => Number.isFinite(norm[k]!))) use.hr = 'absent';
        else use.hr = 'used';
      }
      if (use.hr === 'used') {
        const f = fillGaps(hr);
        for (let i = 0; i < T; i++) physio[i * 4] = clamp((f[i]! - base.raw[0]!) / 10, -6, 6);
        for (const k of [0, 1, 2]) stats[k] = clamp(norm[k]!, -100, 100);
      }
      // eda (hand primary; foot joins when present)
      const hand = this.readWindow('hand', endBin);
      const foot = this.readWindow('foot', endBin);
      const es = finiteStats(hand);
      if (es.n > 0 && !this.disabled.has('eda')) {
        const recent = finiteStats(hand.subarray(T - checkBins));
        const edaFault = this.recentFault('eda', endBin);
        const ratio = es.mean / base.handLevel;
        if (!Number.isFinite(base.handLevel)) use.eda = 'absent';
        else if (edaFault) mask('eda', edaFault.reason);
        else if (es.n < 0.5 * T) mask('eda', 'noisy');
        else if (!(es.mean > 0) || !(ratio >= 0.1 && ratio <= 10)) mask('eda', 'implausible');
        else if (unchanging(es)) mask('eda', 'flat');
        else if (recent.n > 2 && unchanging(recent) && recent.max >= es.max) mask('eda', 'saturated');
        else if (unchanging(recent)) mask('eda', 'flat');
        else if (![7, 8, 9, 10].every((k) => Number.isFinite(norm[k]!))) use.eda = 'absent';
        else use.eda = 'used';
      }
      if (use.eda === 'used') {
        const h = fillGaps(hand);
        for (let i = 0; i < T; i++) physio[i * 4 + 1] = clamp(h[i]! / base.handLevel - 1, -1, 4);
        for (const k of [7, 8, 9, 10]) stats[k] = clamp(norm[k]!, -100, 100);
        const fs = finiteStats(foot);
        if (fs.n >= 0.5 * T && fs.sd > 0 && [3, 4, 5, 6].every((k) => Number.isFinite(norm[k]!))) {
          const g = fillGaps(foot);
          for (let i = 0; i < T; i++) physio[i * 4 + 2] = clamp(g[i]! / base.footLevel - 1, -1, 4);
          for (const k of [3, 4, 5, 6]) stats[k] = clamp(norm[k]!, -100, 100);
        } else for (const k of [3, 4, 5, 6]) stats[k] = NaN; // foot EDA missing: prepareStats makes it 0
      }
      // resp
      const resp = this.readWindow('resp', endBin);
      const rs = finiteStats(resp);
      if (rs.n > 0 && !this.disabled.has('resp')) {
        const respFault = this.recentFault('resp', endBin);
        const baseAmp = base.raw[12]!;
        if (!(baseAmp > 0)) use.resp = 'absent';
        else if (respFault) mask('resp', respFault.reason);
        else if (rs.n < 0.5 * T) mask('resp', 'noisy');
        else if (!(rs.sd >= 0.02 * baseAmp)) mask('resp', 'flat');
        else if (raw[11]! > 60) mask('resp', 'noisy');
        else if (![11, 12].every((k) => Number.isFinite(norm[k]!))) use.resp = 'absent';
        else use.resp = 'used';
      }
      if (use.resp === 'used') {
        const r = fillGaps(resp);
        for (let i = 0; i < T; i++) physio[i * 4 + 3] = clamp((r[i]! - rs.mean) / base.raw[12]!, -5, 5);
        for (const k of [11, 12]) stats[k] = clamp(norm[k]!, -100, 100);
      }
    }
    this.vehicleWindow(endBin, vehicle, use, mask);
    this.contextWindow(endBin, context, use);
    STRESS_SOURCES.forEach((s, i) => (flags[i] = use[s] === 'used' ? 1 : 0));
    return { physio, stats, vehicle, context, flags, use, faults };
  }

  private vehicleWindow(
    endBin: number,
    out: Float32Array,
    use: Record<StressSource, SourceUse>,
    mask: (s: StressSource, r: FaultReason) => void,
  ): void {
    const T = this.T;
    const speed = this.readWindow('speed', endBin);
    const ss = finiteStats(speed);
    if (ss.n === 0 || this.disabled.has('vehicle')) return;
    if (ss.n < 0.5 * T) return mask('vehicle', 'noisy');
    const gear = this.readWindow('gear', endBin);
    let parkedMoving = 0;
    for (let i = 0; i < T; i++) if (gear[i] === 32 && speed[i]! > 2) parkedMoving++;
    if (parkedMoving > 0.5 * T) return mask('vehicle', 'inconsistent');
    if (ss.mean < 0 || ss.max > 70) return mask('vehicle', 'implausible');
    use.vehicle = 'used';
    const sp = fillGaps(speed);
    const ang = fillGaps(this.readWindow('steering_angle', endBin));
    const rateRaw = this.readWindow('steering_rate', endBin);
    const rate = finiteStats(rateRaw).n > 0 ? fillGaps(rateRaw) : null;
    const thr = fillGaps(this.readWindow('throttle', endBin));
    const brk = fillGaps(this.readWindow('brake', endBin));
    const hz = this.config.binHz;
    const C = VEHICLE_CHANNELS.length;
    for (let i = 0; i < T; i++) {
      const accel = i > 0 ? (sp[i]! - sp[i - 1]!) * hz : 0;
      const steerRate = rate ? rate[i]! : i > 0 ? (ang[i]! - ang[i - 1]!) * hz : 0;
      out[i * C] = clamp(sp[i]! / 30, 0, 3);
      out[i * C + 1] = clamp(accel / 3, -3, 3);
      out[i * C + 2] = clamp(ang[i]! / 180, -3, 3);
      out[i * C + 3] = clamp(steerRate / 300, -3, 3);
      out[i * C + 4] = clamp(thr[i]! / 100, 0, 1);
      out[i * C + 5] = clamp(brk[i]!, 0, 1);
    }
  }

  private contextWindow(endBin: number, out: Float32Array, use: Record<StressSource, SourceUse>): void {
    if (this.context.length === 0 || this.disabled.has('context')) return;
    const steps = this.config.contextSteps;
    const endS = endBin / this.config.binHz;
    const stepS = this.config.windowS / steps;
    let any = false;
    for (let k = 0; k < steps; k++) {
      const at = endS - (steps - 1 - k) * stepS;
      let c: (typeof this.context)[number] | undefined;
      for (const x of this.context) if (x.tS <= at + 1e-9) c = x;
      if (c === undefined || at - c.tS > 7200) continue;
      any = true;
      for (let j = 0; j < N_CONTEXT; j++)
        if (c.mask[j] === 1) out[k * N_CONTEXT + j] = clamp(c.values[j]! / CONTEXT_SCALE[j]!, -3, 3);
    }
    if (any) use.context = 'used';
  }

  /**
   * The model input for an estimate at tS, or why there is none (`calibrating` until the calibration ends).
   * Windows before the data are present as zeros with all flags 0; windows overlapping the calibration are
   * computed like any other (they are the drive's own past).
   */
  inputsAt(tS: number): StressInput | { readonly calibrating: true } {
    this.advanceCalibration(tS);
    if (this.baseline === undefined) return { calibrating: true };
    const { sequenceLength: S, contextSteps } = this.config;
    const T = this.T;
    const endBin = this.bin(tS);
    for (const k of this.cache.keys())
      if (k <= endBin - S * this.strideBins || k > endBin) this.cache.delete(k);
    const P = PHYSIO_CHANNELS.length;
    const V = VEHICLE_CHANNELS.length;
    const F = STRESS_SOURCES.length;
    const x = {
      physio: new Float32Array(S * T * P),
      stats: new Float32Array(S * N_STATS),
      vehicle: new Float32Array(S * T * V),
      context: new Float32Array(S * contextSteps * N_CONTEXT),
      flags: new Float32Array(S * F),
    };
    let newest: WindowFeatures | undefined;
    let covered = 0;
    for (let k = 0; k < S; k++) {
      const e = endBin - (S - 1 - k) * this.strideBins;
      let w = this.cache.get(e);
      if (w === undefined) {
        w = this.computeWindow(e);
        this.cache.set(e, w);
      }
      x.physio.set(w.physio, k * T * P);
      x.stats.set(w.stats, k * N_STATS);
      x.vehicle.set(w.vehicle, k * T * V);
      x.context.set(w.context, k * contextSteps * N_CONTEXT);
      x.flags.set(w.flags, k * F);
      for (const s of STRESS_SOURCES) if (w.use[s] === 'used') covered += SOURCE_WEIGHTS[s];
      newest = w;
    }
    this.counters.estimates++;
    this.counters.late = Object.values(this.rings).reduce((a, r) => a + r.late, 0);
    const w = newest!;
    return { tS, ...x, sources: { ...w.use }, faults: [...w.faults], coverage: covered / S };
  }
}

/** Raw window statistics → relative to the calibration baseline (the baseline model's normalisation). */
export function normaliseStats(raw: Float64Array, base: Baseline): Float64Array {
  const o = new Float64Array(N_STATS);
  const b = base.raw;
  o[0] = raw[0]! - b[0]!;
  o[1] = Math.log(raw[1]! / b[1]!);
  o[2] = raw[2]! - b[2]!;
  const eda = (at: number, level: number) => {
    o[at] = raw[at]! / level - 1;
    o[at + 1] = raw[at + 1]! / level;
    o[at + 2] = raw[at + 2]! / level;
    o[at + 3] = raw[at + 3]! - b[at + 3]!;
  };
  eda(3, base.footLevel);
  eda(7, base.handLevel);
  o[11] = raw[11]! - b[11]!;
  o[12] = Math.log(raw[12]! / b[12]!);
  return o;
}
