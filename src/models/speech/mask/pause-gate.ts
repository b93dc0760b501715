/**
 * The pause gate of the enhanced output (docs/models/speech-history.md, "Rule for a pause gate on the enhanced
 * output"): causal, no look-ahead, per model and frame.
 *
 * A frame's gain is FG = 10·log₁₀(Σ_k |Ŝ_k|² / Σ_k |X_k|²), the enhanced power over the noisy power summed
 * over the bins. A frame with FG < T (`pauseGateThresholdDb`) extends a run of such frames; any other frame
 * ends the run and is left alone. From the frame at which the run reaches the hold (300 ms), the frame's
 * power is lowered by |G| dB (`pauseGateDb`, ≤ 0) in every bin, ramped in linearly over the first
 * `PAUSE_GATE_RAMP_FRAMES` frames (40 ms at an 8 ms hop): the gate closes over them and opens at once, on the first frame whose
 * gain is at or above T. The run restarts with each segment (a new gate) and after a failed model run
 * (`reset`).
 */

import { shown } from '../../common/json.ts';
import { dbToLogPower } from './db.ts';

/** How long the frame gain must stay below the threshold before the gate closes, ms. */
export const PAUSE_GATE_HOLD_MS = 300;
/** Frames over which the gate's depth ramps in once the hold is reached. */
export const PAUSE_GATE_RAMP_FRAMES = 5;
/** The deepest gate and the lowest threshold, dB. */
export const PAUSE_GATE_MIN_DB = -40;

export type PauseGateKey = 'pauseGateDb' | 'pauseGateThresholdDb';

/** Why a pause-gate setting is refused (undefined when it is valid): a number of dB in [−40, 0]. */
export function pauseGateError(key: PauseGateKey, v: unknown): string | undefined {
  return typeof v === 'number' && v >= PAUSE_GATE_MIN_DB && v <= 0
    ? undefined
    : `${key} ${shown(v)} must be a number of dB in [${PAUSE_GATE_MIN_DB}, 0]`;
}

/** The hold in frames of `hopS` seconds: ⌈300 ms / hop⌉. */
export function pauseGateHoldFrames(hopS: number): number {
  return Math.ceil(PAUSE_GATE_HOLD_MS / 1000 / hopS - 1e-9);
}

/** FG in dB of an enhanced frame `y` against the noisy `x`, both ln power per bin. */
export function frameGainDb(x: ArrayLike<number>, y: ArrayLike<number>): number {
  // Summed in the ln domain relative to the loudest bin, so that large ln powers cannot overflow.
  let top = -Infinity;
  for (let k = 0; k < x.length; k++) top = Math.max(top, x[k]!, y[k]!);
  if (!Number.isFinite(top)) return 0;
  let px = 0;
  let py = 0;
  for (let k = 0; k < x.length; k++) {
    px += Math.exp(x[k]! - top);
    py += Math.exp(y[k]! - top);
  }
  return px > 0 && py > 0 ? 10 * Math.log10(py / px) : py > 0 ? 0 : -Infinity;
}

/** The run state of one model's gate in one segment. */
export class PauseGate {
  private run = 0;

  constructor(
    /** Frames below the threshold before the gate closes (`pauseGateHoldFrames`). */
    readonly holdFrames: number,
    /** T, dB. */
    readonly thresholdDb: number,
    /** G, dB ≤ 0 (0: the gate never lowers anything). */
    readonly depthDb: number,
  ) {
    if (!(Number.isInteger(holdFrames) && holdFrames >= 1))
      throw new RangeError(`pause gate: hold of ${holdFrames} frames (an integer ≥ 1)`);
    for (const [key, v] of [
      ['pauseGateThresholdDb', thresholdDb],
      ['pauseGateDb', depthDb],
    ] as const) {
      const why = pauseGateError(key, v);
      if (why !== undefined) throw new RangeError(`pause gate: ${why}`);
    }
  }

  /** The next frame's gain FG (dB) in, the dB to add to every bin of that frame out (≤ 0). */
  next(gainDb: number): number {
    if (!(gainDb < this.thresholdDb)) {
      this.run = 0;
      return 0;
    }
    this.run++;
    const into = this.run - this.holdFrames + 1;
    if (into <= 0) return 0;
    return this.depthDb * Math.min(1, into / PAUSE_GATE_RAMP_FRAMES);
  }

  /**
   * A model's enhanced frame `y` (ln power per bin) against the noisy `x`, through the gate: lowered in every
   * bin while it is closed (a new array), else `y` itself.
   */
  apply(x: Float32Array, y: Float32Array): Float32Array {
    const db = this.next(frameGainDb(x, y));
    if (db === 0) return y;
    const offset = dbToLogPower(db);
    return y.map((v) => v + offset);
  }

  /** Ends the run (a failed model run: the frame passed through unchanged). */
  reset(): void {
    this.run = 0;
  }
}
