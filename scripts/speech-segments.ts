/**
 * Where in time intelligibility is lost: STOI's segments (`stoiSegments`) split by how much of each is
 * speech in the clean reference, for the noisy input, RNNoise and AVDCNN as served, on the VALIDATION split
 * (never the test split: a diagnostic to choose what to try).
 *
 *   node --import tsx scripts/speech-segments.ts [--model FILE] [--data ../shared/data] [--snr 0,5]
 *     [--categories car-interior] [--video] [--utterances PREFIX,…] [--json]
 *
 * A segment's active fraction is the share of its 30 frames within 25 dB of the clean signal's loudest frame.
 * Classes: pause (< 0.2), mixed, speech (≥ 0.8). Per SNR and class: the segments pooled over the items, each
 * system's mean correlation, and the class's share of the STOI difference between AVDCNN and RNNoise (the
 * class's summed difference over all segments, so the shares add up to the difference of the pooled means).
 * `--video` adds the GRID talking-face clips (all systems audio-only); `--utterances` keeps the items whose
 * utterance id starts with one of the prefixes.
 */
import { parseArgs } from 'node:util';
import { EVAL_RATE_HZ } from '../src/models/speech/evaluate.ts';
import { stoiSegments } from '../src/models/speech/metrics/stoi.ts';
import { DIAGNOSTIC_ITEM_OPTIONS, DIAGNOSTIC_OPTIONS, itemsAt, openDiagnostic } from './speech-diagnostic.ts';

export const SEGMENT_CLASSES = [
  { name: 'pause', below: 0.2 },
  { name: 'mixed', below: 0.8 },
  { name: 'speech', below: Infinity },
] as const;

export type SegmentClass = (typeof SEGMENT_CLASSES)[number]['name'];

/** The class of a segment by its active fraction. */
export function segmentClass(activeFraction: number): SegmentClass {
  return SEGMENT_CLASSES.find((c) => activeFraction < c.below)!.name;
}

export interface ClassRow {
  readonly segments: number;
  /** System → mean correlation over the class's segments. */
  readonly mean: Record<string, number>;
  /** (Σ over the class of a − b) / all segments, for the pair of systems compared. */
  readonly shareOfDifference: number;
}

/**
 * Pools segments (the same segmentation for every system: one clean reference per item) by class; `compare`
 * names the two systems whose STOI difference is split into the classes' shares.
 */
export function classTable(
  items: readonly { activeFraction: Float64Array; correlation: Record<string, Float64Array> }[],
  compare: readonly [string, string],
): Record<SegmentClass, ClassRow> {
  let total = 0;
  const acc = new Map<SegmentClass, { n: number; sums: Record<string, number>; diff: number }>();
  for (const c of SEGMENT_CLASSES) acc.set(c.name, { n: 0, sums: {}, diff: 0 });
  for (const it of items) {
    it.activeFraction.forEach((f, s) => {
      const a = acc.get(segmentClass(f))!;
      a.n++;
      total++;
      for (const [sys, corr] of Object.entries(it.correlation)) a.sums[sys] = (a.sums[sys] ?? 0) + corr[s]!;
      a.diff += it.correlation[compare[0]]![s]! - it.correlation[compare[1]]![s]!;
    });
  }
  const out = {} as Record<SegmentClass, ClassRow>;
  for (const [name, a] of acc)
    out[name] = {
      segments: a.n,
      mean: Object.fromEntries(Object.entries(a.sums).map(([k, v]) => [k, v / a.n])),
      shareOfDifference: total === 0 ? 0 : a.diff / total,
    };
  return out;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      ...DIAGNOSTIC_OPTIONS,
      json: { type: 'boolean', default: false },
      ...DIAGNOSTIC_ITEM_OPTIONS,
    },
  });
  const { snrs, set, rnnoise, avdcnn } = await openDiagnostic(values, { video: values.video });
  const out: Record<string, { items: number; classes: Record<SegmentClass, ClassRow> }> = {};
  for (const snr of snrs) {
    const items = itemsAt(set, snr, values.utterances);
    const rows = [];
    for (const item of items) {
      const outputs: Record<string, Float32Array> = {
        noisy: item.noisy,
        rnnoise: rnnoise.process(item.noisy),
        avdcnn: await avdcnn.enhance(item.noisy),
      };
      const correlation: Record<string, Float64Array> = {};
      let activeFraction: Float64Array | undefined;
      for (const [name, y] of Object.entries(outputs)) {
        const seg = stoiSegments(item.clean, y, EVAL_RATE_HZ);
        correlation[name] = seg.correlation;
        activeFraction = seg.activeFraction;
      }
      if (activeFraction !== undefined) rows.push({ activeFraction, correlation });
    }
    out[String(snr)] = { items: items.length, classes: classTable(rows, ['avdcnn', 'rnnoise']) };
  }
  await avdcnn.release();
  if (values.json) {
    console.log(JSON.stringify({ split: 'validation', model: values.model, snr: out }, null, 1));
    return;
  }
  for (const [snr, r] of Object.entries(out)) {
    console.log(`\n${snr} dB (validation, ${values.categories}, ${r.items} items): STOI by segment class`);
    console.log('| class | segments | noisy | rnnoise | avdcnn | share of avdcnn − rnnoise |');
    console.log('| --- | --- | --- | --- | --- | --- |');
    for (const [name, c] of Object.entries(r.classes))
      console.log(
        `| ${name} | ${c.segments} | ${['noisy', 'rnnoise', 'avdcnn'].map((s) => (c.mean[s] ?? NaN).toFixed(3)).join(' | ')} | ${c.shareOfDifference.toFixed(4)} |`,
      );
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
