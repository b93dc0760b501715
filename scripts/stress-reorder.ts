/**
 * Reorders the labelled segments of drivedb records (initial rest kept first, samples and labels moved
 * together, marker flattened; see src/models/stress/reorder.ts) and prints, per record, the new order and the
 * new segments as CSV rows (record,segment,stress_level,start_s,end_s,original_start_s).
 *
 *   node --import tsx scripts/stress-reorder.ts --seed 1 [--dir DIR] [--segments CSV] [RECORD …]
 *
 * It does not write reordered signal files (the evaluation reorders in memory).
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadLabelledDrives } from '../src/models/stress/records.ts';
import { reorderSegments } from '../src/models/stress/reorder.ts';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    dir: { type: 'string', default: resolve(root, '../shared/data/physio/drivedb') },
    segments: { type: 'string' },
    seed: { type: 'string', default: '1' },
  },
});
const seed = Number(values.seed);
if (!Number.isInteger(seed)) throw new Error('--seed must be an integer');
const { records } = await loadLabelledDrives(
  values.dir,
  values.segments ?? resolve(values.dir, 'drivedb_stress_segments.csv'),
);
console.log('record,segment,stress_level,start_s,end_s,original_start_s');
for (const r of records) {
  if (positionals.length > 0 && !positionals.includes(r.name)) continue;
  const { record, order } = reorderSegments(r, seed);
  record.segments.forEach((s, k) => {
    const o = r.segments[order[k]!]!;
    console.log(
      [r.name, s.name, s.level, s.startS.toFixed(2), s.endS.toFixed(2), o.startS.toFixed(2)].join(','),
    );
  });
}
