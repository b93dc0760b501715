import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Subject, from, of } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { WindowBuffer, eventTimeWindows, resolveWindowSpec, watermark } from '../../src/streams/windows.ts';
import type { Aggregator, Watermark, WindowResult, WindowSpec } from '../../src/streams/windows.ts';

// Times in the tests are ms after T0, a realistic epoch (2023-11-14), so µs values are ~1.7e15.
const T0_MS = 1_700_000_000_000;
const us = (ms: number): number => (T0_MS + ms) * 1000;

interface Reading {
  readonly tUs: number;
  readonly endUs: number;
  /** The reading's time in ms after T0; what the test aggregator collects. */
  readonly v: number;
}
const at = (ms: number, durationMs = 0): Reading => ({ tUs: us(ms), endUs: us(ms + durationMs), v: ms });
const wm = (ms: number): Watermark => watermark(us(ms));

/** Collects the readings' times in arrival order: the summaries show exactly which items a window got. */
const collect: Aggregator<Reading, number[]> = {
  create: () => [],
  add: (acc, r) => {
    acc.push(r.v);
    return acc;
  },
};

const windows = (spec: WindowSpec, withEnd = false) =>
  eventTimeWindows<Reading, number[]>({
    ...spec,
    timeOf: (r) => r.tUs,
    ...(withEnd ? { endTimeOf: (r: Reading) => r.endUs } : {}),
    aggregator: collect,
  });

/** Expected result for window [startMs, endMs) holding `values`, emitted at watermark `wmMs`. */
const win = (
  startMs: number,
  endMs: number,
  values: number[],
  wmMs: number,
  extra: Partial<Pick<WindowResult<number[]>, 'lateDropped' | 'skippedEmptyWindows'>> = {},
): WindowResult<number[]> => ({
  startUs: us(startMs),
  endUs: us(endMs),
  count: values.length,
  summary: values,
  lateDropped: 0,
  skippedEmptyWindows: 0,
  watermarkUs: us(wmMs),
  ...extra,
});

/** A fresh virtual-time scheduler per test, asserting with node:assert. */
const scheduler = (): TestScheduler =>
  new TestScheduler((actual, expected) => assert.deepStrictEqual(actual, expected));

