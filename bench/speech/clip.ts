import { fileURLToPath } from 'node:url';
import { readWavFile } from '../../src/streams/readers/wav.ts';

/** The default clip of the peers' standalone runs: a CMU ARCTIC utterance from ../shared (16 kHz). */
export const DEFAULT_PEER_CLIP = fileURLToPath(
  new URL('../../../shared/data/audio/speech/cmu_arctic/cmu_arctic_us_aew_a0001.wav', import.meta.url),
);

/** A 16 kHz mono WAV for a peer's standalone run (`file`, else the default clip); other rates are refused. */
export async function readPeerClip(
  file = DEFAULT_PEER_CLIP,
): Promise<{ file: string; samples: Float32Array }> {
  const w = await readWavFile(file);
  if (w.sampleRateHz !== 16_000) throw new Error(`${file}: ${w.sampleRateHz} Hz, 16 kHz wanted`);
  return { file, samples: w.samples };
}
