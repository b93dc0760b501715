import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selectTrainingBackend } from '../../src/models/common/backend.ts';
import { saveOnnxModel } from '../../src/models/common/onnx-export.ts';
import { buildAvdcnn, resolveAvdcnnConfig } from '../../src/models/speech/avdcnn.ts';
import type { AvdcnnConfig } from '../../src/models/speech/avdcnn.ts';
import { speechModelMeta } from '../../src/models/speech/speech-model-meta.ts';
import type { EnhancementMode } from '../../src/models/speech/speech-model-meta.ts';
import { LIVE_STFT_512_128 } from '../../src/streams/features/audio/stft.ts';
import { randomizeWeights } from '../models/helpers.ts';

/**
 * A SMALL causal AVDCNN for the serving tests: the paper's convolutions, fully connected layers of 64 units
 * (fast), the live 512/128 STFT, running normalisation, randomised weights (seeded). Untrained: its output
 * is not cleaner speech, only a deterministic function of the input that the serving paths must reproduce.
 */
export const SMALL_SPEECH_CONFIG: Partial<AvdcnnConfig> = {
  context: 'causal',
  fc1Units: 64,
  fc2Units: 64,
  fcAudioUnits: 64,
  fcVisualUnits: 64,
};

/**
 * Exports the small untrained model with its sidecar into a fresh temp dir; `cleanup` removes it. Mode
 * 'mask' (default) keeps the untrained output no louder than the input in any bin.
 */
export async function exportUntrainedSpeechModel(
  output: EnhancementMode = 'mask',
): Promise<{ path: string; cleanup: () => Promise<void> }> {
  await selectTrainingBackend();
  const dir = await mkdtemp(join(tmpdir(), 'speech-model-'));
  const path = join(dir, 'avdcnn-small.onnx');
  const config = resolveAvdcnnConfig(SMALL_SPEECH_CONFIG);
  const model = buildAvdcnn(config, 3);
  try {
    randomizeWeights(model, 5);
    await saveOnnxModel(model, path, {
      metadata: {
        speech: speechModelMeta(
          config,
          LIVE_STFT_512_128,
          { kind: 'running', timeConstantS: 3, stdFloor: 0.01 },
          { output, training: { note: 'untrained test model' } },
        ),
      },
    });
  } finally {
    model.dispose();
  }
  return { path, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
