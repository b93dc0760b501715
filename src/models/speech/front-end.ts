/**
 * What a speech model needs of the enhancer's front end, and whether several models can share one: the STFT,
 * the model's input shape, the mouth crops' treatment (raw or centred) and the noise-aware input's parameters
 * (not its statistics, which each model normalises with its own). Models whose keys are equal and that are
 * served in one mode run in one `SpeechEnhancer` (`SpeechEnhancer.ensemble`): the analysis, the noise-aware
 * input, the camera path and the synthesis run once for all of them. Pure.
 */
import { resolveStft } from '../../streams/features/audio/stft.ts';
import { stftOf } from './speech-model-meta.ts';
import type { EnhancementMode, SpeechModelMeta } from './speech-model-meta.ts';

/** The key of the front end a model needs: equal keys, one front end. */
export function frontEndKey(meta: SpeechModelMeta): string {
  return JSON.stringify(frontEnd(meta));
}

function frontEnd(meta: SpeechModelMeta): Record<string, unknown> {
  const na = meta.noiseAware;
  const { bins, contextFrames, context, mouthHeight, mouthWidth } = meta.model;
  return {
    // The resolved scalars (the window follows from its length).
    stft: (({ sampleRateHz, windowLength, hop, fftSize, fft }) => ({
      sampleRateHz,
      windowLength,
      hop,
      fftSize,
      fft,
    }))(resolveStft(stftOf(meta))),
    model: { bins, contextFrames, context, mouthHeight, mouthWidth },
    // Absent for raw crops (their key as before).
    ...(meta.visualInput !== undefined
      ? { visualInput: { kind: meta.visualInput.kind, timeConstantS: meta.visualInput.timeConstantS } }
      : {}),
    noiseAware:
      na === undefined
        ? null
        : {
            windowS: na.windowS,
            subwindows: na.subwindows,
            smoothing: na.smoothing,
            startHoldFrames: na.startHoldFrames ?? 0,
            prior:
              na.prior === undefined
                ? null
                : { alpha: na.prior.alpha, bias: na.prior.bias, minDb: na.prior.minDb },
            // Absent for minimum-statistics models (their key as before).
            ...(na.spp !== undefined
              ? {
                  spp: {
                    smoothing: na.spp.smoothing,
                    priorDb: na.spp.priorDb,
                    initFrames: na.spp.initFrames,
                  },
                }
              : {}),
          },
  };
}

/**
 * Why `other` cannot share `meta`'s front end (the parts that differ, with both values), or undefined when it
 * can.
 */
export function frontEndMismatch(meta: SpeechModelMeta, other: SpeechModelMeta): string | undefined {
  const a = frontEnd(meta);
  const b = frontEnd(other);
  const differ = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter(
    (k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]),
  );
  if (differ.length === 0) return undefined;
  return (
    `they differ in ${differ.join(', ')}: ` +
    differ.map((k) => `${JSON.stringify(b[k])} vs ${JSON.stringify(a[k])}`).join('; ')
  );
}

/** The mode a model is served in: the option given, else its metadata's output, else by its target. */
export function servingMode(meta: SpeechModelMeta, mode: EnhancementMode | undefined): EnhancementMode {
  const m =
    mode ??
    meta.output ??
    (meta.target?.kind === 'log-gain' || meta.target?.kind === 'gain' ? 'mask' : 'spectrum');
  if (m !== 'spectrum' && m !== 'mask')
    throw new RangeError(`enhancer: mode ${JSON.stringify(m)} (spectrum or mask)`);
  return m;
}

/**
 * True when the models can be served by one enhancer (`SpeechEnhancer.ensemble`): the same front end
 * (`frontEndKey`) and the same mode under the option `mode`.
 */
export function sharesFrontEnd(
  metas: readonly SpeechModelMeta[],
  options: { readonly mode?: EnhancementMode } = {},
): boolean {
  const first = metas[0];
  if (first === undefined) return false;
  const key = frontEndKey(first);
  const mode = servingMode(first, options.mode);
  return metas.every((m) => frontEndKey(m) === key && servingMode(m, options.mode) === mode);
}
