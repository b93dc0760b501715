/**
 * The paired comparison of `drivesense eval speech --paired-with` (src/models/speech/paired-comparison.ts)
 * applied to a stored `eval speech --json` result (e.g. a file of docs/models/speech-results/), so a result
 * read once can be judged without reading its split again:
 *
 *   node --import tsx scripts/speech-paired.ts FILE.json [--reference rnnoise] [--systems A,B] [--json]
 *
 * Prints, per group (SNR × category × subset) and metric, each system − reference over the mixtures both
 * were scored on: the mean difference, its 95 % interval, wins/losses and the sign-flip p. Nothing else is
 * recomputed; the items' scores are the file's.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { isJsonObject } from '../src/models/common/json.ts';
import type { ItemResult } from '../src/models/speech/evaluate.ts';
import { pairedRows, pairedText } from '../src/models/speech/paired-comparison.ts';

/** The items and the systems run of a stored result; an Error naming what is missing otherwise. */
export function storedEvaluation(json: unknown, file: string): { items: ItemResult[]; systems: string[] } {
  if (!isJsonObject(json) || !Array.isArray(json['items']))
    throw new Error(`${file}: not an eval speech --json result (no items list)`);
  const items: unknown[] = json['items'];
  const systems = json['systems'];
  const run = Array.isArray(systems) ? systems : isJsonObject(systems) ? systems['run'] : undefined;
  if (!Array.isArray(run) || !run.every((s) => typeof s === 'string'))
    throw new Error(`${file}: no list of the systems run (systems.run)`);
  for (const [i, item] of items.entries())
    if (!isJsonObject(item) || !isJsonObject(item['systems']))
      throw new Error(`${file}: item ${i} has no systems' scores`);
  return { items: items as ItemResult[], systems: run as string[] };
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      reference: { type: 'string', default: 'rnnoise' },
      systems: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const file = positionals[0];
  if (file === undefined || positionals.length > 1)
    throw new Error('usage: speech-paired.ts FILE.json [--reference rnnoise] [--systems A,B] [--json]');
  const { items, systems } = storedEvaluation(JSON.parse(await readFile(file, 'utf8')), file);
  const reference = values.reference;
  if (!systems.includes(reference))
    throw new Error(`${file}: the reference '${reference}' was not run (systems: ${systems.join(', ')})`);
  const chosen = values.systems?.split(',').map((s) => s.trim()) ?? systems;
  for (const s of chosen)
    if (!systems.includes(s)) throw new Error(`${file}: no system '${s}' (systems: ${systems.join(', ')})`);
  const rows = pairedRows(items, [...new Set([...chosen, reference])], reference);
  if (rows.length === 0)
    throw new Error(
      `${file}: nothing to compare with '${reference}' (the noisy input and the reference are not compared)`,
    );
  console.log(values.json ? JSON.stringify(rows) : pairedText(rows));
}

if (import.meta.url === `file://${process.argv[1]}`)
  main().catch((e: unknown) => {
    console.error(`speech-paired: ${(e as Error).message}`);
    process.exitCode = 1;
  });
