/**
 * The model's prediction decoded to the clean ln power ŷ per bin, by the model's training target
 * (speech-model-meta.ts `SpeechTarget`), from the noisy ln power x:
 * - 'raw': the prediction is ŷ; 'global': ŷ = pred·std + mean (the target's fixed statistics);
 * - 'log-gain': ŷ = x + clamp(pred·scale, 2·ln G_min, 0), the noisy power times a gain ≤ 1;
 * - 'gain': the amplitude gain, ŷ = x + 2·ln clamp(pred, G_min, 1) (a gain ≤ 0 takes the floor).
 * A value that is not finite (a broken model) is replaced by x and counted. Pure.
 */
import { logGainFloor } from './speech-model-meta.ts';
import type { SpeechTarget } from './speech-model-meta.ts';

/** ln power of a gain target's training floor (2·ln G_min); −Infinity for a target without one. */
export function trainingFloorLog(target: SpeechTarget): number {
  return target.kind === 'log-gain' || target.kind === 'gain' ? logGainFloor(target.gainFloorDb) : -Infinity;
}

/**
 * Decodes `predicted` (one frame, per bin) into `out`; returns how many values were not finite. `floor` is
 * the target's `trainingFloorLog` (computed once per model).
 */
export function decodePrediction(
  target: SpeechTarget,
  floor: number,
  x: Float32Array,
  predicted: Float32Array,
  out: Float64Array,
): number {
  let bad = 0;
  for (let k = 0; k < x.length; k++) {
    let y = predicted[k]!;
    if (target.kind === 'global') y = y * target.std[k]! + target.mean[k]!;
    else if (target.kind === 'log-gain')
      y = x[k]! + Math.min(0, Math.max(floor, y * target.scale)); // NaN stays NaN
    // A gain ≤ 0 takes the floor (ln 0 = −∞); NaN stays NaN.
    else if (target.kind === 'gain') y = x[k]! + Math.min(0, Math.max(floor, 2 * Math.log(Math.max(0, y))));
    if (!Number.isFinite(y)) {
      bad++;
      y = x[k]!;
    }
    out[k] = y;
  }
  return bad;
}
