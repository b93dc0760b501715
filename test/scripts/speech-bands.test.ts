import assert from 'node:assert/strict';
import { it } from 'node:test';
import { bandTable } from '../../scripts/speech-bands.ts';
import { STOI_BANDS } from '../../src/models/speech/metrics/stoi.ts';

const scores = (c: number, l: number) => ({
  correlation: Float64Array.from({ length: STOI_BANDS }, (_, j) => c + j / 100),
  levelDb: new Float64Array(STOI_BANDS).fill(l),
});

it('bandTable: per-band means over items, then an "all" row with the STOI and the mean level', () => {
  const rows = bandTable({ a: [scores(0.5, -1), scores(0.7, -3)], b: [scores(0.9, 0)] });
  assert.equal(rows.length, STOI_BANDS + 1);
  assert.equal(rows[0]!.centreHz, 150);
  assert.ok(Math.abs(rows[0]!.systems['a']!.correlation - 0.6) < 1e-12);
  assert.ok(Math.abs(rows[14]!.systems['a']!.correlation - 0.74) < 1e-12);
  assert.equal(rows[3]!.systems['a']!.levelDb, -2);
  const all = rows[STOI_BANDS]!;
  assert.equal(all.centreHz, 'all');
  assert.ok(Math.abs(all.systems['b']!.correlation - (0.9 + 0.07)) < 1e-12);
  assert.equal(all.systems['b']!.levelDb, 0);
});
