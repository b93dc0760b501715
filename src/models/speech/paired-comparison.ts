/**
 * Each system against a reference system on the same mixtures (`drivesense eval speech --paired-with`, by
 * default RNNoise, the issue's target; `scripts/speech-paired.ts` for a stored result): per group of the
 * aggregates (SNR × category × subset) and metric, the paired statistics of system − reference over the
 * utterances both were scored on (metrics/paired.ts: mean difference, its 95 % interval, wins and losses,
 * the sign-flip p). The unit is the utterance: where a group holds an utterance's mixtures with several
 * noises, their differences are averaged first, since they are not independent of each other. A difference of means in the table says which system scored higher on these items; the
 * interval and p say whether the items' spread could give it by chance. Pure.
 */
import type { EvaluationGroup, ItemResult, MetricKey } from './evaluate.ts';
import { METRIC_KEYS, evaluationGroups, groupTitle, metricValue } from './evaluate.ts';
import { pairedStats } from './metrics/paired.ts';
import type { PairedStats } from './metrics/paired.ts';

export interface PairedRow {
  readonly system: string;
  readonly reference: string;
  readonly snrDb: number | null;
  readonly category: string;
  readonly subset: 'all' | 'av';
  /** Per metric: the statistics of system − reference (null: no item has both values). */
  readonly metrics: Readonly<Record<MetricKey, PairedStats | null>>;
}

/** Every system but the reference (and the noisy input) against it, per group; none if it never ran. */
export function pairedRows(
  items: readonly ItemResult[],
  systems: readonly string[],
  reference: string,
): PairedRow[] {
  const rows: PairedRow[] = [];
  for (const g of evaluationGroups(items))
    for (const system of systems) {
      if (system === reference || system === 'noisy') continue;
      const row = pairedRow(g, system, reference);
      if (row !== undefined) rows.push(row);
    }
  return rows;
}

function pairedRow(g: EvaluationGroup, system: string, reference: string): PairedRow | undefined {
  const both = g.items.filter((i) => i.systems[system] !== undefined && i.systems[reference] !== undefined);
  if (both.length === 0) return undefined;
  const metrics = Object.fromEntries(
    METRIC_KEYS.map((k) => {
      // One difference per utterance: its mixtures in the group (several noise categories in an 'all' group)
      // are not independent of each other, so they are averaged first.
      const byUtterance = new Map<string, number[]>();
      for (const i of both) {
        const a = metricValue(i.systems[system]!, k);
        const b = metricValue(i.systems[reference]!, k);
        if (a === null || b === null) continue;
        const list = byUtterance.get(i.utterance);
        if (list === undefined) byUtterance.set(i.utterance, [a - b]);
        else list.push(a - b);
      }
      const diffs = [...byUtterance.values()].map((d) => d.reduce((s, v) => s + v, 0) / d.length);
      return [k, diffs.length > 0 ? pairedStats(diffs) : null];
    }),
  ) as Record<MetricKey, PairedStats | null>;
  return { system, reference, snrDb: g.snr, category: g.category, subset: g.subset, metrics };
}

const METRIC_LABEL: Readonly<Record<MetricKey, string>> = {
  stoi: 'STOI',
  estoi: 'ESTOI',
  siSdr: 'SI-SDR (dB)',
  segSnr: 'segSNR (dB)',
  sig: 'DNSMOS SIG',
  bak: 'DNSMOS BAK',
  ovrl: 'DNSMOS OVRL',
  p808: 'DNSMOS P808',
};
const DIGITS: Readonly<Record<MetricKey, number>> = {
  stoi: 4,
  estoi: 4,
  siSdr: 2,
  segSnr: 2,
  sig: 3,
  bak: 3,
  ovrl: 3,
  p808: 3,
};

function signed(v: number, digits: number): string {
  const s = v.toFixed(digits);
  return v >= 0 ? `+${s}` : s;
}

/** The paired rows as plain text: one block per group, one line per system × metric. */
export function pairedText(rows: readonly PairedRow[]): string {
  const lines: string[] = [];
  let block = '';
  for (const r of rows) {
    const key = `${r.snrDb}|${r.category}|${r.subset}`;
    if (key !== block) {
      block = key;
      lines.push(
        '',
        `${groupTitle(r)}: paired against ${r.reference} (Δ = system − ${r.reference} on the same mixtures; n utterances)`,
        `${'system'.padEnd(14)}${'metric'.padEnd(13)}${'n'.padStart(3)}${'Δ mean'.padStart(10)}` +
          `${'95 % interval'.padStart(24)}${'w/l/t'.padStart(10)}${'p'.padStart(8)}`,
      );
    }
    for (const k of METRIC_KEYS) {
      const st = r.metrics[k];
      if (st === null) continue;
      const d = DIGITS[k];
      const ci = st.ci95 === null ? '—' : `[${signed(st.ci95[0], d)}, ${signed(st.ci95[1], d)}]`;
      lines.push(
        `${r.system.padEnd(14)}${METRIC_LABEL[k].padEnd(13)}${String(st.n).padStart(3)}` +
          `${signed(st.meanDiff, d).padStart(10)}${ci.padStart(24)}` +
          `${`${st.wins}/${st.losses}/${st.ties}`.padStart(10)}${st.p.toFixed(3).padStart(8)}${st.exact ? '' : '*'}`,
      );
    }
  }
  if (rows.some((r) => METRIC_KEYS.some((k) => r.metrics[k]?.exact === false)))
    lines.push('', '* p from sampled sign assignments (more than 16 items)');
  return lines.join('\n').replace(/^\n/, '');
}
