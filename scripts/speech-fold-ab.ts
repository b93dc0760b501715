/**
 * A/B timing of the camera-absent graph (src/models/speech/enhancer-onnx.ts): the served speech model through
 * the live path, with every model run on the full graph ("full") and with runs without camera input on the
 * folded graph ("folded"), in alternating child processes so that neither variant gets a process state of
 * its own (docs/performance.md on this machine's spread between processes).
 *
 *   taskset -c 0 node --import tsx scripts/speech-fold-ab.ts [--rounds 6] [--passes 3] [--model FILE] [--av]
 *
 * `--av`: with the bench's mouth crops (constant mid-gray 16×24 at 25 fps, as `npm run bench` times the
 * audio-visual mode), where a member served without the camera (run 46) still takes the folded graph;
 * default audio-only.
 *
 * Each child loads the model, runs one warm-up pass and `--passes` timed passes over the bench's clip (10 s
 * of the sample drive's cabin audio from 30 s, bench/models/speech.ts `loadBenchClip`; 20 ms chunks, a fresh
 * enhancer per pass) and prints its RTFs; the parent prints every pass, then the median, mean and slowest
 * pass per variant. Pin it to one core (taskset), alone.
 */
import { execFile } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { loadBenchClip } from '../bench/models/speech.ts';
import { median } from '../bench/stats.ts';
import { enhanceSamples } from '../src/models/speech/enhance-samples.ts';
import {
  DEFAULT_SPEECH_MODEL_PATH,
  WHOLE_SIGNAL_CHUNK_SAMPLES,
  loadSpeechEnhancerModel,
} from '../src/models/speech/enhancer-onnx.ts';

async function child(model: string, fold: boolean, passes: number, av: boolean): Promise<number[]> {
  const b = await loadBenchClip();
  if (b === null) throw new Error('no sample drive audio (devices/sample-drive/audio.wav)');
  const mouth = av ? b.mouth : [];
  const m = await loadSpeechEnhancerModel(
    model,
    { intraOpThreads: 1, interOpThreads: 1 },
    { foldAbsentCamera: fold },
  );
  try {
    const rtfs: number[] = [];
    for (let i = 0; i <= passes; i++) {
      const t = performance.now();
      await enhanceSamples(m.createEnhancer(), b.clip, WHOLE_SIGNAL_CHUNK_SAMPLES, mouth);
      if (i > 0) rtfs.push((performance.now() - t) / 1000 / b.durationS);
    }
    return rtfs;
  } finally {
    await m.release();
  }
}

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '6' },
    passes: { type: 'string', default: '3' },
    model: { type: 'string', default: DEFAULT_SPEECH_MODEL_PATH },
    child: { type: 'string' },
    av: { type: 'boolean', default: false },
  },
});
const passes = Number(values.passes);
if (values.child !== undefined) {
  console.log(JSON.stringify(await child(values.model, values.child === 'folded', passes, values.av)));
} else {
  const rounds = Number(values.rounds);
  if (!(Number.isInteger(rounds) && rounds > 0 && Number.isInteger(passes) && passes > 0))
    throw new Error('--rounds and --passes must be positive integers');
  const all: Record<'full' | 'folded', number[]> = { full: [], folded: [] };
  for (let r = 0; r < rounds; r++)
    for (const variant of ['full', 'folded'] as const) {
      const { stdout } = await promisify(execFile)(process.execPath, [
        ...process.execArgv,
        fileURLToPath(import.meta.url),
        '--child',
        variant,
        '--passes',
        String(passes),
        '--model',
        values.model,
        ...(values.av ? ['--av'] : []),
      ]);
      const rtfs = JSON.parse(stdout.trim().split('\n').pop()!) as number[];
      all[variant].push(...rtfs);
      console.log(`round ${r + 1} ${variant.padEnd(6)} ${rtfs.map((v) => v.toFixed(4)).join(' ')}`);
    }
  for (const [variant, v] of Object.entries(all)) {
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    console.log(
      `${variant.padEnd(6)} median ${median(v).toFixed(4)}, mean ${mean.toFixed(4)}, slowest ` +
        `${Math.max(...v).toFixed(4)} (${v.length} passes)`,
    );
  }
}
