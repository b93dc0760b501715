import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  downsampleIndices,
  renderStressReportHtml,
  type StressEvalRecordResult,
  type StressEvalReport,
} from '../../src/models/stress/report-html.ts';

type Level = 'low' | 'medium' | 'high';
const LV: readonly Level[] = ['low', 'medium', 'high'];

function makeRecord(name: string, n: number, predictedEvery = 300): StressEvalRecordResult {
  const timeline: StressEvalRecordResult['timeline'][number][] = [];
  for (let i = 0; i < n; i++) {
    const label = LV[Math.floor(i / 1000) % 3] ?? null;
    const predicted = i < 30 ? null : (LV[Math.floor(i / predictedEvery) % 3] ?? null);
    const ph = 0.5 + 0.4 * Math.sin(i / 50);
    const pm = (1 - ph) / 2;
    timeline.push({
      tS: i,
      label: i % 997 === 0 ? null : label,
      predicted,
      probabilities: predicted === null ? null : [1 - ph - pm, pm, ph],
      confidence: predicted === null ? null : Math.max(ph, pm, 1 - ph - pm),
    });
  }
  return {
    record: name,
    estimates: n,
    accuracy: 0.5,
    macroF1: 0.4,
    confusion: [
      [1, 2, 3],
      [4, 5, 6],
      [7, 8, 9],
    ],
    timeline,
    segments: [
      { name: 'city', level: 'medium', startS: 0, endS: Math.max(1, n / 2) },
      { name: 'highway', level: 'high', startS: n / 2, endS: Math.max(2, n) },
    ],
  };
}

function makeReport(records: readonly StressEvalRecordResult[]): StressEvalReport {
  return {
    title: 'Stress eval',
    model: {
      name: 'logreg',
      file: 'out/model.json',
      config: { l2: 0.01, nested: { a: [1, 2] }, none: null },
    },
    overall: {
      estimates: 45,
      accuracy: 0.6,
      macroF1: NaN,
      f1: [0.5, 0.6, 0.7],
      confusion: [
        [11, 12, 13],
        [0, 0, 0],
        [31, 32, 33],
      ],
    },
    records,
    notes: ['note <b>one</b>', 'second & last'],
    generatedAt: '2024-01-01T00:00:00.000Z',
  };
}

function count(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1;
}

test('starts with <!doctype html> and has no external resources or scripts', () => {
  const html = renderStressReportHtml(makeReport([makeRecord('r1', 100)]));
  assert.ok(html.startsWith('<!doctype html>'));
  assert.ok(!/<script/i.test(html));
  assert.ok(!/\b(src|href)="(https?:)?\/\//i.test(html));
  assert.ok(!/<link\b/i.test(html));
  assert.match(html, /<li>note &lt;b&gt;one&lt;\/b&gt;<\/li>/);
  assert.match(html, /second &amp; last/);
  assert.match(html, /macro-F1/);
  assert.ok(!html.includes('NaN'));
});

test('escapes a record name containing <script>', () => {
  const evil = '<script>alert("x")</script> & \'q\'';
  const html = renderStressReportHtml(makeReport([makeRecord(evil, 50)]));
  assert.ok(!html.includes('<script>'));
  assert.ok(!html.includes('alert("x")'));
  assert.ok(html.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;'));
});

test('overall confusion matrix cells carry the right counts', () => {
  const html = renderStressReportHtml(makeReport([]));
  const svg = /<svg class="confusion overall-confusion"[\s\S]*?<\/svg>/.exec(html)?.[0];
  assert.ok(svg !== undefined);
  assert.match(svg, />true</);
  assert.match(svg, />predicted</);
  const expected = [
    [11, 12, 13],
    [0, 0, 0],
    [31, 32, 33],
  ];
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      const re = new RegExp(
        `<g class="cm-cell" data-true="${LV[i]}" data-predicted="${LV[j]}">[\\s\\S]*?<text class="cm-count"[^>]*>([^<]*)</text>`,
      );
      const m = re.exec(svg);
      assert.ok(m !== null, `cell ${i},${j}`);
      assert.equal(m[1], String(expected[i]?.[j]));
    }
  }
  assert.equal(count(svg, 'class="cm-cell"'), 9);
  assert.match(html, /No records\./);
});

test('one SVG timeline per record, including empty and degenerate records', () => {
  const empty: StressEvalRecordResult = {
    record: 'empty',
    estimates: 0,
    accuracy: NaN,
    macroF1: NaN,
    confusion: [],
    timeline: [],
    segments: [],
  };
  const degenerate: StressEvalRecordResult = {
    ...makeRecord('degenerate', 5),
    timeline: [
      { tS: NaN, label: 'low', predicted: 'low', probabilities: [NaN, 0.5, 0.5], confidence: NaN },
      { tS: 3, label: null, predicted: null, probabilities: null, confidence: null },
      { tS: 1, label: 'high', predicted: 'medium', probabilities: [0.2, 0.3, 0.5], confidence: 0.5 },
    ],
    segments: [{ name: 'bad', level: 'low', startS: 10, endS: 5 }],
  };
  const recs = [makeRecord('a', 200), empty, degenerate, makeRecord('b', 10)];
  const html = renderStressReportHtml(makeReport(recs));
  assert.equal(count(html, '<svg class="timeline"'), recs.length);
  assert.match(html, /no timeline data/);
  assert.ok(!html.includes('NaN'));
  assert.ok(!html.includes('Infinity'));
  // Segment names are drawn.
  assert.match(html, />highway</);
});

test('downsampleIndices keeps every change of predicted level', () => {
  const n = 6000;
  const pred = Array.from({ length: n }, (_, i) => (i === 4321 || i === 4322 || i % 777 === 5 ? 1 : 0));
  const keep = (i: number): boolean => i === 0 || pred[i] !== pred[i - 1];
  const idx = downsampleIndices(n, 2000, keep);
  for (let i = 0; i < n; i++) if (keep(i)) assert.ok(idx.includes(i), `change at ${i} kept`);
  assert.ok(idx.includes(n - 1));
  assert.ok(idx.length < 2100);
  assert.deepEqual(downsampleIndices(5, 2000), [0, 1, 2, 3, 4]);
  assert.deepEqual(downsampleIndices(0), []);
});

test('downsampling keeps the size bounded for a 6000-point timeline', () => {
  const small = renderStressReportHtml(makeReport([makeRecord('r', 2000)])).length;
  const big = renderStressReportHtml(makeReport([makeRecord('r', 6000)])).length;
  assert.ok(big < 250_000, `size ${big}`);
  // 3× the points, but well under 3× the size.
  assert.ok(big < small * 1.5, `small ${small}, big ${big}`);
  // Worst case: 7 drives of 90 min at 1 Hz with the prediction flipping every second.
  const recs = Array.from({ length: 7 }, (_, i) => makeRecord(`drive ${i}`, 5400, 1));
  const worst = renderStressReportHtml(makeReport(recs)).length;
  assert.ok(worst < 2_000_000, `worst ${worst}`);
});