describe('eventTimeWindows', () => {
  it('tumbling: each window is emitted once the watermark passes its end, the last on completion', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const src = cold<Reading | Watermark>('a-b-c-d|', { a: at(100), b: at(500), c: at(1200), d: at(2500) });
      expectObservable(src.pipe(windows({ sizeMs: 1000 }))).toBe('----x-y(z|)', {
        x: win(0, 1000, [100, 500], 1200),
        y: win(1000, 2000, [1200], 2500),
        z: win(2000, 3000, [2500], 2500),
      });
    });
  });

  it('closes a window exactly when the watermark reaches end + lateness, not a microsecond earlier', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const almost = { tUs: us(1250) - 1, endUs: us(1250) - 1, v: 1249.999 };
      const src = cold<Reading | Watermark>('a-b-c|', { a: at(100), b: almost, c: at(1250) });
      expectObservable(src.pipe(windows({ sizeMs: 1000, allowedLatenessMs: 250 }))).toBe('----x(y|)', {
        x: win(0, 1000, [100], 1250),
        y: win(1000, 2000, [1249.999, 1250], 1250),
      });
    });
  });

  it('sliding: every item is counted in each of the size/slide windows covering it', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const src = cold<Reading | Watermark>('a-b-c-d|', {
        a: at(500),
        b: at(1500),
        c: at(2500),
        d: at(3500),
      });
      expectObservable(src.pipe(windows({ sizeMs: 2000, slideMs: 1000 }))).toBe('--x-y-z(uv|)', {
        x: win(-1000, 1000, [500], 1500),
        y: win(0, 2000, [500, 1500], 2500),
        z: win(1000, 3000, [1500, 2500], 3500),
        u: win(2000, 4000, [2500, 3500], 3500),
        v: win(3000, 5000, [3500], 3500),
      });
    });
  });

  it('allowed lateness: a straggler within it is counted in its window, one beyond it is counted as late', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const src = cold<Reading | Watermark>('a-b-c-d-e-f|', {
        a: at(100),
        b: at(1200), // W = 1200 < 1000 + 500: [0, 1000) stays open
        c: at(900), // within lateness → [0, 1000)
        d: at(1600), // W = 1600 ≥ 1500: [0, 1000) closes
        e: at(800), // [0, 1000) already closed → late
        f: at(2600),
      });
      expectObservable(src.pipe(windows({ sizeMs: 1000, allowedLatenessMs: 500 }))).toBe('------x---y(z|)', {
        x: win(0, 1000, [100, 900], 1600),
        y: win(1000, 2000, [1200, 1600], 2600, { lateDropped: 1 }),
        z: win(2000, 3000, [2600], 2600),
      });
    });
  });

  it('out of order within lateness: items land in their own windows, windows still come out in time order', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const src = cold<Reading | Watermark>('abcde---|', {
        a: at(1200),
        b: at(300),
        c: at(1100),
        d: at(700),
        e: at(3000),
      });
      expectObservable(src.pipe(windows({ sizeMs: 1000, allowedLatenessMs: 1000 }))).toBe('----(xy)(zu|)', {
        x: win(0, 1000, [300, 700], 3000),
        y: win(1000, 2000, [1200, 1100], 3000),
        z: win(2000, 3000, [], 3000),
        u: win(3000, 4000, [3000], 3000),
      });
    });
  });

  it('flushes every open window in order on completion, with the empty ones between', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const src = cold<Reading | Watermark>('a-b|', { a: at(100), b: at(3500) });
      expectObservable(src.pipe(windows({ sizeMs: 1000, allowedLatenessMs: 10_000 }))).toBe('---(wxyz|)', {
        w: win(0, 1000, [100], 3500),
        x: win(1000, 2000, [], 3500),
        y: win(2000, 3000, [], 3500),
        z: win(3000, 4000, [3500], 3500),
      });
    });
  });

  it('emits empty windows across a gap, capped: the last one shown reports how many were skipped', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const src = cold<Reading | Watermark>('a-b------|', { a: at(500), b: at(10_500) });
      expectObservable(src.pipe(windows({ sizeMs: 1000, maxEmptyWindows: 3 }))).toBe('--(wxyz)-(a|)', {
        w: win(0, 1000, [500], 10_500),
        x: win(1000, 2000, [], 10_500),
        y: win(2000, 3000, [], 10_500),
        // [3000, 9000): six empty windows left out.
        z: win(9000, 10_000, [], 10_500, { skippedEmptyWindows: 6 }),
        a: win(10_000, 11_000, [10_500], 10_500),
      });
    });
  });

  it('a jump of days does not materialise the empty windows in between', () => {
    const threeDaysMs = 3 * 86_400_000;
    const results: WindowResult<number[]>[] = [];
    from([at(500), at(threeDaysMs + 500)])
      .pipe(windows({ sizeMs: 1000 }))
      .subscribe((r) => results.push(r));
    assert.equal(results.length, 1 + 100 + 1); // first window, the default cap of 100 empties, last window
    assert.deepEqual(
      results.at(-2),
      win(threeDaysMs - 1000, threeDaysMs, [], threeDaysMs + 500, {
        skippedEmptyWindows: threeDaysMs / 1000 - 1 - 100,
      }),
    );
    assert.equal(
      results.reduce((n, r) => n + r.skippedEmptyWindows + 1, 0),
      threeDaysMs / 1000 + 1,
      'emitted + skipped windows cover the whole span',
    );
  });

  it('punctuation advances the watermark without data: a silent source still closes its windows', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const src = cold<Reading | Watermark>('a-w-v-b|', {
        a: at(100),
        w: wm(3000),
        v: wm(2000),
        b: at(3200),
      });
      expectObservable(src.pipe(windows({ sizeMs: 1000 }))).toBe('--(xyz)(u|)', {
        x: win(0, 1000, [100], 3000),
        y: win(1000, 2000, [], 3000),
        z: win(2000, 3000, [], 3000),
        // v (an older punctuation) is ignored; the watermark never goes back.
        u: win(3000, 4000, [3200], 3200),
      });
    });
  });

  it('counts an item late when its window closed before any data reached it, and reports it on completion', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const src = cold<Reading | Watermark>('w-a|', { w: wm(5000), a: at(100) });
      expectObservable(src.pipe(windows({ sizeMs: 1000 }))).toBe('---(x|)', {
        x: win(5000, 6000, [], 5000, { lateDropped: 1 }),
      });
    });
  });

  it('assigns a chunk spanning a boundary by its start time; its end time advances the watermark', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const src = cold<Reading | Watermark>('a-b-c|', { a: at(600, 250), b: at(850, 250), c: at(1100, 250) });
      expectObservable(src.pipe(windows({ sizeMs: 1000 }, true))).toBe('--x--(y|)', {
        x: win(0, 1000, [600, 850], 1100),
        y: win(1000, 2000, [1100], 1350),
      });
    });
  });

  it('forwards a source error without flushing and unsubscribes', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const src = cold<Reading | Watermark>('a-b-#', { a: at(100), b: at(1200) }, new Error('broker gone'));
      expectObservable(src.pipe(windows({ sizeMs: 1000 }))).toBe(
        '--x-#',
        { x: win(0, 1000, [100], 1200) },
        new Error('broker gone'),
      );
      expectSubscriptions(src.subscriptions).toBe('^---!');
    });
  });

  it('errors the output (and unsubscribes the source) when the aggregator throws', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const src = cold<Reading | Watermark>('a-b-c|', { a: at(100), b: at(200), c: at(300) });
      const failing = eventTimeWindows<Reading, number>({
        sizeMs: 1000,
        timeOf: (r) => r.tUs,
        aggregator: {
          create: () => 0,
          add: (n, r) => {
            if (r.v === 200) throw new Error('bad sample');
            return n + 1;
          },
        },
      });
      expectObservable(src.pipe(failing)).toBe('--#', undefined, new Error('bad sample'));
      expectSubscriptions(src.subscriptions).toBe('^-!');
    });
  });

  it('rejects non-finite times and ends before starts as contract breaches', () => {
    const errorOf = (items: Reading[]): unknown => {
      let caught: unknown;
      from(items)
        .pipe(windows({ sizeMs: 1000 }, true))
        .subscribe({ error: (e: unknown) => (caught = e) });
      return caught;
    };
    assert.match(String(errorOf([at(0), { tUs: Number.NaN, endUs: 0, v: 0 }])), /RangeError: timeOf\(item\)/);
    assert.match(String(errorOf([{ tUs: us(10), endUs: us(5), v: 10 }])), /RangeError: endTimeOf/);
    let caught: unknown;
    of<Reading | Watermark>(watermark(Number.POSITIVE_INFINITY))
      .pipe(windows({ sizeMs: 1000 }))
      .subscribe({ error: (e: unknown) => (caught = e) });
    assert.match(String(caught), /RangeError: watermark tUs/);
  });

  it('validates its config when the operator is built', () => {
    assert.throws(() => resolveWindowSpec({ sizeMs: 1000, slideMs: 300 }), /whole multiple of slideMs/);
    assert.throws(() => resolveWindowSpec({ sizeMs: 1000, slideMs: 2000 }), /whole multiple of slideMs/);
    assert.throws(() => resolveWindowSpec({ sizeMs: 0 }), /sizeMs/);
    assert.throws(() => resolveWindowSpec({ sizeMs: Number.NaN }), /sizeMs/);
    assert.throws(() => resolveWindowSpec({ sizeMs: 1000, allowedLatenessMs: -1 }), /allowedLatenessMs/);
    assert.throws(() => resolveWindowSpec({ sizeMs: 1000, maxEmptyWindows: 0 }), /maxEmptyWindows/);
    assert.throws(() => windows({ sizeMs: 1000, slideMs: 300 }), RangeError);
    assert.deepEqual(resolveWindowSpec({ sizeMs: 5000, slideMs: 1000, allowedLatenessMs: 0.5 }), {
      sizeUs: 5_000_000,
      slideUs: 1_000_000,
      latenessUs: 500,
      maxEmptyWindows: 100,
    });
  });
});

