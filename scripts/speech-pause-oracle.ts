/**
 * How much deeper attenuation in long pauses could give, and whether the camera's mouth motion could find
 * them. A diagnostic to choose what to try; it reads the VALIDATION split (oracle) and the TRAINING clips
 * (motion), never the test split.
 *
 *   node --import tsx scripts/speech-pause-oracle.ts [--model FILE] [--data ../shared/data] [--snr 0,5]
 *     [--categories car-interior]
 *
 * 1. Oracle: each validation GRID clip mixed with car noise, enhanced audio-only by the model, then every
 *    40 ms frame inside a run of at least 8 frames more than 30 dB below the CLEAN signal's loudest frame
 *    (the run's first and last frames left alone) lowered by 10 or 20 dB. An upper bound: the pauses are
 *    read from the clean reference, which no enhancer has.
 * 2. Motion: on the training GRID clips, the mean absolute difference of consecutive mouth crops (gray, in
 *    [0, 1]) per video frame; a frame is "still-gated" after `hold` consecutive frames below θ. Printed: the
 *    share of pause frames (more than 30 dB below the clip's loudest) and of speech frames that would be gated.
 */
import { parseArgs } from 'node:util';
import { EVAL_RATE_HZ } from '../src/models/speech/evaluate.ts';
import { loadSplitPools, prepareSpeechData } from '../src/models/speech/dataset.ts';
import { segmentalSnr } from '../src/models/speech/metrics/segsnr.ts';
import { siSdr } from '../src/models/speech/metrics/sisdr.ts';
import { stoi } from '../src/models/speech/metrics/stoi.ts';
import { DIAGNOSTIC_OPTIONS, itemsAt, openDiagnostic } from './speech-diagnostic.ts';

const FRAME = 640; // 40 ms at 16 kHz
const PAUSE_BELOW_DB = 30;
const MIN_RUN = 8;

/** Frame levels (dB) of `x` in frames of `size` samples starting at `starts`. */
function levelsDb(x: Float32Array, starts: readonly number[], size: number): number[] {
  return starts.map((a) => {
    let e = 0;
    const end = Math.min(x.length, a + size);
    for (let j = Math.max(0, a); j < end; j++) e += x[j]! * x[j]!;
    return 10 * Math.log10(e / size + 1e-12);
  });
}

/** 1 on the samples of long pauses of the clean signal (see the header), else 0. */
export function oraclePauses(clean: Float32Array): Uint8Array {
  const n = Math.floor(clean.length / FRAME);
  const db = levelsDb(
    clean,
    Array.from({ length: n }, (_, i) => i * FRAME),
    FRAME,
  );
  const top = Math.max(...db);
  const quiet = db.map((v) => v < top - PAUSE_BELOW_DB);
  const mask = new Uint8Array(clean.length);
  for (let i = 0; i < n;) {
    if (!quiet[i]) {
      i++;
      continue;
    }
    let j = i;
    while (j < n && quiet[j]) j++;
    if (j - i >= MIN_RUN) mask.fill(1, (i + 1) * FRAME, (j - 1) * FRAME);
    i = j;
  }
  return mask;
}

async function oracle(values: {
  model: string;
  data: string;
  snr: string;
  categories: string;
}): Promise<void> {
  const d = await openDiagnostic(values, { video: true });
  console.log('| SNR | clip | pause share | system | STOI | SI-SDR (dB) | segSNR (dB) |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const snr of d.snrs)
    for (const item of itemsAt(d.set, snr, 'grid/')) {
      const ao = await d.avdcnn.enhance(item.noisy);
      const pauses = oraclePauses(item.clean);
      const share = pauses.reduce((s, v) => s + v, 0) / pauses.length;
      const systems: [string, Float32Array][] = [['audio-only', ao]];
      if (item.video !== undefined)
        systems.push(['audio-visual', await d.avdcnn.enhance(item.noisy, item.video)]);
      for (const g of [-10, -20]) {
        const k = 10 ** (g / 20);
        systems.push([`audio-only, pauses ${g} dB`, ao.map((v, i) => (pauses[i] === 1 ? v * k : v))]);
      }
      for (const [name, y] of systems)
        console.log(
          `| ${snr} | ${item.utterance} | ${share.toFixed(2)} | ${name} | ${stoi(item.clean, y, EVAL_RATE_HZ).toFixed(3)} | ` +
            `${siSdr(item.clean, y).toFixed(2)} | ${segmentalSnr(item.clean, y, EVAL_RATE_HZ).toFixed(2)} |`,
        );
    }
  await d.avdcnn.release();
}

async function motion(dataRoot: string): Promise<void> {
  const data = await prepareSpeechData(dataRoot);
  const clips = (await loadSplitPools(data, 'train')).utterances.filter((u) => u.track !== undefined);
  console.log(`\ntraining GRID clips with crops: ${clips.length}`);
  console.log('| θ | hold (frames) | pause frames gated | speech frames gated |');
  console.log('| --- | --- | --- | --- |');
  for (const th of [0.005, 0.006, 0.007, 0.008, 0.01])
    for (const hold of [5, 8]) {
      let pauseN = 0;
      let pauseG = 0;
      let speechN = 0;
      let speechG = 0;
      for (const u of clips) {
        const tr = u.track!;
        const starts = Array.from({ length: tr.count }, (_, i) =>
          Math.round((tr.offsetS + i / tr.fps) * 16000),
        );
        const db = levelsDb(u.samples, starts, Math.round(16000 / tr.fps));
        const top = Math.max(...db);
        let run = 0;
        for (let i = 1; i < tr.count; i++) {
          let m = 0;
          for (let p = 0; p < tr.frameSize; p++)
            m += Math.abs(tr.data[i * tr.frameSize + p]! - tr.data[(i - 1) * tr.frameSize + p]!);
          run = tr.ok[i] === 1 && tr.ok[i - 1] === 1 && m / tr.frameSize < th ? run + 1 : 0;
          const gated = run >= hold;
          if (db[i]! > top - PAUSE_BELOW_DB) {
            speechN++;
            if (gated) speechG++;
          } else {
            pauseN++;
            if (gated) pauseG++;
          }
        }
      }
      console.log(
        `| ${th} | ${hold} | ${((100 * pauseG) / pauseN).toFixed(1)} % | ${((100 * speechG) / speechN).toFixed(1)} % |`,
      );
    }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: DIAGNOSTIC_OPTIONS });
  await oracle(values);
  await motion(values.data);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
