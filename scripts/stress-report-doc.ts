/**
 * Renders the committed stress results (docs/models/stress-results/*.json: the cross-validation summaries
 * written by `drivesense train stress --cv`, the studies of scripts/stress-studies.ts, the deployable
 * model's report) as the tables between the markers of docs/models/stress.md.
 *
 *   node --import tsx scripts/stress-report-doc.ts
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { CvSummary } from '../src/models/stress/cv.ts';

const dir = fileURLToPath(new URL('../docs/models/stress-results/', import.meta.url));
const doc = fileURLToPath(new URL('../docs/models/stress.md', import.meta.url));
const f3 = (v: number | null | undefined) =>
  v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(3);
const load = async <T>(name: string): Promise<T | undefined> =>
  existsSync(`${dir}${name}`) ? (JSON.parse(await readFile(`${dir}${name}`, 'utf8')) as T) : undefined;

const variants = ['all-original', 'all-reordered', 'cardiac-only-original', 'cardiac-only-reordered'];
const cv = new Map<string, CvSummary>();
for (const v of variants) {
  const s = await load<CvSummary>(`${v}.json`);
  if (s) cv.set(v, s);
}
const lines: string[] = [];
lines.push(
  '| model (inputs) | order | pooled macro-F1 | mean per-drive macro-F1 | accuracy | F1 low | F1 medium | F1 high |',
);
lines.push('|---|---|---|---|---|---|---|---|');
for (const [v, s] of cv) {
  const inputs = v.startsWith('cardiac-only')
    ? 'CNN+LSTM, cardiac only (HR)'
    : 'CNN+LSTM, cardiac + EDA + respiration';
  const order = v.endsWith('reordered') ? `reordered (seed ${s.reorderSeed})` : 'original';
  lines.push(
    `| ${inputs} | ${order} | **${f3(s.pooled.macroF1)}** | ${f3(s.meanDriveMacroF1)} | ${f3(s.pooled.accuracy)} | ${f3(s.pooled.f1.low)} | ${f3(s.pooled.f1.medium)} | ${f3(s.pooled.f1.high)} |`,
  );
  const b = s.baseline;
  lines.push(
    `| baseline (logistic regression on the same inputs' window statistics), same run | ${order} | ${f3(b.pooled.macroF1)} | ${f3(b.meanDriveMacroF1)} | ${f3(b.pooled.accuracy)} | ${f3(b.pooled.f1.low)} | ${f3(b.pooled.f1.medium)} | ${f3(b.pooled.f1.high)} |`,
  );
}
const o = cv.get('all-original');
const r = cv.get('all-reordered');
if (o && r)
  lines.push(
    '',
    `Reordered − original (CNN+LSTM, all inputs): **${r.pooled.macroF1 - o.pooled.macroF1 >= 0 ? '+' : ''}${(r.pooled.macroF1 - o.pooled.macroF1).toFixed(3)}** pooled macro-F1.`,
  );
if (o) {
  lines.push('', 'Per drive (macro-F1; CNN+LSTM all inputs, original | reordered | baseline original):', '');
  lines.push(
    '| test drive | validation drive | epochs (best) | CNN+LSTM original | CNN+LSTM reordered | baseline |',
  );
  lines.push('|---|---|---|---|---|---|');
  for (const f of o.folds) {
    const rr = r?.folds.find((x) => x.test === f.test);
    const b = o.baseline.perDrive.find((x) => x.record === f.test);
    lines.push(
      `| ${f.test} | ${f.validation} | ${f.epochs} (${f.bestEpoch ?? '—'}) | ${f3(f.scores.macroF1)} | ${f3(rr?.scores.macroF1)} | ${f3(b?.scores.macroF1)} |`,
    );
  }
  lines.push(
    '',
    'Confusion, CNN+LSTM all inputs, original order, pooled over the test drives (rows true, columns predicted: low, medium, high):',
    '',
    '```',
  );
  o.pooled.confusion.forEach((row, i) =>
    lines.push(
      `${['low', 'medium', 'high'][i]!.padEnd(7)} ${row.map((v) => String(v).padStart(6)).join('')}`,
    ),
  );
  lines.push('```');
  lines.push(
    '',
    "**Sensor-failure study (each fold's model, test drive with sources removed; macro-F1):**",
    '',
  );
  lines.push('| inputs at test time | pooled macro-F1 | mean per drive |', '|---|---|---|');
  lines.push(`| all (hr, eda, resp) | ${f3(o.pooled.macroF1)} | ${f3(o.meanDriveMacroF1)} |`);
  for (const [name, a] of Object.entries(o.ablations))
    lines.push(`| ${name} | ${f3(a.pooled.macroF1)} | ${f3(a.meanDriveMacroF1)} |`);
}
const studies = await load<{
  failure: Record<string, unknown>[];
  vehicleOnly: Record<string, unknown>;
  simulation: Record<string, unknown>;
}>('studies.json');
if (studies) {
  lines.push(
    '',
    '**ECG / HR failing mid-drive** (committed model, one estimate per second; the fault starts halfway between the end of the initial rest and the end of the drive):',
    '',
  );
  const report = await load<{ split: { train: string[]; validation: string; test: string } }>(
    '../../../src/models/stress/model/stress.report.json',
  );
  const role = (r: string) =>
    report?.split.test === r
      ? '**held out**'
      : report?.split.validation === r
        ? 'validation (early stopping)'
        : 'training';
  lines.push(
    '| drive | HR from | fault | first hr fault after the fault time | estimates/s after | macro-F1 after | drive in the committed model |',
    '|---|---|---|---|---|---|---|',
  );
  for (const f of studies.failure)
    lines.push(
      `| ${String(f['record'])} | ${String(f['hr'])} | ${String(f['fault'])} | ${f['flaggedAfterS'] === null ? '—' : `${String(f['flaggedAfterS'])} s`} | ${String(f['estimatesPerSecondAfterFault'])} | ${f3(f['macroF1AfterFault'] as number)} | ${role(String(f['record']))} |`,
    );
  lines.push(
    '',
    "Rows 'none' are the same drives without an injected fault: the first hr fault there is one of the recording's own (electrode or device drop-outs).",
  );
  const v = studies.vehicleOnly;
  const p = v['meanProbabilities'] as Record<string, number>;
  lines.push(
    '',
    `**Vehicle branch alone on the real RAV4 highway log** (${String(v['log'])}, ${String(v['durationS'])} s, no physiology, no weather): ${String(v['estimates'])} estimates, levels ${JSON.stringify(v['levels'])}, mean probabilities low ${f3(p['low'])}, medium ${f3(p['medium'])}, high ${f3(p['high'])}.`,
  );
  const s = studies.simulation as { label: string; macroF1: number; accuracy: number; n: number };
  lines.push(
    '',
    `**${s.label}:** macro-F1 ${f3(s.macroF1)}, accuracy ${f3(s.accuracy)} over ${s.n} estimates of three simulated drives (rest, city, highway, rest).`,
  );
}
const text = await readFile(doc, 'utf8');
const begin = '<!-- stress-results:begin (written by scripts/stress-report-doc.ts; do not edit) -->';
const end = '<!-- stress-results:end -->';
const a = text.indexOf(begin);
const b = text.indexOf(end);
if (a < 0 || b < 0) throw new Error(`${doc}: markers missing`);
await writeFile(doc, `${text.slice(0, a + begin.length)}\n${lines.join('\n')}\n${text.slice(b)}`);
console.error(`wrote ${doc}`);
