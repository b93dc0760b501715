/**
 * `drivesense eval stress` on a committed excerpt of a real drive (drivedb drive07, 0–1500 s: the initial
 * rest and the start of City 1) with the committed model, through the CLI's own dispatcher.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { main } from '../../src/cli/main.ts';
import { DEFAULT_STRESS_MODEL } from '../../src/config/schema.ts';
import { readStressModelMeta } from '../../src/models/stress/estimator.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DIR = path.join(ROOT, 'test/fixtures/stress');
const SEGMENTS = path.join(DIR, 'segments.csv');
const MODEL = path.join(ROOT, DEFAULT_STRESS_MODEL);

async function run(args: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const orig = console.log;
  console.log = (s: unknown) => void lines.push(String(s));
  try {
    const code = await main(args);
    return { code, out: lines.join('\n') };
  } finally {
    console.log = orig;
  }
}

let tmp = '';
before(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'eval-stress-'));
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('drivesense eval stress', () => {
  it('the committed model exists with its metadata', async () => {
    assert.ok(existsSync(MODEL), `${MODEL} is committed`);
    const meta = await readStressModelMeta(MODEL);
    assert.ok(meta.windows.windowS <= 60, 'windows of 60 s or less');
    assert.ok(meta.windows.strideS > 0);
  });

  it('--json: scores every labelled estimate after the calibration, one per second', async () => {
    const meta = await readStressModelMeta(MODEL);
    const { code, out } = await run(['eval', 'stress', '--records', DIR, '--segments', SEGMENTS, '--json']);
    assert.equal(code, 0);
    const r = JSON.parse(out) as {
      macroF1: number;
      accuracy: number;
      estimates: number;
      confusion: number[][];
      records: { record: string; estimates: number; sourceUse: Record<string, Record<string, number>> }[];
    };
    // Expected count, from the rule (independently of the code): estimates at 95.68 + k s; scored when the
    // newest window starts after the calibration and one segment covers ≥ 80 % of it.
    const segs = [
      [95.68, 998.08],
      [998.08, 1500],
    ];
    const calEnd = 95.68 + meta.windows.calibrationS;
    let expected = 0;
    for (let t = 95.68 + 1; t <= 1500 + 1e-9; t += 1) {
      const a = t - meta.windows.windowS;
      if (a < calEnd - 1e-9) continue;
      if (segs.some(([s, e]) => Math.min(t, e!) - Math.max(a, s!) >= 0.8 * meta.windows.windowS - 1e-9))
        expected++;
    }
    assert.equal(r.estimates, expected);
    assert.equal(
      r.confusion.flat().reduce((x, y) => x + y, 0),
      expected,
    );
    assert.equal(
      r.confusion[1]!.reduce((x, y) => x + y, 0),
      0,
      'no medium segment in the excerpt',
    );
    assert.equal(r.records.length, 1);
    assert.equal(r.records[0]!.record, 'drive07');
    for (const s of ['hr', 'eda', 'resp'])
      assert.ok((r.records[0]!.sourceUse[s]?.['used'] ?? 0) > 0.9, `${s} used`);
    assert.equal(r.records[0]!.sourceUse['vehicle']?.['absent'], 1);
    assert.ok(r.accuracy >= 0 && r.accuracy <= 1 && r.macroF1 >= 0 && r.macroF1 <= 1);
  });

  it('--without eda removes the source; --report writes the HTML report', async () => {
    const file = path.join(tmp, 'report.html');
    const { code, out } = await run([
      'eval', 'stress', '--records', DIR, '--segments', SEGMENTS, '--json', '--every', '10', '--without', 'eda', '--report', file,
    ]); // prettier-ignore
    assert.equal(code, 0);
    const r = JSON.parse(out) as { records: { sourceUse: Record<string, Record<string, number>> }[] };
    assert.equal(r.records[0]!.sourceUse['eda']?.['absent'], 1);
    const html = await readFile(file, 'utf8');
    assert.match(html, /^<!doctype html>/i);
    assert.match(html, /drive07/);
  });

  it('refuses bad arguments with exit status 2', async () => {
    const lines: string[] = [];
    const orig = console.error;
    console.error = (s: unknown) => void lines.push(String(s));
    try {
      assert.equal((await run(['eval', 'stress', '--records', DIR])).code, 2);
      assert.equal(
        (await run(['eval', 'stress', '--records', DIR, '--segments', SEGMENTS, '--without', 'gps'])).code,
        2,
      );
    } finally {
      console.error = orig;
    }
    assert.match(lines.join('\n'), /--segments|unknown source/);
  });
});
