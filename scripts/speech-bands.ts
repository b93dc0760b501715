/**
 * Where intelligibility is lost, band by band: STOI's intermediate correlation and the level against the
 * clean speech in each of its 15 one-third-octave bands (`stoiBands`), for the noisy input, RNNoise,
 * DeepFilterNet3 (when its files are there) and AVDCNN as served, on the VALIDATION split (never the test
 * split: this is a diagnostic to choose what to try, and what it shows must not be tuned on test).
 *
 *   node --import tsx scripts/speech-bands.ts [--model FILE] [--data ../shared/data] [--snr 0,5]
 *     [--categories car-interior] [--video] [--utterances PREFIX,…] [--json]
 *
 * `--video` adds the GRID talking-face clips (enhanced audio-only, as every system here); `--utterances`
 * keeps the items whose utterance id starts with one of the prefixes (e.g. `grid/` or `lombard_grid/`).
 *
 * Prints, per SNR, one row per band: centre frequency, then correlation and level (dB) per system; the last
 * row is the mean correlation (the STOI) and the level over all bands.
 */
import { parseArgs } from 'node:util';
import { DeepFilterNet3Peer } from '../bench/speech/deepfilternet3.ts';
import { EVAL_RATE_HZ } from '../src/models/speech/evaluate.ts';
import { STOI_BANDS, stoiBands, thirdOctaveBands } from '../src/models/speech/metrics/stoi.ts';
import { DIAGNOSTIC_ITEM_OPTIONS, DIAGNOSTIC_OPTIONS, itemsAt, openDiagnostic } from './speech-diagnostic.ts';

type Process = (noisy: Float32Array) => Promise<Float32Array>;

export interface BandRow {
  readonly centreHz: number | 'all';
  /** System → mean correlation and mean level (dB) over the items. */
  readonly systems: Record<string, { readonly correlation: number; readonly levelDb: number }>;
}

/** Means over items of per-band scores, plus an 'all' row (the STOI and the mean level). */
export function bandTable(
  perSystem: Readonly<Record<string, readonly { correlation: Float64Array; levelDb: Float64Array }[]>>,
): BandRow[] {
  const centres = thirdOctaveBands().centresHz;
  const rows: BandRow[] = [];
  const mean = (xs: readonly number[]): number => xs.reduce((a, v) => a + v, 0) / xs.length;
  for (let j = 0; j <= STOI_BANDS; j++) {
    const systems: BandRow['systems'] = {};
    for (const [name, items] of Object.entries(perSystem)) {
      const pick = (a: Float64Array): number =>
        j < STOI_BANDS ? a[j]! : Array.from(a).reduce((s, v) => s + v, 0) / STOI_BANDS;
      systems[name] = {
        correlation: mean(items.map((i) => pick(i.correlation))),
        levelDb: mean(items.map((i) => pick(i.levelDb))),
      };
    }
    rows.push({ centreHz: j < STOI_BANDS ? Math.round(centres[j]!) : 'all', systems });
  }
  return rows;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      ...DIAGNOSTIC_OPTIONS,
      dfn3: { type: 'string', default: '../shared/peers/deepfilternet3' },
      json: { type: 'boolean', default: false },
      ...DIAGNOSTIC_ITEM_OPTIONS,
    },
  });
  const { snrs, set, rnnoise, avdcnn } = await openDiagnostic(values, { video: values.video });
  const systems: Record<string, Process> = {
    noisy: (x) => Promise.resolve(x),
    rnnoise: (x) => Promise.resolve(rnnoise.process(x)),
    avdcnn: (x) => avdcnn.enhance(x),
  };
  const dfn3 = DeepFilterNet3Peer.available(values.dfn3)
    ? await DeepFilterNet3Peer.create(values.dfn3)
    : null;
  if (dfn3 !== null) systems['dfn3'] = (x) => dfn3.process(x);
  const out: Record<string, BandRow[]> = {};
  for (const snr of snrs) {
    const items = itemsAt(set, snr, values.utterances);
    const perSystem: Record<string, { correlation: Float64Array; levelDb: Float64Array }[]> = {};
    for (const [name, run] of Object.entries(systems))
      for (const item of items)
        (perSystem[name] ??= []).push(stoiBands(item.clean, await run(item.noisy), EVAL_RATE_HZ));
    out[String(snr)] = bandTable(perSystem);
    process.stderr.write(`${snr} dB: ${items.length} items\n`);
  }
  await avdcnn.release();
  await dfn3?.release();
  if (values.json) {
    console.log(JSON.stringify({ split: 'validation', model: values.model, bands: out }, null, 1));
    return;
  }
  for (const [snr, rows] of Object.entries(out)) {
    const names = Object.keys(rows[0]!.systems);
    console.log(`\n${snr} dB (validation, ${values.categories}): correlation / level dB`);
    console.log(`| band Hz | ${names.join(' | ')} |`);
    console.log(`| --- | ${names.map(() => '---').join(' | ')} |`);
    for (const r of rows)
      console.log(
        `| ${r.centreHz} | ${names
          .map((n) => `${r.systems[n]!.correlation.toFixed(3)} / ${r.systems[n]!.levelDb.toFixed(1)}`)
          .join(' | ')} |`,
      );
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
