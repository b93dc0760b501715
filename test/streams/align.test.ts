import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { from, groupBy, map, mergeMap } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { alignStreams } from '../../src/streams/align.ts';
import type { AlignedWindow, StreamPresence, StreamSpec, TaggedItem } from '../../src/streams/align.ts';
import { watermark } from '../../src/streams/windows.ts';
import type { Aggregator, Watermark } from '../../src/streams/windows.ts';

// Times in the tests are ms after T0, a realistic epoch (2023-11-14), so µs values are ~1.7e15.
const T0_MS = 1_700_000_000_000;
const us = (ms: number): number => (T0_MS + ms) * 1000;
const wm = (ms: number): Watermark => watermark(us(ms));

/** Collects the items (their start times in ms) in arrival order. */
const collect: Aggregator<number, number[]> = {
  create: () => [],
  add: (acc, v) => {
    acc.push(v);
    return acc;
  },
};

const ecgCan = {
  ecg: { aggregator: collect, idleMs: 2000 },
  can: { aggregator: collect, idleMs: 2000 },
} satisfies Record<string, StreamSpec<number, number[]>>;
type EcgCan = typeof ecgCan;

/** An item of `stream` covering [startMs, startMs + durMs); its payload is startMs. */
function item<K extends string>(
  stream: K,
  startMs: number,
  durMs: number,
): { stream: K; tUs: number; endUs: number; item: number } {
  return { stream, tUs: us(startMs), endUs: us(startMs + durMs), item: startMs };
}
const ecg = (startMs: number, durMs = 1000) => item('ecg', startMs, durMs);
const can = (startMs: number, durMs = 100) => item('can', startMs, durMs);

type Cell = number[] | 'idle' | 'no-data';
const cell = (c: Cell): StreamPresence<number[]> =>
  Array.isArray(c) ? { present: true, count: c.length, summary: c } : { present: false, reason: c };

/** Expected record for [startMs, endMs); `cells` in config order, emitted at watermark `wmMs`. */
function rec<K extends string>(
  startMs: number,
  endMs: number,
  cells: Record<K, Cell>,
  wmMs: number,
  extra: { idle?: NoInfer<K>[]; late?: Partial<Record<NoInfer<K>, number>>; skipped?: number } = {},
) {
  const names = Object.keys(cells) as K[];
  const late = Object.fromEntries(names.map((k) => [k, extra.late?.[k] ?? 0])) as Record<K, number>;
  return {
    startUs: us(startMs),
    endUs: us(endMs),
    streams: Object.fromEntries(names.map((k) => [k, cell(cells[k])])) as Record<K, StreamPresence<number[]>>,
    watermarkUs: us(wmMs),
    lateDropped: names.reduce((n, k) => n + late[k], 0),
    lateDroppedByStream: late,
    idleStreams: extra.idle ?? [],
    skippedEmptyWindows: extra.skipped ?? 0,
  };
}

const scheduler = (): TestScheduler =>
  new TestScheduler((actual, expected) => assert.deepStrictEqual(actual, expected));

