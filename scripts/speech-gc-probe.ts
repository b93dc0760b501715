/**
 * The garbage-collection probe of docs/performance.md ("A garbage-collection state that slows the models"):
 * one speech model (default: the served ensemble) loaded once and timed on 10 s of the sample drive's cabin
 * audio (median of 5 passes, RTF), twice, then after one forced full collection, then after another model
 * (the float model) was loaded, run and released and a collection forced.
 *
 *   taskset -c 1 node --expose-gc [V8 flags, e.g. --initial-old-space-size=128] --import tsx \
 *     scripts/speech-gc-probe.ts [MODEL]
 */
import { performance } from 'node:perf_hooks';
import { enhanceSamples } from '../src/models/speech/enhance-samples.ts';
import {
  DEFAULT_SPEECH_MODEL_PATH,
  SPEECH_FLOAT_MODEL_PATH,
  WHOLE_SIGNAL_CHUNK_SAMPLES,
  loadSpeechEnhancerModel,
} from '../src/models/speech/enhancer-onnx.ts';
import { readWavFile } from '../src/streams/readers/wav.ts';

const RATE_HZ = 16_000;
const CLIP = { startS: 30, seconds: 10 };
const PASSES = 5;
const THREADS = { intraOpThreads: 1, interOpThreads: 1 };

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');
const wav = await readWavFile('devices/sample-drive/audio.wav');
const clip = wav.samples.slice(CLIP.startS * RATE_HZ, (CLIP.startS + CLIP.seconds) * RATE_HZ);
const model = await loadSpeechEnhancerModel(process.argv[2] ?? DEFAULT_SPEECH_MODEL_PATH, THREADS);

async function rtf(): Promise<number> {
  const walls: number[] = [];
  for (let i = 0; i < PASSES; i++) {
    const t0 = performance.now();
    await enhanceSamples(model.createEnhancer(), clip, WHOLE_SIGNAL_CHUNK_SAMPLES, []);
    walls.push(performance.now() - t0);
  }
  walls.sort((a, b) => a - b);
  return Math.round(walls[Math.floor(PASSES / 2)]! / CLIP.seconds) / 1000;
}

const result: Record<string, number> = {};
result['warm'] = await rtf();
result['again'] = await rtf();
gc();
result['after a forced collection'] = await rtf();
const other = await loadSpeechEnhancerModel(SPEECH_FLOAT_MODEL_PATH, THREADS);
await enhanceSamples(other.createEnhancer(), clip, WHOLE_SIGNAL_CHUNK_SAMPLES, []);
await other.release();
gc();
result['after another model was released and a collection forced'] = await rtf();
await model.release();
console.log(JSON.stringify({ execArgv: process.execArgv, rtf: result }, null, 2));
