/**
 * The camera's margin of two speech models, compared (docs/models/speech-history.md, "Amendment to the rule for runs
 * 36 and 37"): from two `drivesense eval speech --json` outputs on the same mixtures (validation split, with
 * `--video`, systems avdcnn-audio and avdcnn-av), the audio-visual minus audio-only mean on the GRID clips
 * (subset 'av', every category of the evaluation pooled) for each of STOI, ESTOI, SI-SDR, segSNR and OVRL at
 * each SNR; the candidate passes if its margin is larger in more comparisons than it is smaller.
 *
 *   node --import tsx scripts/speech-camera-margin.ts CANDIDATE.json INCUMBENT.json [--snr 0,5]
 *
 * Prints the verdict as JSON; exit 0 either way (a report, not a check), 1 if a row is missing.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { headToHead } from './speech-compare.ts';
import type { Comparison } from './speech-compare.ts';
import { pooledRow } from './speech-serving.ts';
import type { Aggregate } from './speech-serving.ts';

export const CAMERA_METRICS = ['stoi', 'estoi', 'siSdr', 'segSnr', 'ovrl'] as const;

/** Audio-visual minus audio-only of `metric` at `snr` on the GRID clips; throws when a row is missing. */
export function cameraMargin(rows: readonly Aggregate[], snr: number, metric: string): number {
  const value = (system: string): number => {
    const v = pooledRow(rows, system, snr, 'av')?.mean[metric];
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new Error(`camera margin: no ${system} ${metric} on the GRID clips at ${snr} dB`);
    return v;
  };
  return value('avdcnn-av') - value('avdcnn-audio');
}

export function compareCameraMargins(
  candidate: readonly Aggregate[],
  incumbent: readonly Aggregate[],
  snrs: readonly number[],
): { comparisons: Comparison[]; wins: number; losses: number; pass: boolean } {
  const v = headToHead(snrs, CAMERA_METRICS, (snr, metric) => [
    cameraMargin(candidate, snr, metric),
    cameraMargin(incumbent, snr, metric),
  ]);
  return { ...v, pass: v.wins > v.losses };
}

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { snr: { type: 'string', default: '0,5' } },
  });
  if (positionals.length !== 2) {
    console.error('usage: speech-camera-margin.ts CANDIDATE.json INCUMBENT.json [--snr 0,5]');
    process.exit(2);
  }
  const snrs = values.snr.split(',').map(Number);
  if (snrs.some((s) => !Number.isFinite(s))) throw new Error(`--snr ${values.snr}: numbers expected`);
  const load = async (file: string): Promise<Aggregate[]> =>
    (JSON.parse(await readFile(file, 'utf8')) as { aggregates: Aggregate[] }).aggregates;
  const [cand, inc] = await Promise.all(positionals.map(load));
  console.log(JSON.stringify(compareCameraMargins(cand!, inc!, snrs), null, 2));
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