describe('alignStreams', () => {
  it('one record per window; a stream with nothing in a window is absent, not zero', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const src = cold<TaggedItem<EcgCan> | Watermark>('abcd----|', {
        a: ecg(0),
        b: can(500),
        c: ecg(1000),
        d: can(2500), // the watermark is min(ecg 2000, can 2600)
      });
      expectObservable(src.pipe(alignStreams({ sizeMs: 1000, streams: ecgCan }))).toBe('---(xy)-(z|)', {
        x: rec(0, 1000, { ecg: [0], can: [500] }, 2000),
        y: rec(1000, 2000, { ecg: [1000], can: 'no-data' }, 2000),
        z: rec(2000, 3000, { ecg: 'no-data', can: [2500] }, 2000),
      });
    });
  });

  it('a silent stream holds the watermark for idleMs, then is excluded; when it comes back it counts again', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const src = cold<TaggedItem<EcgCan> | Watermark>('a-b-c-d-e---f-g-h-|', {
        a: ecg(0), // ECG then falls silent until 5000
        b: can(0),
        c: can(1000),
        d: can(2000), // ECG silent for 1100 ms ≤ 2000: it still holds the watermark at 1000
        e: can(3000), // silent for 2100 ms: idle, the watermark follows CAN
        f: can(4000),
        g: ecg(5000), // ECG is back and holds the watermark again (CAN at 4100)
        h: can(5000),
      });
      expectObservable(src.pipe(alignStreams({ sizeMs: 1000, streams: ecgCan }))).toBe(
        '----x---(yz)u---v-(w|)',
        {
          x: rec(0, 1000, { ecg: [0], can: [0] }, 1000),
          y: rec(1000, 2000, { ecg: 'idle', can: [1000] }, 3100, { idle: ['ecg'] }),
          z: rec(2000, 3000, { ecg: 'idle', can: [2000] }, 3100, { idle: ['ecg'] }),
          u: rec(3000, 4000, { ecg: 'idle', can: [3000] }, 4100, { idle: ['ecg'] }),
          // Emitted after ECG came back, but it lies in ECG's silence: still reported as idle.
          v: rec(4000, 5000, { ecg: 'idle', can: [4000] }, 5100),
          w: rec(5000, 6000, { ecg: [5000], can: [5000] }, 5100),
        },
      );
    });
  });

  it('a stream that has never sent holds the watermark for idleMs after the vehicle first reports', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const src = cold<TaggedItem<EcgCan> | Watermark>('abc-----|', {
        a: ecg(0),
        b: ecg(1000),
        c: ecg(2000),
      });
      expectObservable(src.pipe(alignStreams({ sizeMs: 1000, streams: ecgCan }))).toBe('--(xyz)-|', {
        x: rec(0, 1000, { ecg: [0], can: 'idle' }, 3000, { idle: ['can'] }),
        y: rec(1000, 2000, { ecg: [1000], can: 'idle' }, 3000, { idle: ['can'] }),
        z: rec(2000, 3000, { ecg: [2000], can: 'idle' }, 3000, { idle: ['can'] }),
      });
    });
  });

  it('a weather-like stream that does not hold the watermark never stalls the windows', () => {
    const streams = (holdsWatermark: boolean) => ({
      ecg: { aggregator: collect, idleMs: 2000 },
      weather: { aggregator: collect, idleMs: 120_000, holdsWatermark },
    });
    const values = {
      a: { stream: 'weather' as const, tUs: us(500), item: 500 }, // a point reading: no endUs
      b: ecg(0),
      c: ecg(1000),
      d: ecg(2000),
    };
    scheduler().run(({ cold, expectObservable }) => {
      const src = cold<TaggedItem<ReturnType<typeof streams>> | Watermark>('abcd|', values);
      expectObservable(src.pipe(alignStreams({ sizeMs: 1000, streams: streams(false) }))).toBe('-xyz|', {
        x: rec(0, 1000, { ecg: [0], weather: [500] }, 1000),
        y: rec(1000, 2000, { ecg: [1000], weather: 'no-data' }, 2000),
        z: rec(2000, 3000, { ecg: [2000], weather: 'no-data' }, 3000),
      });
    });
    // The same stream holding the watermark would keep every window open until the next reading.
    scheduler().run(({ cold, expectObservable }) => {
      const src = cold<TaggedItem<ReturnType<typeof streams>> | Watermark>('abcd|', values);
      expectObservable(src.pipe(alignStreams({ sizeMs: 1000, streams: streams(true) }))).toBe('----(xyz|)', {
        x: rec(0, 1000, { ecg: [0], weather: [500] }, 500),
        y: rec(1000, 2000, { ecg: [1000], weather: 'no-data' }, 500),
        z: rec(2000, 3000, { ecg: [2000], weather: 'no-data' }, 500),
      });
    });
  });

  it('when every holding stream is idle, the others carry the watermark', () => {
    const streams = {
      ecg: { aggregator: collect, idleMs: 2000 },
      weather: { aggregator: collect, idleMs: 120_000, holdsWatermark: false },
    };
    const weather = (ms: number) => ({ stream: 'weather' as const, tUs: us(ms), item: ms });
    scheduler().run(({ cold, expectObservable }) => {
      const src = cold<TaggedItem<typeof streams> | Watermark>('abcde---|', {
        a: weather(500),
        b: ecg(0), // ECG then dies
        c: weather(1500),
        d: weather(2500),
        e: weather(3500), // ECG silent for 2500 ms: idle; the watermark follows the vehicle's time
      });
      expectObservable(src.pipe(alignStreams({ sizeMs: 1000, streams }))).toBe('-x--(yz)(u|)', {
        x: rec(0, 1000, { ecg: [0], weather: [500] }, 1000),
        y: rec(1000, 2000, { ecg: 'idle', weather: [1500] }, 3500, { idle: ['ecg'] }),
        z: rec(2000, 3000, { ecg: 'idle', weather: [2500] }, 3500, { idle: ['ecg'] }),
        u: rec(3000, 4000, { ecg: 'idle', weather: [3500] }, 3500, { idle: ['ecg'] }),
      });
    });
  });

  it("marks absence per window: a short gap before a stream's final silence stays no-data", () => {
    scheduler().run(({ cold, expectObservable }) => {
      const src = cold<TaggedItem<EcgCan> | Watermark>('abcdefgh----|', {
        a: ecg(0),
        b: can(0),
        c: ecg(2000), // ECG skipped [1000, 2000), then stops for good at 3000
        d: can(1000),
        e: can(2000),
        f: can(3000),
        g: can(4000),
        h: can(5000), // ECG idle: [0, 1000) and [1000, 2000) close (lateness 3 s)
      });
      const idle = { idle: ['ecg'] as 'ecg'[] };
      expectObservable(
        src.pipe(alignStreams({ sizeMs: 1000, allowedLatenessMs: 3000, streams: ecgCan })),
      ).toBe('-------(xy)-(zuvw|)', {
        x: rec(0, 1000, { ecg: [0], can: [0] }, 5100, idle),
        y: rec(1000, 2000, { ecg: 'no-data', can: [1000] }, 5100, idle),
        // Completion flushes the rest.
        z: rec(2000, 3000, { ecg: [2000], can: [2000] }, 5100, idle),
        u: rec(3000, 4000, { ecg: 'idle', can: [3000] }, 5100, idle),
        v: rec(4000, 5000, { ecg: 'idle', can: [4000] }, 5100, idle),
        w: rec(5000, 6000, { ecg: 'idle', can: [5000] }, 5100, idle),
      });
    });
  });

  it('punctuation advances a silent vehicle: its streams go idle and the windows close', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const src = cold<TaggedItem<EcgCan> | Watermark>('abc-----|', { a: ecg(0), b: can(0), c: wm(4000) });
      const idle = { idle: ['ecg', 'can'] as ('ecg' | 'can')[] };
      expectObservable(src.pipe(alignStreams({ sizeMs: 1000, streams: ecgCan }))).toBe('--(wxyz)|', {
        w: rec(0, 1000, { ecg: [0], can: [0] }, 4000, idle),
        x: rec(1000, 2000, { ecg: 'idle', can: 'idle' }, 4000, idle),
        y: rec(2000, 3000, { ecg: 'idle', can: 'idle' }, 4000, idle),
        z: rec(3000, 4000, { ecg: 'idle', can: 'idle' }, 4000, idle),
      });
    });
  });

  it('punctuation is a promise: it closes windows a lagging stream still holds, and later data is late', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const src = cold<TaggedItem<EcgCan> | Watermark>('abcd|', {
        a: ecg(0),
        b: can(0), // CAN holds the watermark at 100 …
        c: wm(1500), // … until the caller vouches for 1500
        d: can(500),
      });
      expectObservable(src.pipe(alignStreams({ sizeMs: 1000, streams: ecgCan }))).toBe('--x-(y|)', {
        x: rec(0, 1000, { ecg: [0], can: [0] }, 1500),
        // Completion: no window holds data, but the late CAN batch is still reported.
        y: rec(1000, 2000, { ecg: 'no-data', can: 'no-data' }, 1500, { late: { can: 1 } }),
      });
    });
  });

  it('counts late items per stream in the next record', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const src = cold<TaggedItem<EcgCan> | Watermark>('abcdef-|', {
        a: ecg(0),
        b: can(0),
        c: can(1000), // closes [0, 1000)
        d: can(500), // late
        e: ecg(1000),
        f: can(2000),
      });
      expectObservable(src.pipe(alignStreams({ sizeMs: 1000, streams: ecgCan }))).toBe('--x--y-(z|)', {
        x: rec(0, 1000, { ecg: [0], can: [0] }, 1000),
        y: rec(1000, 2000, { ecg: [1000], can: [1000] }, 2000, { late: { can: 1 } }),
        z: rec(2000, 3000, { ecg: 'no-data', can: [2000] }, 2000),
      });
    });
  });

  it('groupBy(vehicle) + mergeMap(alignStreams) keeps vehicles independent', () => {
    const labels: Aggregator<string, string[]> = {
      create: () => [],
      add: (acc, s) => {
        acc.push(s);
        return acc;
      },
    };
    const specs = {
      ecg: { aggregator: labels, idleMs: 10_000 },
      can: { aggregator: labels, idleMs: 10_000 },
    };
    type Msg = { vehicle: 'A' | 'B'; tagged: TaggedItem<typeof specs> };
    const msg = (vehicle: 'A' | 'B', stream: 'ecg' | 'can', startMs: number, durMs: number): Msg => ({
      vehicle,
      tagged: { stream, tUs: us(startMs), endUs: us(startMs + durMs), item: `${vehicle}${startMs}` },
    });
    const present = (...labelsIn: string[]) => ({
      present: true as const,
      count: labelsIn.length,
      summary: labelsIn,
    });
    const noData = { present: false as const, reason: 'no-data' as const };
    const out = (
      vehicle: 'A' | 'B',
      startMs: number,
      e: StreamPresence<string[]>,
      c: StreamPresence<string[]>,
      wmMs: number,
    ) => ({
      vehicle,
      startUs: us(startMs),
      endUs: us(startMs + 1000),
      streams: { ecg: e, can: c },
      watermarkUs: us(wmMs),
      lateDropped: 0,
      lateDroppedByStream: { ecg: 0, can: 0 },
      idleStreams: [],
      skippedEmptyWindows: 0,
    });

    scheduler().run(({ cold, expectObservable }) => {
      const src = cold<Msg>('abcdefghi|', {
        a: msg('A', 'ecg', 0, 1000),
        b: msg('A', 'can', 0, 100),
        c: msg('B', 'ecg', 0, 1000),
        d: msg('B', 'can', 0, 100),
        e: msg('A', 'can', 1000, 100),
        f: msg('B', 'can', 1000, 100),
        g: msg('B', 'ecg', 1000, 1000),
        h: msg('B', 'can', 2000, 100),
        i: msg('A', 'can', 2000, 100), // A's ECG stopped at 1000: A waits, B does not
      });
      const aligned = src.pipe(
        groupBy((m) => m.vehicle),
        mergeMap((vehicle$) =>
          vehicle$.pipe(
            map((m) => m.tagged),
            alignStreams({ sizeMs: 1000, streams: specs }),
            map((record: AlignedWindow<typeof specs>) => ({ vehicle: vehicle$.key, ...record })),
          ),
        ),
      );
      expectObservable(aligned).toBe('----xy-z-(uvw|)', {
        x: out('A', 0, present('A0'), present('A0'), 1000),
        y: out('B', 0, present('B0'), present('B0'), 1000),
        z: out('B', 1000, present('B1000'), present('B1000'), 2000),
        u: out('A', 1000, noData, present('A1000'), 1000),
        v: out('A', 2000, noData, present('A2000'), 1000),
        w: out('B', 2000, noData, present('B2000'), 2000),
      });
    });
  });

  it('forwards source errors and errors on an unknown stream tag', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const src = cold<TaggedItem<EcgCan> | Watermark>(
        'ab-#',
        { a: ecg(0), b: can(1000) },
        new Error('decoder died'),
      );
      expectObservable(src.pipe(alignStreams({ sizeMs: 1000, streams: ecgCan }))).toBe(
        '-x-#',
        { x: rec(0, 1000, { ecg: [0], can: 'no-data' }, 1000) },
        new Error('decoder died'),
      );
      expectSubscriptions(src.subscriptions).toBe('^--!');
    });
    let caught: unknown;
    from([{ stream: 'gps', tUs: us(0), item: 1 } as unknown as TaggedItem<EcgCan>])
      .pipe(alignStreams({ sizeMs: 1000, streams: ecgCan }))
      .subscribe({ error: (e: unknown) => (caught = e) });
    assert.match(String(caught), /RangeError: unknown stream 'gps'/);
  });

  it('validates its config when built', () => {
    assert.throws(() => alignStreams({ sizeMs: 1000, streams: {} }), /at least one stream/);
    assert.throws(
      () => alignStreams({ sizeMs: 1000, streams: { ecg: { aggregator: collect, idleMs: 0 } } }),
      /idleMs/,
    );
    assert.throws(() => alignStreams({ sizeMs: 1000, slideMs: 400, streams: ecgCan }), /whole multiple/);
  });

  it('types each item by its stream', () => {
    const ok: TaggedItem<EcgCan> = { stream: 'ecg', tUs: 0, item: 1 };
    // @ts-expect-error: an ECG item must be what the ECG aggregator takes
    const bad: TaggedItem<EcgCan> = { stream: 'ecg', tUs: 0, item: 'one' };
    // @ts-expect-error: no such stream
    const unknown: TaggedItem<EcgCan> = { stream: 'gps', tUs: 0, item: 1 };
    assert.ok(ok && bad && unknown);
  });
});

