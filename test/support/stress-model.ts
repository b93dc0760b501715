import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selectTrainingBackend } from '../../src/models/common/backend.ts';
import type { StressModelMeta } from '../../src/models/stress/estimator.ts';
import { exportStressModel } from '../../src/models/stress/export.ts';
import { DEFAULT_STRESS_WINDOWS, N_STATS } from '../../src/models/stress/inputs.ts';
import type { StressWindowConfig } from '../../src/models/stress/inputs.ts';
import { buildStressModel, STRESS_HYPERPARAMETERS } from '../../src/models/stress/model.ts';

/**
 * The window set-up of the tests' untrained model: the committed model's (DEFAULT_STRESS_WINDOWS) needs
 * 60 s windows and a calibration of at least that, longer than the 60 s sample drive allows; 20 s windows
 * (the smallest whole CNN after three conv/pool stages at 2 bins/s is 17 s) every 5 s × 3 fit in a short
 * test. The sidecar's calibration stays the default 300 s: the tests override it with `calibrationS`.
 */
export const TEST_STRESS_WINDOWS: StressWindowConfig = {
  ...DEFAULT_STRESS_WINDOWS,
  windowS: 20,
  strideS: 5,
  sequenceLength: 3,
};

/** Exports an UNTRAINED stress model (seeded weights) into a fresh temp dir; `cleanup` removes it. */
export async function exportUntrainedStressModel(
  windows: StressWindowConfig = TEST_STRESS_WINDOWS,
): Promise<{ path: string; cleanup: () => Promise<void> }> {
  await selectTrainingBackend();
  const dir = await mkdtemp(join(tmpdir(), 'stress-model-'));
  const path = join(dir, 'stress.onnx');
  const meta: StressModelMeta = {
    format: 'drivesense.stress-model',
    version: 1,
    id: 'untrained-test',
    windows,
    hyper: STRESS_HYPERPARAMETERS,
    normaliser: { mean: Array<number>(N_STATS).fill(0), sd: Array<number>(N_STATS).fill(1) },
    disabled: [],
    training: {},
    scores: {},
  };
  const model = buildStressModel(windows);
  try {
    await exportStressModel(model, meta, path);
  } finally {
    model.dispose();
  }
  return { path, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
