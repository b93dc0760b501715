/**
 * Renders the aggregate rows of a `drivesense eval speech --json` result (e.g. a file of
 * docs/models/speech-results/) as the Markdown table used in docs/models/speech.md:
 *
 *   node --import tsx scripts/speech-results-table.ts FILE.json
 *
 * One row per SNR × system over all mixtures, plus the GRID-clip subset for the AVDCNN modes (the clips with
 * a talking face, where audio-only and audio-visual compare on the same mixtures). Means as the evaluation
 * computed them; nothing is recomputed here.
 */
import { readFile } from 'node:fs/promises';

interface Row {
  system: string;
  snrDb: number | null;
  category: string;
  subset: string;
  n: number;
  mean: Record<string, number | null>;
  rtf: number | null;
}

const f = (v: number | null | undefined, d: number) => (v === null || v === undefined ? '—' : v.toFixed(d));

export function resultsTable(rows: readonly Row[], systems: readonly string[]): string {
  const out = [
    '| SNR (dB) | system | n | STOI | ESTOI | SI-SDR (dB) | segSNR (dB) | DNSMOS SIG | BAK | OVRL | RTF |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  const snrs = [...new Set(rows.map((r) => r.snrDb))].sort((a, b) => (a ?? 0) - (b ?? 0));
  for (const snr of snrs) {
    for (const system of systems) {
      for (const subset of ['all', 'av']) {
        if (subset === 'av' && !system.startsWith('avdcnn')) continue;
        const r = rows.find((x) => x.system === system && x.snrDb === snr && x.subset === subset);
        if (r === undefined) continue;
        if (subset === 'all' && system === 'avdcnn-av') continue; // only the GRID clips have a face
        const m = r.mean;
        const name = subset === 'av' ? `${system} (GRID clips)` : system;
        out.push(
          `| ${snr ?? '—'} | ${name} | ${r.n} | ${f(m['stoi'], 3)} | ${f(m['estoi'], 3)} | ${f(m['siSdr'], 2)} | ` +
            `${f(m['segSnr'], 2)} | ${f(m['sig'], 2)} | ${f(m['bak'], 2)} | ${f(m['ovrl'], 2)} | ${f(r.rtf, 3)} |`,
        );
      }
    }
  }
  return out.join('\n');
}

async function main(): Promise<void> {
  const file = process.argv[2];
  if (file === undefined) throw new Error('usage: scripts/speech-results-table.ts FILE.json');
  const j = JSON.parse(await readFile(file, 'utf8')) as { aggregates: Row[]; systems: { run: string[] } };
  console.log(resultsTable(j.aggregates, j.systems.run));
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