describe('alignStreams properties', () => {
  it('tumbling: every item is counted once, in its window or as late, per stream; windows contiguous, in order', () => {
    const names = ['ecg', 'can', 'weather'] as const;
    const inputArb = fc.oneof(
      {
        weight: 8,
        arbitrary: fc.record({
          stream: fc.constantFrom(...names),
          offsetMs: fc.integer({ min: 0, max: 20_000 }),
          durMs: fc.integer({ min: 0, max: 300 }),
        }),
      },
      { weight: 1, arbitrary: fc.record({ wmMs: fc.integer({ min: 0, max: 25_000 }) }) },
    );
    const configArb = fc.record({
      sizeMs: fc.constantFrom(250, 1000),
      allowedLatenessMs: fc.constantFrom(0, 500),
      idleMs: fc.tuple(
        fc.integer({ min: 1, max: 5000 }),
        fc.integer({ min: 1, max: 5000 }),
        fc.integer({ min: 1, max: 60_000 }),
      ),
      weatherHolds: fc.boolean(),
    });
    fc.assert(
      fc.property(configArb, fc.array(inputArb, { maxLength: 80 }), (config, raw) => {
        const streams = {
          ecg: { aggregator: collect, idleMs: config.idleMs[0] },
          can: { aggregator: collect, idleMs: config.idleMs[1] },
          weather: { aggregator: collect, idleMs: config.idleMs[2], holdsWatermark: config.weatherHolds },
        };
        const inputs = raw.map((r): TaggedItem<typeof streams> | Watermark =>
          'wmMs' in r ? wm(r.wmMs) : item(r.stream, r.offsetMs, r.durMs),
        );
        const records: AlignedWindow<typeof streams>[] = [];
        from(inputs)
          .pipe(alignStreams({ sizeMs: config.sizeMs, allowedLatenessMs: config.allowedLatenessMs, streams }))
          .subscribe((r) => records.push(r));

        const sizeUs = config.sizeMs * 1000;
        for (const [k, r] of records.entries()) {
          const prev = records[k - 1];
          if (prev !== undefined) {
            assert.equal(r.startUs, prev.endUs + sizeUs * r.skippedEmptyWindows);
            assert.ok(r.watermarkUs >= prev.watermarkUs);
          }
          assert.deepEqual(Object.keys(r.streams), [...names]);
          for (const name of names) {
            const s = r.streams[name];
            if (s.present) {
              assert.equal(s.count, s.summary.length);
              for (const v of s.summary)
                assert.ok(us(v) >= r.startUs && us(v) < r.endUs, 'item in its window');
            }
          }
        }
        for (const name of names) {
          const sent = raw.filter((x) => 'stream' in x && x.stream === name).length;
          const counted = records.reduce((n, r) => {
            const s = r.streams[name];
            return n + (s.present ? s.count : 0);
          }, 0);
          const late = records.reduce((n, r) => n + r.lateDroppedByStream[name], 0);
          assert.equal(counted + late, sent, `${name}: counted ${counted} + late ${late} != sent ${sent}`);
        }
      }),
      { numRuns: 300 },
    );
  });
});
