/**
 * The contract every Sink implementation passes (DESIGN.md, "Contract tests"), plus the small readers the
 * sink tests share: an exact JSON reader (integers as bigint) and a line-protocol reader, both test-local.
 *
 * Usage, in a *.test.ts file:
 *
 *     runSinkContract('InfluxSink', (opts) => makeSink(opts), (sink) => readEverything(sink));
 *
 * `makeSink` returns a new, NOT started sink writing to its own empty target (database, directory) with
 * the given options; `readBack` returns every point that target holds. The suite starts and closes the
 * sinks itself. Time: the suite uses real timers (it drives real backends) and waits at most a few
 * seconds for a backend to show what it was sent.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { FieldValue, Point } from '../../src/sinks/point.ts';
import type { Sink, SinkStats } from '../../src/sinks/sink.ts';

export interface ContractSinkOptions {
  readonly batchSize: number;
  readonly batchIntervalMs: number;
  readonly maxBufferPoints: number;
}

export type MakeSink<S extends Sink> = (opts: ContractSinkOptions) => Promise<S>;
export type ReadBack<S extends Sink> = (sink: S) => Promise<readonly Point[]>;

// ---------------------------------------------------------------------------------------------------
// Exact JSON: integer literals become bigint (except -0, a float), other numbers stay numbers.

export type JsonValue =
  null | boolean | number | bigint | string | JsonValue[] | { [key: string]: JsonValue };

export function parseJsonExact(text: string): JsonValue {
  let i = 0;
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i] as string)) i++;
  };
  const fail = (what: string): never => {
    throw new SyntaxError(`JSON: ${what} at ${i}: ${text.slice(i, i + 20)}`);
  };
  const value = (): JsonValue => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const obj: { [key: string]: JsonValue } = {};
      ws();
      if (text[i] === '}') {
        i++;
        return obj;
      }
      for (;;) {
        ws();
        const key = value();
        if (typeof key !== 'string') fail('object key');
        ws();
        if (text[i] !== ':') fail('colon');
        i++;
        obj[key as string] = value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return obj;
        }
        fail('object');
      }
    }
    if (c === '[') {
      i++;
      const arr: JsonValue[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(value());
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return arr;
        }
        fail('array');
      }
    }
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (j >= text.length) fail('string');
      const s = JSON.parse(text.slice(i, j + 1)) as string; // JSON.parse checks escapes and control characters
      i = j + 1;
      return s;
    }
    const lit = /^(?:true|false|null)/.exec(text.slice(i, i + 5));
    if (lit !== null) {
      i += lit[0].length;
      return lit[0] === 'null' ? null : lit[0] === 'true';
    }
    const num = /^-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (num === null) return fail('value');
    i += num[0].length;
    if (num[1] === undefined && num[2] === undefined && num[0] !== '-0') return BigInt(num[0]);
    return Number(num[0]);
  };
  const result = value();
  ws();
  if (i !== text.length) fail('trailing text');
  return result;
}

// ---------------------------------------------------------------------------------------------------
// Line protocol reader (InfluxDB 1.x grammar as the server parses it; test-local on purpose).

const KEY_ESCAPES = new Set([',', ' ', '=']);

/** Sets an own enumerable property, even for keys like `__proto__` that plain assignment would not. */
export function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Reads an identifier up to one of `stops`, unescaping `\,`, `\ `, `\=`; other backslashes are literal. */
function readIdentifier(line: string, start: number, stops: string): [string, number] {
  let out = '';
  let i = start;
  while (i < line.length) {
    const c = line[i] as string;
    if (c === '\\' && i + 1 < line.length && KEY_ESCAPES.has(line[i + 1] as string)) {
      out += line[i + 1];
      i += 2;
      continue;
    }
    if (stops.includes(c)) break;
    if (c === '\n') throw new Error(`raw newline in identifier at ${i}`);
    out += c;
    i++;
  }
  return [out, i];
}