// ---------------------------------------------------------------------------------------------------------
// Properties: the operator against a direct model of the definitions at the top of windows.ts.

interface Item {
  readonly kind: 'item';
  readonly tUs: number;
  readonly endUs: number;
  readonly id: number;
}
type Input = Item | Watermark;

const inputsArb = fc
  .array(
    fc.oneof(
      {
        weight: 6,
        arbitrary: fc.record({
          offsetUs: fc.integer({ min: 0, max: 20_000_000 }),
          durUs: fc.integer({ min: 0, max: 400_000 }),
        }),
      },
      { weight: 1, arbitrary: fc.record({ wmOffsetUs: fc.integer({ min: 0, max: 25_000_000 }) }) },
    ),
    { maxLength: 60 },
  )
  .map((raw) => {
    let id = 0;
    return raw.map((r): Input => {
      if ('wmOffsetUs' in r) return watermark(us(0) + r.wmOffsetUs);
      const tUs = us(0) + r.offsetUs;
      return { kind: 'item', tUs, endUs: tUs + r.durUs, id: id++ };
    });
  });

const specArb = fc
  .record({
    slideMs: fc.constantFrom(100, 250, 1000),
    slidesPerWindow: fc.integer({ min: 1, max: 4 }),
    allowedLatenessMs: fc.constantFrom(0, 100, 700, 3000),
    maxEmptyWindows: fc.integer({ min: 1, max: 5 }),
  })
  .map((s) => ({ ...s, sizeMs: s.slideMs * s.slidesPerWindow }));

