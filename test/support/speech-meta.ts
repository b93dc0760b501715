import { resolveAvdcnnConfig } from '../../src/models/speech/avdcnn.ts';
import { speechModelMeta } from '../../src/models/speech/speech-model-meta.ts';
import type { SpeechModelMeta, SpeechNormalization } from '../../src/models/speech/speech-model-meta.ts';
import { LIVE_STFT_512_128 } from '../../src/streams/features/audio/stft.ts';

/**
 * The metadata of a causal model at the live 512/128 STFT whose output is the amplitude gain (floor −25 dB),
 * plus `extra`: what the enhancer tests give their stub runners.
 */
export function gainModelMeta(
  extra: Partial<SpeechModelMeta> = {},
  normalization: SpeechNormalization = { kind: 'none' },
): SpeechModelMeta {
  return speechModelMeta(resolveAvdcnnConfig({ context: 'causal' }), LIVE_STFT_512_128, normalization, {
    target: { kind: 'gain', gainFloorDb: -25 },
    ...extra,
  });
}