export function parseLine(line: string): Point {
  const [measurement, afterMeasurement] = readIdentifier(line, 0, ', ');
  let i = afterMeasurement;
  if (measurement === '') throw new Error('empty measurement');
  const tags: Record<string, string> = {};
  while (line[i] === ',') {
    let key: string;
    let value: string;
    [key, i] = readIdentifier(line, i + 1, ',= ');
    if (line[i] !== '=') throw new Error(`tag without '=' at ${i}`);
    [value, i] = readIdentifier(line, i + 1, ', ');
    if (key === '' || value === '') throw new Error('empty tag key or value');
    if (Object.hasOwn(tags, key)) throw new Error(`duplicate tag ${key}`);
    setOwn(tags, key, value);
  }
  if (line[i] !== ' ') throw new Error(`expected space before fields at ${i}`);
  const fields: Record<string, FieldValue> = {};
  do {
    let key: string;
    [key, i] = readIdentifier(line, i + 1, ',= ');
    if (line[i] !== '=' || key === '') throw new Error(`field without key or '=' at ${i}`);
    i++;
    let value: FieldValue;
    if (line[i] === '"') {
      let s = '';
      i++;
      for (;;) {
        const c = line[i];
        if (c === undefined) throw new Error('unterminated string');
        if (c === '\\' && (line[i + 1] === '"' || line[i + 1] === '\\')) {
          s += line[i + 1];
          i += 2;
          continue;
        }
        if (c === '"') break;
        s += c;
        i++;
      }
      i++;
      value = s;
    } else {
      const m = /^[^, ]+/.exec(line.slice(i));
      const raw = m?.[0] ?? '';
      i += raw.length;
      if (/^(t|T|true|True|TRUE)$/.test(raw)) value = true;
      else if (/^(f|F|false|False|FALSE)$/.test(raw)) value = false;
      else if (/^-?\d+i$/.test(raw)) value = BigInt(raw.slice(0, -1));
      else if (/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(raw)) value = Number(raw);
      else throw new Error(`bad field value ${JSON.stringify(raw)}`);
    }
    if (Object.hasOwn(fields, key)) throw new Error(`duplicate field ${key}`);
    setOwn(fields, key, value);
  } while (line[i] === ',');
  if (line[i] !== ' ') throw new Error(`expected space before timestamp at ${i}`);
  const ts = line.slice(i + 1);
  if (!/^-?\d+$/.test(ts)) throw new Error(`bad timestamp ${JSON.stringify(ts)}`);
  return { measurement, tags, fields, timeNs: BigInt(ts) };
}

/**
 * Splits a line-protocol document into lines as InfluxDB 1.x does (its scanLine): a backslash skips the
 * next character; after the first unescaped space, a `"` opens or closes a string only in value position
 * (more `=` than `,` seen outside strings), and a newline inside a string belongs to the value.
 */
export function splitLines(text: string): string[] {
  const lines: string[] = [];
  let start = 0;
  let fields = false;
  let quoted = false;
  let equals = 0;
  let commas = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (c === ' ') fields = true;
    if (fields) {
      if (!quoted && c === '=') equals++;
      else if (!quoted && c === ',') commas++;
      else if (c === '"' && equals > commas) quoted = !quoted;
    }
    if (c === '\n' && !quoted) {
      lines.push(text.slice(start, i));
      start = i + 1;
      fields = false;
      equals = 0;
      commas = 0;
    }
  }
  if (start < text.length) lines.push(text.slice(start));
  return lines;
}

// ---------------------------------------------------------------------------------------------------
// Comparison helpers

/** Same value, allowing a backend that does not keep the int/float distinction in its read path. */
export function sameFieldValue(expected: FieldValue, actual: FieldValue | undefined): boolean {
  if (typeof expected === 'number') {
    if (typeof actual === 'number') return Object.is(expected, actual);
    if (typeof actual === 'bigint')
      return Number.isInteger(expected) && !Object.is(expected, -0) && BigInt(expected) === actual;
    return false;
  }
  if (typeof expected === 'bigint') {
    if (typeof actual === 'bigint') return expected === actual;
    return typeof actual === 'number' && Number.isInteger(actual) && BigInt(actual) === expected;
  }
  return expected === actual;
}

function show(v: unknown): string {
  return typeof v === 'bigint' ? `${v}n` : JSON.stringify(v);
}

export function assertSamePoint(actual: Point | undefined, expected: Point, context = ''): void {
  assert.ok(actual !== undefined, `${context}: point at ${expected.timeNs} missing`);
  assert.equal(actual.timeNs, expected.timeNs, `${context}: time`);
  assert.equal(actual.measurement, expected.measurement, `${context}: measurement`);
  assert.deepEqual({ ...actual.tags }, { ...expected.tags }, `${context}: tags`);
  assert.deepEqual(
    Object.keys(actual.fields).sort(),
    Object.keys(expected.fields).sort(),
    `${context}: field keys`,
  );
  for (const [key, value] of Object.entries(expected.fields)) {
    assert.ok(
      sameFieldValue(value, actual.fields[key]),
      `${context}: field ${key}: expected ${show(value)}, got ${show(actual.fields[key])}`,
    );
  }
}

