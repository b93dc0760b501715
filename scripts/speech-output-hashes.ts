/**
 * Hashes of the speech enhancer's output, to show that a change of structure leaves it bit for bit as it was:
 *
 *   node --import tsx scripts/speech-output-hashes.ts [MODEL …] > before.txt
 *   (change the code)
 *   node --import tsx scripts/speech-output-hashes.ts [MODEL …] > after.txt && diff before.txt after.txt
 *
 * For each model (default: the served int8 pair, run 46 alone, the general int8 ensemble), each of seven
 * setting sets (none given, floor and strengths, smoothing, expansion, pause gate, all of them, spectrum
 * mode) and the camera off and on (random mouth crops at 25 fps with a 1.6 s dropout), 12 s of the sample
 * drive go through the streaming enhancer in 20 ms chunks; one line gives the sha256 of the enhanced samples
 * (16 hex digits), the audio frames that had a crop and the non-finite predictions. Nothing is timed.
 */
import { createHash } from 'node:crypto';
import { SeededRandom } from '../src/models/common/rng.ts';
import type { MouthFrame } from '../src/models/speech/camera-input.ts';
import { enhanceSamples } from '../src/models/speech/enhance-samples.ts';
import { loadSpeechEnhancerModel } from '../src/models/speech/enhancer-onnx.ts';
import type { SpeechEnhancerOptions } from '../src/models/speech/enhancer.ts';
import { readWavFile } from '../src/streams/readers/wav.ts';

const DEFAULT_MODELS = [
  'src/models/speech/model/avdcnn-causal-car-pair.int8.ensemble.json',
  'src/models/speech/model/avdcnn-causal-car-spp.onnx',
  'src/models/speech/model/avdcnn-causal.int8.ensemble.json',
];

const SETTING_SETS: readonly (readonly [string, SpeechEnhancerOptions])[] = [
  ['default', {}],
  ['floor-strength', { maskFloorDb: -12, maskStrength: 0.8, maskStrengthVisual: 1.6 }],
  ['smoothing', { maskSmoothingBins: 5, maskSmoothingTime: 0.4 }],
  ['expansion', { maskExpansionKneeDb: -3, maskExpansionRatio: 2.5, maskFloorDb: -30 }],
  ['gate', { pauseGateDb: -25, pauseGateThresholdDb: -8 }],
  [
    'all',
    {
      maskFloorDb: -20,
      maskStrength: 0.9,
      maskStrengthVisual: 1.2,
      maskSmoothingBins: 3,
      maskSmoothingTime: 0.3,
      maskExpansionKneeDb: -6,
      maskExpansionRatio: 2,
      pauseGateDb: -10,
      pauseGateThresholdDb: -12,
    },
  ],
  ['spectrum', { mode: 'spectrum' }],
];

/** Random 16×24 crops at 25 fps over `seconds`, none from 4.0 to 5.6 s (a camera that stops and restarts). */
function hashCameraFrames(seconds: number): MouthFrame[] {
  const rng = new SeededRandom(7);
  const frames: MouthFrame[] = [];
  for (let i = 0; i < seconds * 25; i++)
    if (i < 100 || i >= 140) frames.push({ tUs: Math.round((i / 25) * 1e6), data: rng.floats(16 * 24) });
  return frames;
}

async function main(): Promise<void> {
  const models = process.argv.slice(2);
  const wav = await readWavFile('devices/sample-drive/audio.wav');
  const audio = wav.samples.subarray(0, 16_000 * 12);
  const frames = hashCameraFrames(12);
  for (const file of models.length > 0 ? models : DEFAULT_MODELS) {
    const model = await loadSpeechEnhancerModel(file);
    try {
      for (const [name, options] of SETTING_SETS)
        for (const camera of [false, true]) {
          const e = model.createEnhancer(options);
          const out = await enhanceSamples(e, audio, 320, camera ? frames : []);
          const hash = createHash('sha256').update(new Uint8Array(out.buffer)).digest('hex').slice(0, 16);
          const s = e.stats();
          console.log(
            `${file.split('/').pop()} ${name} ${camera ? 'av' : 'a'} ${hash} ` +
              `${s.camera.audioFramesWithVisual} ${s.modelNonFinite}`,
          );
        }
    } finally {
      await model.release();
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
