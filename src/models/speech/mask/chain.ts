/**
 * The mask's serving stages, composed: one model's chain in one segment (mask mode only). Per frame, from the
 * noisy ln power x and the model's decoded prediction ŷ (prediction.ts), each bin's ln-power gain
 * d = min(ŷ, x) − x ≤ 0 (the output is never louder than the input in any bin) goes through
 * 1. the strength (strength.ts), bounded by the floor (floor.ts);
 * 2. the low-gain expansion (expansion.ts), bounded likewise;
 * 3. the gain smoothing over frequency and time (smoothing.ts; state: the last frame);
 * 4. the enhanced frame x + g through the pause gate (pause-gate.ts; state: the run of low frame gains).
 * Each stage with its settings at "none" leaves the frame as it was. The strength and the expansion are pure
 * functions; the smoothing (`GainSmoother`) and the gate (`PauseGate`) keep the state of one model in one
 * segment, and the chain owns them: restarted with each segment (a new chain) and after a failed model run
 * (`fail`). The floor is the lower bound the strength and the expansion take.
 */
import { dbToLogPower } from './db.ts';
import { expandGain } from './expansion.ts';
import { PauseGate, pauseGateHoldFrames } from './pause-gate.ts';
import type { SpeechServingSettings } from './settings.ts';
import { GainSmoother } from './smoothing.ts';
import { strengthGain } from './strength.ts';

export interface MaskChainSpec {
  readonly settings: SpeechServingSettings;
  /** ln power of the model's training gain floor (a gain target's); −Infinity for a model without one. */
  readonly trainingFloorLog: number;
  /** The model's hop, s (the pause gate's hold in frames follows from it). */
  readonly hopS: number;
}

export class MaskChain {
  private readonly floorLog: number;
  private readonly kneeLog: number;
  private readonly ratio: number;
  private readonly trainingFloorLog: number;
  private readonly smoother: GainSmoother | undefined;
  private readonly gate: PauseGate | undefined;

  constructor(spec: MaskChainSpec) {
    const s = spec.settings;
    this.floorLog = dbToLogPower(s.maskFloorDb);
    this.kneeLog = dbToLogPower(s.maskExpansionKneeDb);
    this.ratio = s.maskExpansionRatio;
    this.trainingFloorLog = spec.trainingFloorLog;
    const smoother = new GainSmoother(s.maskSmoothingBins, s.maskSmoothingTime);
    this.smoother = smoother.active ? smoother : undefined;
    this.gate =
      s.pauseGateDb < 0
        ? new PauseGate(pauseGateHoldFrames(spec.hopS), s.pauseGateThresholdDb, s.pauseGateDb)
        : undefined;
  }

  /**
   * The ln power to synthesise for a frame: the noisy `x` and the decoded prediction `y` (finite, per bin) at
   * the frame's mask `strength` (strength.ts `frameStrength`).
   */
  apply(x: Float32Array, y: ArrayLike<number>, strength: number): Float32Array {
    const n = x.length;
    // A strength above 1 deepens the gain, never below the model's training floor (none without one).
    const deepest = strength > 1 ? this.trainingFloorLog : -Infinity;
    const gain = this.smoother !== undefined ? new Float64Array(n) : undefined;
    let out: Float32Array = new Float32Array(n);
    for (let k = 0; k < n; k++) {
      const d = Math.min(y[k]!, x[k]!) - x[k]!;
      let g = strengthGain(d, strength, deepest, this.floorLog);
      // The expansion deepens gains likewise: never below the training floor.
      g = expandGain(g, this.kneeLog, this.ratio, this.trainingFloorLog, this.floorLog);
      // With smoothing, the frame is made from the smoothed gains below.
      if (gain !== undefined) gain[k] = g;
      else out[k] = x[k]! + g;
    }
    if (gain !== undefined) {
      const g = this.smoother!.next(gain);
      for (let k = 0; k < n; k++) out[k] = x[k]! + g[k]!;
    }
    if (this.gate !== undefined) out = this.gate.apply(x, out);
    return out;
  }

  /** A failed model run (its frame passes through as the noisy one): the smoothing and the gate restart. */
  fail(): void {
    this.smoother?.reset();
    this.gate?.reset();
  }
}