function byTime(a: Point, b: Point): number {
  return a.timeNs < b.timeNs ? -1 : a.timeNs > b.timeNs ? 1 : 0;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `readBack` until it returns `count` points (or the time is up) and returns the last answer. */
export async function readUntil<S extends Sink>(
  readBack: ReadBack<S>,
  sink: S,
  count: number,
  timeoutMs = 5000,
): Promise<readonly Point[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const points = await readBack(sink);
    if (points.length >= count || Date.now() > deadline) return points;
    await sleep(50);
  }
}

/** Checks `written + dropped + buffered = accepted` and that the counters never went down. */
export class StatsWatcher {
  private last: SinkStats | undefined;
  accepted = 0;

  constructor(
    private readonly sink: Sink,
    private readonly maxBufferPoints: number,
  ) {}

  write(points: readonly Point[]): void {
    this.sink.write(points);
    this.accepted += points.length;
    this.check();
  }

  check(): SinkStats {
    const s = this.sink.stats();
    assert.equal(
      s.written + s.dropped + s.buffered,
      this.accepted,
      `accounting: ${JSON.stringify(s)} vs ${this.accepted} accepted`,
    );
    assert.ok(
      s.buffered >= 0 && s.buffered <= this.maxBufferPoints,
      `buffered ${s.buffered} within 0..${this.maxBufferPoints}`,
    );
    if (this.last !== undefined) {
      assert.ok(s.written >= this.last.written, 'written never decreases');
      assert.ok(s.dropped >= this.last.dropped, 'dropped never decreases');
      assert.ok(s.failedWrites >= this.last.failedWrites, 'failedWrites never decreases');
    }
    this.last = s;
    return s;
  }
}

// ---------------------------------------------------------------------------------------------------
// Fixtures

/** 2026-01-14T21:00:00.123456789Z in ns: beyond 2^53, with every ns digit significant. */
export const T0_NS = 1_768_424_400_123_456_789n;

/** Point i of a numbered series: distinct time, every field type, `i` as an integer field. */
export function numberedPoint(i: number, measurement = 'contract'): Point {
  return {
    measurement,
    tags: { vehicle: `v${i % 3}`, stream: 'ecg' },
    fields: {
      i: BigInt(i),
      f: (i * Math.PI) / 7 - 1000,
      n: BigInt(i) * 3_000_000_000_007n - 2n ** 62n,
      b: i % 2 === 0,
      s: `s${i}`,
    },
    timeNs: T0_NS + BigInt(i) * 1_000_003n,
  };
}

/** Floats and integers at the edges of what the formats can carry. */
export const EDGE_POINTS: readonly Point[] = [
  { measurement: 'edge', tags: { k: 'a' }, fields: { x: -0 }, timeNs: T0_NS + 1n },
  { measurement: 'edge', tags: { k: 'a' }, fields: { x: 5e-324 }, timeNs: T0_NS + 2n },
  { measurement: 'edge', tags: { k: 'a' }, fields: { x: 1.7976931348623157e308 }, timeNs: T0_NS + 3n },
  { measurement: 'edge', tags: { k: 'a' }, fields: { x: 0.1 + 0.2 }, timeNs: T0_NS + 4n },
  { measurement: 'edge', tags: { k: 'a' }, fields: { x: 2 ** 53 + 2 }, timeNs: T0_NS + 5n },
  { measurement: 'edge', tags: { k: 'a' }, fields: { x: -1e-300 }, timeNs: T0_NS + 6n },
  { measurement: 'edge', tags: { k: 'b' }, fields: { y: 2n ** 63n - 1n }, timeNs: T0_NS + 7n },
  { measurement: 'edge', tags: { k: 'b' }, fields: { y: -(2n ** 63n) }, timeNs: T0_NS + 8n },
  { measurement: 'edge', tags: { k: 'b' }, fields: { y: 0n }, timeNs: T0_NS + 9n },
  // Before 1970 and just one ns apart.
  { measurement: 'edge', tags: { k: 'c' }, fields: { z: 1.5 }, timeNs: -1_000_000_000_000_000_001n },
  { measurement: 'edge', tags: { k: 'c' }, fields: { z: 2.5 }, timeNs: -1_000_000_000_000_000_000n },
];

