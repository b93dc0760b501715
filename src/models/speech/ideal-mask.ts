/**
 * Ideal masks: what a mask enhancer would output if it knew the clean speech. `drivesense eval speech` scores
 * the ideal output of AVDCNN's training target (`ideal-mask`: the truncated magnitude mask |S|/|X| on the
 * live 512/128 STFT with the noisy phase, gains in [−25, 0] dB, the training gain floor of the committed
 * models) as the ceiling of a perfect model of that kind; `scripts/speech-oracle.ts` tries the variants
 * (other masks, floors, ceilings, the clean phase). Pure; not a system that can run in the car (it needs the
 * clean reference).
 */
import { logGainFloor } from './speech-model-meta.ts';
import { LIVE_STFT_512_128, StreamingIstft, StreamingStft } from '../../streams/features/audio/stft.ts';
import type { StftConfig } from '../../streams/features/audio/stft.ts';

/**
 * The truncated magnitude mask |S|/|X| (the model's training target), the ideal ratio mask
 * √(|S|²/(|S|² + |N|²)) and the Wiener gain |S|²/(|S|² + |N|²) (N = X − S).
 */
export const IDEAL_MASKS = ['tmm', 'irm', 'wiener'] as const;
export type IdealMaskKind = (typeof IDEAL_MASKS)[number];

export interface IdealMaskOptions {
  /** Lowest gain, dB (default −25, the committed models' training gain floor). */
  readonly floorDb?: number;
  /** Highest gain, dB (default 0; above 0 restores bins where the noise cancelled the speech). */
  readonly ceilingDb?: number;
  readonly kind?: IdealMaskKind;
  readonly stft?: StftConfig;
  /** The clean phase instead of the noisy one below this frequency, Hz (default 0: none; a diagnostic). */
  readonly cleanPhaseBelowHz?: number;
}

/** The training gain floor of the committed speech models, dB. */
export const IDEAL_MASK_FLOOR_DB = -25;

/**
 * The noisy signal through an ideal mask (`IDEAL_MASKS`): per STFT bin the gain, clamped to
 * [floor, ceiling], applied with the noisy phase; same length and timeline as the input.
 */
export function idealMask(
  clean: Float32Array,
  noisy: Float32Array,
  options: IdealMaskOptions = {},
): Float32Array {
  const {
    floorDb = IDEAL_MASK_FLOOR_DB,
    ceilingDb = 0,
    kind = 'tmm',
    stft = LIVE_STFT_512_128,
    cleanPhaseBelowHz = 0,
  } = options;
  if (clean.length !== noisy.length)
    throw new RangeError(`idealMask: ${clean.length} clean and ${noisy.length} noisy samples`);
  if (!(floorDb <= ceilingDb))
    throw new RangeError(`idealMask: floor ${floorDb} dB above ceiling ${ceilingDb} dB`);
  const frames = (x: Float32Array) => {
    const s = new StreamingStft(stft);
    return [...s.push(x), ...s.flush()];
  };
  const fx = frames(noisy);
  const fs = frames(clean);
  const fn = frames(noisy.map((v, i) => v - clean[i]!));
  const floor = logGainFloor(floorDb);
  const ceiling = logGainFloor(ceilingDb);
  const istft = new StreamingIstft(stft);
  const out = new Float32Array(noisy.length);
  let at = 0;
  const put = (part: Float32Array): void => {
    const n = Math.min(part.length, out.length - at);
    out.set(part.subarray(0, n), at);
    at += n;
  };
  fx.forEach((f, t) => {
    const s = fs[t]!.logPower;
    const n = fn[t]!.logPower;
    const y = f.logPower.map((x, k) => {
      // The ln power gain: TMM ln(|S|²/|X|²); IRM ln r with r = |S|²/(|S|² + |N|²) (amplitude gain √r);
      // Wiener 2·ln r (amplitude gain r).
      const ratio = s[k]! - Math.log(Math.exp(s[k]!) + Math.exp(n[k]!));
      const g = kind === 'tmm' ? s[k]! - x : kind === 'irm' ? ratio : 2 * ratio;
      return x + Math.max(floor, Math.min(ceiling, g));
    });
    // The clean phase below `cleanPhaseBelowHz` (a diagnostic of what the noisy phase costs there).
    const cut = Math.round((cleanPhaseBelowHz * (f.phase.length - 1) * 2) / stft.sampleRateHz);
    const phase = cut > 0 ? f.phase.map((p, k) => (k < cut ? fs[t]!.phase[k]! : p)) : f.phase;
    put(istft.push(y, phase));
  });
  put(istft.flush());
  return out;
}
