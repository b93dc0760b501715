/**
 * FileSink: the Sink contract against real files in both formats (line protocol read back with the
 * test-local reader, JSONL with the exact JSON reader), plus directory creation, append-only behaviour,
 * the JSONL record format and timers on an injected (virtual-time) scheduler.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { VirtualTimeScheduler } from 'rxjs';

import { FileSink, toJsonLine } from '../../src/sinks/file-sink.ts';
import type { FieldValue, Point } from '../../src/sinks/point.ts';
import {
  assertSamePoint,
  numberedPoint,
  parseJsonExact,
  parseLine,
  runSinkContract,
  setOwn,
  splitLines,
  T0_NS,
  type ContractSinkOptions,
  type JsonValue,
} from './sink-contract.ts';

let root: string;
let dirCounter = 0;
const freshDir = (): string => path.join(root, `sink-${++dirCounter}`, 'nested');

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'drivesense-file-sink-'));
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

function jsonToPoint(line: string): Point {
  const v = parseJsonExact(line);
  assert.ok(typeof v === 'object' && v !== null && !Array.isArray(v) && typeof v !== 'bigint');
  const rec = v as { [key: string]: JsonValue };
  assert.equal(typeof rec['time'], 'string', 'time is a string of ns');
  assert.equal(typeof rec['measurement'], 'string');
  const tags: Record<string, string> = {};
  for (const [k, t] of Object.entries(rec['tags'] as { [key: string]: JsonValue })) {
    assert.equal(typeof t, 'string');
    setOwn(tags, k, t as string);
  }
  const fields: Record<string, FieldValue> = {};
  for (const [k, f] of Object.entries(rec['fields'] as { [key: string]: JsonValue })) {
    assert.ok(['number', 'bigint', 'boolean', 'string'].includes(typeof f));
    setOwn(fields, k, f as FieldValue);
  }
  return { measurement: rec['measurement'] as string, tags, fields, timeNs: BigInt(rec['time'] as string) };
}

async function readFilePoints(sink: FileSink): Promise<Point[]> {
  let text: string;
  try {
    text = await readFile(sink.filePath, 'utf8');
  } catch {
    return [];
  }
  if (sink.format === 'lp') return splitLines(text).map(parseLine);
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map(jsonToPoint);
}

for (const format of ['lp', 'jsonl'] as const) {
  runSinkContract(
    `FileSink (${format})`,
    async (opts: ContractSinkOptions) =>
      new FileSink({ dir: freshDir(), format, fileName: 'points', log: () => undefined, ...opts }),
    readFilePoints,
  );
}

describe('FileSink', () => {
  it('validates its options and does no I/O in the constructor', async () => {
    assert.throws(() => new FileSink({ fileName: 'a/b' }), /fileName/);
    assert.throws(() => new FileSink({ batchSize: 10, maxBufferPoints: 5 }), /batchSize/);
    assert.throws(() => new FileSink({ format: 'csv' as 'lp' }), /format/);
    const dir = freshDir();
    const sink = new FileSink({ dir });
    assert.equal(sink.filePath, path.join(dir, 'drivesense.lp'));
    assert.equal(new FileSink().filePath, path.join('out', 'drivesense.lp'), 'default: ./out');
    await assert.rejects(readFile(sink.filePath), /ENOENT/, 'nothing created before start()');
    await sink.close();
  });

  it('start() creates the directory, and appends to an existing file without touching it', async () => {
    const dir = freshDir();
    const first = new FileSink({ dir, format: 'lp' });
    await first.start();
    first.write([numberedPoint(0)]);
    await first.close();
    const before = await readFile(first.filePath, 'utf8');
    const second = new FileSink({ dir, format: 'lp' });
    await second.start();
    second.write([numberedPoint(1), numberedPoint(2)]);
    await second.close();
    const text = await readFile(second.filePath, 'utf8');
    assert.ok(text.startsWith(before), 'earlier content untouched');
    assert.equal(splitLines(text).length, 3);
    assert.ok(text.endsWith('\n'), 'every line complete');
  });

  it('start() fails with a clear error when the directory cannot be created', async () => {
    const file = path.join(root, `plain-file-${++dirCounter}`);
    await writeFile(file, 'x');
    const sink = new FileSink({ dir: path.join(file, 'sub'), log: () => undefined });
    await assert.rejects(sink.start(), /cannot open .* for appending: .*(ENOTDIR|EEXIST)/);
    sink.write([numberedPoint(0)]);
    await sink.close();
    assert.deepEqual(
      { written: sink.stats().written, dropped: sink.stats().dropped },
      { written: 0, dropped: 1 },
    );
  });

  it('writes JSONL records with time as a string of ns and int/float types recognisable', () => {
    const r = toJsonLine({
      measurement: 'm "x"',
      tags: { z: '2', a: 'line\n1' },
      fields: { f: 3, neg0: -0, big: 2n ** 62n + 1n, e: 1e21, ok: true, s: 'é"\\', nan: Number.NaN },
      timeNs: T0_NS,
    });
    assert.ok(r.ok);
    assert.equal(
      r.line,
      '{"time":"1768424400123456789","measurement":"m \\"x\\"","tags":{"a":"line\\n1","z":"2"},' +
        '"fields":{"f":3.0,"neg0":-0.0,"big":4611686018427387905,"e":1e+21,"ok":true,"s":"é\\"\\\\"}}',
    );
    assert.deepEqual(toJsonLine({ measurement: 'm', tags: {}, fields: { x: Number.NaN }, timeNs: 0n }), {
      ok: false,
      reason: 'no representable field',
    });
  });

  it('keeps names exactly in JSONL, even those line protocol must normalise', async () => {
    const sink = new FileSink({ dir: freshDir(), format: 'jsonl', batchIntervalMs: 10 });
    await sink.start();
    const p: Point = { measurement: '#m\\', tags: { 'k\n': 'v\\' }, fields: { 'f\\': 1.5 }, timeNs: T0_NS };
    sink.write([p]);
    await sink.close();
    const got = await readFilePoints(sink);
    assert.equal(got.length, 1);
    assertSamePoint(got[0], p, 'jsonl');
  });

  it('runs its batch timer on the injected scheduler (virtual time)', async () => {
    const scheduler = new VirtualTimeScheduler();
    const sink = new FileSink({ dir: freshDir(), batchSize: 1000, batchIntervalMs: 3_600_000, scheduler });
    await sink.start();
    sink.write([numberedPoint(0), numberedPoint(1)]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(sink.stats().written, 0, 'a partial batch waits for the interval');
    assert.equal(sink.stats().buffered, 2);
    scheduler.flush(); // one virtual hour passes at once
    for (let k = 0; k < 100 && sink.stats().written < 2; k++)
      await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(sink.stats().written, 2);
    assert.equal((await readFilePoints(sink)).length, 2);
    await sink.close();
  });
});