/** Names and values that need escaping and that both formats carry exactly. */
export const AWKWARD_POINTS: readonly Point[] = [
  {
    measurement: 'wei rd,meas=ure"\'#',
    tags: {
      'tag key': 'value with spaces',
      'k,=': 'v,=',
      unicode: 'é 漢字 🚗',
      tab: 'a\tb',
      bs: 'C:\\dir\\file',
    },
    fields: {
      'field key, =': 1.25,
      quote: 'say "hi"',
      backslash: 'ends with \\',
      newline: 'line 1\nline 2\r\n',
      literal: 'a \\n is not a newline',
      empty: '',
      emoji: '🚗💨',
      '#hash': true,
    },
    timeNs: T0_NS + 11n,
  },
  { measurement: ' leading space', tags: { ' k': ' v' }, fields: { ' f': -3n }, timeNs: T0_NS + 12n },
  { measurement: 'trailing space ', tags: { 'k ': 'v ' }, fields: { 'f ': false }, timeNs: T0_NS + 13n },
  { measurement: '=equals', tags: { '=k': '=v' }, fields: { '=f': 'x=y' }, timeNs: T0_NS + 14n },
];

// ---------------------------------------------------------------------------------------------------
// The suite

export function runSinkContract<S extends Sink>(
  name: string,
  makeSink: MakeSink<S>,
  readBack: ReadBack<S>,
): void {
  const started = async (opts: ContractSinkOptions): Promise<S> => {
    const sink = await makeSink(opts);
    await sink.start();
    return sink;
  };

  describe(`Sink contract: ${name}`, () => {
    it('writes, flushes and reads back every point exactly (ns timestamps, every field type)', async () => {
      const opts = { batchSize: 256, batchIntervalMs: 50, maxBufferPoints: 10_000 };
      const sink = await started(opts);
      try {
        const watcher = new StatsWatcher(sink, opts.maxBufferPoints);
        const expected = [...Array.from({ length: 2000 }, (_, i) => numberedPoint(i)), ...EDGE_POINTS];
        for (let k = 0; k < expected.length; k += 100) watcher.write(expected.slice(k, k + 100));
        await sink.flush();
        const s = watcher.check();
        assert.equal(s.buffered, 0);
        assert.equal(s.dropped, 0);
        assert.equal(s.written, expected.length);
        const got = [...(await readBack(sink))].sort(byTime);
        const want = [...expected].sort(byTime);
        assert.equal(got.length, want.length, 'point count');
        want.forEach((p, k) => assertSamePoint(got[k], p, `point ${k}`));
      } finally {
        await sink.close();
      }
    });

    it('escapes awkward measurement, tag and field names and values', async () => {
      const sink = await started({ batchSize: 100, batchIntervalMs: 50, maxBufferPoints: 1000 });
      try {
        sink.write(AWKWARD_POINTS);
        await sink.flush();
        assert.equal(sink.stats().written, AWKWARD_POINTS.length, JSON.stringify(sink.stats()));
        const got = [...(await readBack(sink))].sort(byTime);
        assert.equal(got.length, AWKWARD_POINTS.length);
        AWKWARD_POINTS.forEach((p, k) => assertSamePoint(got[k], p, `awkward ${k}`));
      } finally {
        await sink.close();
      }
    });

    it('keeps its counters monotonic and written + dropped + buffered equal to what was written', async () => {
      const opts = { batchSize: 50, batchIntervalMs: 20, maxBufferPoints: 400 };
      const sink = await started(opts);
      try {
        const watcher = new StatsWatcher(sink, opts.maxBufferPoints);
        let i = 0;
        for (let round = 0; round < 60; round++) {
          const chunk = Array.from({ length: 37 }, () => numberedPoint(i++));
          // One point the sink cannot write: counted in dropped, never thrown.
          chunk.push({ measurement: 'bad', tags: {}, fields: { x: Number.NaN }, timeNs: T0_NS });
          watcher.write(chunk);
          if (round % 5 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
          watcher.check();
        }
        await sink.flush();
        const s = watcher.check();
        assert.equal(s.buffered, 0);
        assert.ok(s.dropped >= 60, 'the 60 unwritable points are counted as dropped');
        assert.equal(
          (await readBack(sink)).length,
          s.written,
          'the backend holds exactly what was counted written',
        );
      } finally {
        await sink.close();
      }
    });

    it('sends a partial batch after batchIntervalMs without flush()', async () => {
      const sink = await started({ batchSize: 1000, batchIntervalMs: 100, maxBufferPoints: 5000 });
      try {
        sink.write([numberedPoint(0), numberedPoint(1), numberedPoint(2)]);
        const got = await readUntil(readBack, sink, 3, 5000);
        assert.equal(got.length, 3);
        // The backend may show the points a moment before the sink has handled its acknowledgement.
        const deadline = Date.now() + 5000;
        while (sink.stats().written < 3 && Date.now() < deadline) await sleep(10);
        assert.equal(sink.stats().written, 3);
      } finally {
        await sink.close();
      }
    });

    it('drops points it cannot represent, omits non-finite fields, and counts both', async () => {
      const sink = await started({ batchSize: 100, batchIntervalMs: 50, maxBufferPoints: 1000 });
      try {
        sink.write([
          { measurement: 'nf', tags: {}, fields: { x: 1 }, timeNs: T0_NS },
          { measurement: 'nf', tags: {}, fields: { x: Number.NaN }, timeNs: T0_NS + 1n },
          { measurement: 'nf', tags: {}, fields: {}, timeNs: T0_NS + 2n },
          { measurement: 'nf', tags: {}, fields: { x: Number.POSITIVE_INFINITY, y: 2 }, timeNs: T0_NS + 3n },
        ]);
        await sink.flush();
        const s = sink.stats();
        assert.equal(s.written, 2);
        assert.equal(s.dropped, 2);
        const got = [...(await readBack(sink))].sort(byTime);
        assert.equal(got.length, 2);
        assertSamePoint(
          got[1],
          { measurement: 'nf', tags: {}, fields: { y: 2 }, timeNs: T0_NS + 3n },
          'omitted field',
        );
      } finally {
        await sink.close();
      }
    });

    it('close() flushes what is buffered', async () => {
      // A long batch interval: only full batches go out by themselves; close() must send the rest.
      const sink = await started({ batchSize: 100, batchIntervalMs: 60_000, maxBufferPoints: 5000 });
      const points = Array.from({ length: 777 }, (_, i) => numberedPoint(i));
      sink.write(points);
      await sink.close();
      const s = sink.stats();
      assert.equal(s.written, 777);
      assert.equal(s.buffered, 0);
      assert.equal(s.dropped, 0);
      assert.equal((await readBack(sink)).length, 777);
    });

    it('counts a write after close() as dropped instead of throwing', async () => {
      const sink = await started({ batchSize: 10, batchIntervalMs: 50, maxBufferPoints: 100 });
      sink.write([numberedPoint(0)]);
      await sink.close();
      const before = sink.stats();
      assert.doesNotThrow(() => sink.write([numberedPoint(1), numberedPoint(2), numberedPoint(3)]));
      const after = sink.stats();
      assert.equal(after.dropped, before.dropped + 3);
      assert.equal(after.written, before.written);
      assert.equal(after.buffered, 0);
      await sink.flush(); // resolves: nothing is pending
      await sink.close(); // idempotent
      assert.equal((await readBack(sink)).length, 1);
    });

    it('bounds its buffer: drops the oldest points beyond maxBufferPoints and counts them', async () => {
      const opts = { batchSize: 10, batchIntervalMs: 50, maxBufferPoints: 100 };
      const sink = await makeSink(opts);
      try {
        // Before start() nothing can be delivered, so the buffer must hold the newest 100 of 250.
        const watcher = new StatsWatcher(sink, opts.maxBufferPoints);
        for (let k = 0; k < 250; k += 25) {
          watcher.write(Array.from({ length: 25 }, (_, j) => numberedPoint(k + j)));
        }
        let s = watcher.check();
        assert.equal(s.buffered, 100);
        assert.equal(s.dropped, 150);
        assert.equal(s.written, 0);
        await sink.start();
        await sink.flush();
        s = watcher.check();
        assert.equal(s.written, 100);
        assert.equal(s.dropped, 150);
        const got = [...(await readBack(sink))].sort(byTime);
        assert.deepEqual(
          got.map((p) => p.fields['i']),
          Array.from({ length: 100 }, (_, j) => BigInt(150 + j)),
          'the newest 100 survive, in order',
        );
      } finally {
        await sink.close();
      }
    });
  });
}