describe('eventTimeWindows properties', () => {
  it('counts every non-late item in exactly the open windows covering it; closes each window once, in order', () => {
    fc.assert(
      fc.property(specArb, inputsArb, (spec, inputs) => {
        const sizeUs = spec.sizeMs * 1000;
        const slideUs = spec.slideMs * 1000;
        const latenessUs = spec.allowedLatenessMs * 1000;

        // Model: per window start, the ids it must hold; and the number of late items.
        const expected = new Map<number, number[]>();
        let modelWm = -Infinity;
        let modelLate = 0;
        const closedAfter: number[] = []; // watermark after each input
        for (const input of inputs) {
          if (input.kind === 'item') {
            const lastStart = Math.floor(input.tUs / slideUs) * slideUs;
            let placed = false;
            for (let s = lastStart - sizeUs + slideUs; s <= lastStart; s += slideUs) {
              if (s + sizeUs + latenessUs > modelWm) {
                expected.set(s, [...(expected.get(s) ?? []), input.id]);
                placed = true;
              }
            }
            if (!placed) modelLate++;
          }
          modelWm = Math.max(modelWm, input.kind === 'item' ? input.endUs : input.tUs);
          closedAfter.push(modelWm);
        }

        const subject = new Subject<Input>();
        const results: WindowResult<number[]>[] = [];
        subject
          .pipe(
            eventTimeWindows<Item, number[]>({
              ...spec,
              timeOf: (i) => i.tUs,
              endTimeOf: (i) => i.endUs,
              aggregator: {
                create: () => [],
                add: (acc, i) => {
                  acc.push(i.id);
                  return acc;
                },
              },
            }),
          )
          .subscribe((r) => results.push(r));
        inputs.forEach((input, k) => {
          const before = results.length;
          subject.next(input);
          const wmNow = closedAfter[k] ?? -Infinity;
          // Everything emitted now is closed by the watermark …
          for (const r of results.slice(before)) assert.ok(r.endUs + latenessUs <= wmNow);
          // … and no window with data that the watermark closes is still waiting.
          const lastEmitted = results.at(-1)?.startUs ?? -Infinity;
          for (const s of expected.keys()) {
            if (s + sizeUs + latenessUs <= wmNow) assert.ok(s <= lastEmitted, `window ${s} overdue`);
          }
        });
        subject.complete();

        let late = 0;
        for (const [k, r] of results.entries()) {
          assert.equal(r.endUs - r.startUs, sizeUs);
          const prev = results[k - 1];
          if (prev !== undefined)
            assert.equal(r.startUs, prev.startUs + slideUs * (1 + r.skippedEmptyWindows));
          assert.deepEqual(r.summary, expected.get(r.startUs) ?? [], `window ${r.startUs}`);
          assert.equal(r.count, r.summary.length);
          late += r.lateDropped;
        }
        assert.equal(late, modelLate);
        const emittedStarts = new Set(results.map((r) => r.startUs));
        for (const s of expected.keys()) assert.ok(emittedStarts.has(s), `window ${s} never emitted`);

        if (spec.slidesPerWindow === 1) {
          const items = inputs.filter((i) => i.kind === 'item').length;
          const counted = results.reduce((n, r) => n + r.count, 0);
          assert.equal(counted + late, items, 'tumbling: counted + late == items');
        }
      }),
      { numRuns: 400 },
    );
  });

  it('never holds more than ceil((size + lateness) / slide) + 1 open windows', () => {
    fc.assert(
      fc.property(specArb, inputsArb, (spec, inputs) => {
        const grid = resolveWindowSpec(spec);
        const bound = Math.ceil((grid.sizeUs + grid.latenessUs) / grid.slideUs) + 1;
        const buffer = new WindowBuffer(grid, () => ({}));
        for (const input of inputs) {
          if (input.kind === 'item') buffer.windowsFor(input.tUs);
          buffer.advance(input.kind === 'item' ? input.endUs : input.tUs, () => {});
          assert.ok(buffer.openWindowCount <= bound, `${buffer.openWindowCount} open > ${bound}`);
        }
      }),
      { numRuns: 400 },
    );
  });
});
