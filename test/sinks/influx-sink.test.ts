/**
 * InfluxSink against a real influxd 1.6 (started by test/harness/services.ts on free loopback ports, with
 * its own temp dir): the Sink contract, escaping proven by reading back from the server, database and
 * retention-policy creation, refusals counted with their reason, and real outages (influxd stopped, its
 * port refusing connections, then restarted on the same port and data).
 *
 * Integration test (it imports the service harness): `scripts/test.sh --unit` skips it.
 * Time: real time throughout; the 30 s outage scenario makes this file take about a minute.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import fc from 'fast-check';

import {
  InfluxSink,
  durationNs,
  refusalReason,
  type InfluxSinkOptions,
} from '../../src/sinks/influx-sink.ts';
import { normalizeIdentifier } from '../../src/sinks/line-protocol.ts';
import type { FieldValue, Point } from '../../src/sinks/point.ts';
import { canConnect, startInfluxd, type InfluxService } from '../harness/services.ts';
import {
  assertSamePoint,
  numberedPoint,
  parseJsonExact,
  runSinkContract,
  T0_NS,
  type ContractSinkOptions,
  type JsonValue,
} from './sink-contract.ts';

// ---------------------------------------------------------------------------------------------------
// Reading InfluxDB back over plain HTTP (independent of the sink), with exact ns and int64 values.

interface Series {
  readonly name: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly columns: readonly string[];
  readonly values: readonly (readonly JsonValue[])[];
}

function asObject(v: JsonValue | undefined, what: string): { [key: string]: JsonValue } {
  assert.ok(
    typeof v === 'object' && v !== null && !Array.isArray(v) && typeof v !== 'bigint',
    `${what} is an object`,
  );
  return v as { [key: string]: JsonValue };
}

function asArray(v: JsonValue | undefined, what: string): JsonValue[] {
  assert.ok(Array.isArray(v), `${what} is an array`);
  return v;
}

/** Runs one InfluxQL statement (epoch=ns) and returns its series; throws on any error. */
async function influxQuery(url: string, q: string, db?: string): Promise<Series[]> {
  const params = new URLSearchParams({ q, epoch: 'ns' });
  if (db !== undefined) params.set('db', db);
  const res = await fetch(`${url}/query?${params.toString()}`, { method: 'POST' });
  const text = await res.text();
  assert.equal(res.status, 200, `query ${q}: HTTP ${res.status} ${text}`);
  const body = asObject(parseJsonExact(text), 'query response');
  const result = asObject(asArray(body['results'], 'results')[0], 'result');
  if (typeof result['error'] === 'string') throw new Error(`query ${q}: ${result['error']}`);
  return (result['series'] === undefined ? [] : asArray(result['series'], 'series')).map((raw) => {
    const s = asObject(raw, 'series');
    const tags: Record<string, string> = {};
    if (s['tags'] !== undefined) {
      for (const [k, v] of Object.entries(asObject(s['tags'], 'tags'))) {
        if (typeof v === 'string') tags[k] = v;
      }
    }
    return {
      name: typeof s['name'] === 'string' ? s['name'] : '',
      tags,
      columns: asArray(s['columns'], 'columns').map(String),
      values: asArray(s['values'] ?? [], 'values').map((row) => asArray(row, 'row')),
    };
  });
}

/** Every point of a database (and retention policy), as the server stores it. */
async function readAllPoints(url: string, database: string, rp?: string): Promise<Point[]> {
  const from = rp === undefined ? '/.*/' : `"${database}"."${rp}"./.*/`;
  const series = await influxQuery(url, `SELECT * FROM ${from} GROUP BY *`, database);
  const points: Point[] = [];
  for (const s of series) {
    const tags: Record<string, string> = {};
    for (const [k, v] of Object.entries(s.tags)) if (v !== '') tags[k] = v; // GROUP BY * lists absent tags as ""
    for (const row of s.values) {
      const time = row[0];
      assert.equal(typeof time, 'bigint', 'epoch=ns time read exactly');
      const fields: Record<string, FieldValue> = {};
      s.columns.forEach((col, c) => {
        const v = row[c];
        if (c === 0 || v === null || v === undefined) return;
        assert.ok(['number', 'bigint', 'boolean', 'string'].includes(typeof v), `field ${col}`);
        fields[col] = v as FieldValue;
      });
      points.push({ measurement: s.name, tags, fields, timeNs: time as bigint });
    }
  }
  return points;
}

async function countWhere(url: string, database: string, q: string): Promise<bigint> {
  const series = await influxQuery(url, q, database);
  const v = series[0]?.values[0]?.[1];
  if (v === undefined || v === null) return 0n;
  assert.equal(typeof v, 'bigint', `count is an integer (${String(v)})`);
  return v as bigint;
}

/** HTTP write requests the server has handled so far (its own /debug/vars counter). */
async function serverWriteRequests(url: string): Promise<number> {
  const vars = asObject(parseJsonExact(await (await fetch(`${url}/debug/vars`)).text()), 'vars');
  const key = Object.keys(vars).find((k) => k.startsWith('httpd'));
  const httpd = asObject(key === undefined ? undefined : vars[key], 'httpd');
  const v = asObject(httpd['values'], 'httpd values')['writeReq'];
  return Number(v ?? 0n);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Rejects if `p` does not settle within `ms` (so a hang fails the test with a message). */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

let dbCounter = 0;
const uniqueDb = (prefix: string): string => `${prefix}_${process.pid}_${++dbCounter}`;

function sinkFor(service: InfluxService, overrides: Partial<InfluxSinkOptions>): InfluxSink {
  return new InfluxSink({
    url: service.url,
    database: uniqueDb('t'),
    retry: { initialMs: 50, maxMs: 1000 },
    startTimeoutMs: 10_000,
    closeTimeoutMs: 10_000,
    requestTimeoutMs: 5000,
    log: () => undefined,
    ...overrides,
  });
}

// ---------------------------------------------------------------------------------------------------

let influx: InfluxService;

before(async () => {
  influx = await startInfluxd();
});

after(async () => {
  await influx?.close();
});

runSinkContract(
  'InfluxSink (real influxd 1.6)',
  async (opts: ContractSinkOptions) => sinkFor(influx, { ...opts, database: uniqueDb('contract') }),
  (sink) => readAllPoints(influx.url, sink.database, sink.retentionPolicyName),
);

describe('InfluxSink against a real influxd', () => {
  it('validates its options and does no I/O in the constructor', () => {
    assert.throws(() => new InfluxSink({ database: 'x' } as InfluxSinkOptions), /url/);
    assert.throws(() => new InfluxSink({ url: 'ftp://x', database: 'x' }), /url/);
    assert.throws(
      () => new InfluxSink({ url: influx.url, database: 'x', batchSize: 10, maxBufferPoints: 5 }),
      /batchSize/,
    );
    assert.throws(
      () =>
        new InfluxSink({
          url: influx.url,
          database: 'x',
          retentionPolicy: { name: 'r', duration: '7 days', replication: 1, default: false },
        }),
      /duration/,
    );
    // Port 1 has no server: constructing must still succeed, since nothing is contacted yet.
    const sink = new InfluxSink({ url: 'http://127.0.0.1:1', database: 'x' });
    assert.equal(sink.stats().written, 0);
    void sink.close();
  });

  it('sends one HTTP request per batch', async () => {
    const sink = sinkFor(influx, { batchSize: 250, batchIntervalMs: 60_000 });
    await sink.start();
    try {
      const before = await serverWriteRequests(influx.url);
      sink.write(Array.from({ length: 1000 }, (_, i) => numberedPoint(i)));
      await sink.flush();
      assert.equal(sink.stats().written, 1000);
      assert.equal((await serverWriteRequests(influx.url)) - before, 4, '1000 points in batches of 250');
    } finally {
      await sink.close();
    }
  });

  it('reports each acknowledged batch to onAck with the very points written', async () => {
    const acked: (readonly Point[])[] = [];
    const sink = sinkFor(influx, {
      batchSize: 100,
      batchIntervalMs: 60_000,
      onAck: (points) => acked.push(points),
    });
    await sink.start();
    try {
      const points = Array.from({ length: 250 }, (_, i) => numberedPoint(i));
      sink.write(points);
      await sink.flush();
      assert.deepEqual(
        acked.map((b) => b.length),
        [100, 100, 50],
      );
      assert.ok(
        acked.flat().every((p, i) => p === points[i]),
        'same objects, in write order',
      );
    } finally {
      await sink.close();
    }
  });

  it('proves its escaping: random awkward names and values read back from the server as documented', async () => {
    const char = fc.oneof(
      fc.constantFrom(',', ' ', '=', '"', "'", '\\', '\n', '\r', '\t', '#', 'é', '漢', '🚗'),
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }),
    );
    const text = fc.string({ unit: char, maxLength: 8 });
    const samples = fc.sample(
      fc.record({ m: text, tk: text, tv: text, fk: text, s: fc.string({ unit: char, maxLength: 20 }) }),
      {
        seed: 20260114,
        numRuns: 80,
      },
    );
    const sink = sinkFor(influx, { batchSize: 1000, batchIntervalMs: 50 });
    await sink.start();
    try {
      const expected: Point[] = [];
      const points: Point[] = samples.map((r, k) => {
        // Prefixes keep names non-empty and distinct; the random part carries the awkward characters.
        const point: Point = {
          measurement: `m${k}:${r.m}`,
          tags: { [`t:${r.tk}`]: r.tv },
          fields: { [`f:${r.fk}`]: k + 0.5, s: r.s },
          timeNs: T0_NS + BigInt(k),
        };
        const tv = normalizeIdentifier(r.tv);
        expected.push({
          measurement: normalizeIdentifier(point.measurement),
          tags: tv === '' ? {} : { [normalizeIdentifier(`t:${r.tk}`)]: tv },
          fields: { [normalizeIdentifier(`f:${r.fk}`)]: k + 0.5, s: r.s },
          timeNs: point.timeNs,
        });
        return point;
      });
      // And the documented replacements, spelled out.
      points.push({
        measurement: 'documented',
        tags: { newline: 'line1\nline2', cr: 'a\rb', trailing: 'C:\\dir\\', before_comma: 'a\\,b' },
        fields: { v: 1.5 },
        timeNs: T0_NS + 1000n,
      });
      expected.push({
        measurement: 'documented',
        tags: { newline: 'line1\\nline2', cr: 'a\\rb', trailing: 'C:\\dir', before_comma: 'a,b' },
        fields: { v: 1.5 },
        timeNs: T0_NS + 1000n,
      });
      sink.write(points);
      await sink.flush();
      assert.equal(sink.stats().written, points.length, JSON.stringify(sink.stats()));
      const got = await readAllPoints(influx.url, sink.database);
      assert.equal(got.length, expected.length);
      const byTime = new Map(got.map((p) => [p.timeNs, p]));
      expected.forEach((p, k) =>
        assertSamePoint(byTime.get(p.timeNs), p, `sample ${k} ${JSON.stringify(samples[k] ?? 'documented')}`),
      );
    } finally {
      await sink.close();
    }
  });

  it('start() creates the database and a retention policy that keeps old (replayed) points', async () => {
    const database = uniqueDb('replay');
    const sink = sinkFor(influx, {
      database,
      retentionPolicy: { name: 'keep all', duration: 'INF', replication: 1, default: false },
    });
    await sink.start();
    try {
      const dbs = await influxQuery(influx.url, 'SHOW DATABASES');
      assert.ok(
        dbs[0]?.values.some((row) => row[0] === database),
        'database created',
      );
      const rps = await influxQuery(influx.url, `SHOW RETENTION POLICIES ON "${database}"`);
      const rp = rps[0]?.values.find((row) => row[0] === 'keep all');
      assert.ok(rp !== undefined, 'retention policy created');
      assert.equal(durationNs(String(rp[1])), 0n, 'infinite duration');
      // A drive recorded in 2001, replayed now.
      const old = Array.from({ length: 50 }, (_, i) => ({
        ...numberedPoint(i),
        timeNs: 978_307_200_000_000_001n + BigInt(i) * 1000n,
      }));
      sink.write(old);
      await sink.flush();
      assert.equal(sink.stats().written, 50);
      assert.equal(sink.stats().dropped, 0);
      assert.equal((await readAllPoints(influx.url, database, 'keep all')).length, 50);
      // start() again on a fresh sink is idempotent with the existing database and policy.
      const again = sinkFor(influx, {
        database,
        retentionPolicy: { name: 'keep all', duration: '0s', replication: 1, default: false },
      });
      await again.start();
      await again.close();
    } finally {
      await sink.close();
    }
  });

  it('counts points beyond the retention policy as dropped, with the reason, and keeps the rest', async () => {
    const logs: string[] = [];
    const sink = sinkFor(influx, {
      retentionPolicy: { name: 'one_hour', duration: '1h', replication: 1, default: true },
      log: (m) => logs.push(m),
    });
    await sink.start();
    try {
      const nowNs = BigInt(Date.now()) * 1_000_000n;
      const fresh = Array.from({ length: 5 }, (_, i) => ({
        ...numberedPoint(i),
        timeNs: nowNs - BigInt(i) * 1_000_000n,
      }));
      const stale = Array.from({ length: 7 }, (_, i) => ({
        ...numberedPoint(100 + i),
        timeNs: 978_307_200_000_000_000n + BigInt(i),
      }));
      sink.write([...stale.slice(0, 3), ...fresh, ...stale.slice(3)]);
      await sink.flush();
      const s = sink.stats();
      assert.equal(s.written, 5);
      assert.equal(s.dropped, 7);
      assert.deepEqual(s.droppedByReason, { 'points beyond retention policy': 7 });
      assert.equal(s.buffered, 0);
      assert.equal(
        await countWhere(influx.url, sink.database, 'SELECT count(i) FROM "one_hour"."contract"'),
        5n,
      );
      assert.ok(
        logs.some((m) => m.includes('beyond retention policy')),
        logs.join('\n'),
      );
    } finally {
      await sink.close();
    }
  });

  it('counts a field type conflict as dropped, whether against stored data or inside one batch', async () => {
    const p = (m: string, t: bigint, v: FieldValue): Point => ({
      measurement: m,
      tags: {},
      fields: { v },
      timeNs: T0_NS + t,
    });
    // Against stored data: InfluxDB stores 9 of 10 and answers "partial write: … dropped=1".
    const sink = sinkFor(influx, { batchSize: 1000, batchIntervalMs: 50 });
    await sink.start();
    try {
      sink.write([p('stored', 0n, 1.5)]);
      await sink.flush();
      sink.write(Array.from({ length: 10 }, (_, i) => p('stored', BigInt(i + 1), i === 4 ? 7n : i + 0.25)));
      await sink.flush();
      const s = sink.stats();
      assert.equal(s.written, 10);
      assert.equal(s.dropped, 1);
      assert.deepEqual(s.droppedByReason, { 'field type conflict': 1 });
      assert.equal(await countWhere(influx.url, sink.database, 'SELECT count(v) FROM "stored"'), 10n);
    } finally {
      await sink.close();
    }
    // Inside the first batch of a fresh database (a new shard), InfluxDB refuses the whole batch without
    // a count; the sink splits it until the conflicting point is isolated, so exactly one point is lost.
    const logs: string[] = [];
    const fresh = sinkFor(influx, { batchSize: 1000, batchIntervalMs: 50, log: (m) => logs.push(m) });
    await fresh.start();
    try {
      fresh.write(Array.from({ length: 10 }, (_, i) => p('inbatch', BigInt(i), i === 5 ? 2n : i + 0.5)));
      await fresh.flush();
      const s = fresh.stats();
      assert.equal(s.written, 9);
      assert.equal(s.dropped, 1);
      assert.deepEqual(s.droppedByReason, { 'field type conflict': 1 });
      assert.ok(s.failedWrites >= 2, 'the whole-batch refusal, then the partial write');
      assert.ok(
        logs.some((m) => /refused a batch of 10; splitting it/.test(m)),
        logs.join('\n'),
      );
      assert.equal(await countWhere(influx.url, fresh.database, 'SELECT count(v) FROM "inbatch"'), 9n);
    } finally {
      await fresh.close();
    }
  });

  it('re-creates a database dropped under it and delivers what was buffered', async () => {
    const sink = sinkFor(influx, { batchSize: 100, batchIntervalMs: 50 });
    await sink.start();
    try {
      sink.write([numberedPoint(0)]);
      await sink.flush();
      await influxQuery(influx.url, `DROP DATABASE "${sink.database}"`);
      sink.write(Array.from({ length: 20 }, (_, i) => numberedPoint(i + 1)));
      await within(sink.flush(), 15_000, 'flush after DROP DATABASE');
      const s = sink.stats();
      assert.equal(s.written, 21);
      assert.ok(s.failedWrites >= 1, 'the 404 was a failed attempt');
      assert.match(s.lastError ?? '', /database not found/);
      assert.equal((await readAllPoints(influx.url, sink.database)).length, 20);
    } finally {
      await sink.close();
    }
  });

  it('maps InfluxDB error texts to short reasons', () => {
    assert.equal(
      refusalReason(
        'partial write: field type conflict: input field "v" on measurement "m" is type integer, already exists as type float dropped=1',
      ),
      'field type conflict',
    );
    assert.equal(
      refusalReason('partial write: points beyond retention policy dropped=2'),
      'points beyond retention policy',
    );
    assert.equal(
      refusalReason("partial write: unable to parse 'x': invalid field format dropped=0"),
      'unable to parse',
    );
    assert.equal(durationNs('168h0m0s'), durationNs('7d'));
    assert.equal(durationNs('1h30m'), 5_400_000_000_000n);
  });
});

describe('InfluxSink start() while the server is down', () => {
  let down: InfluxService;
  before(async () => {
    down = await startInfluxd();
  });
  after(async () => {
    await down?.close();
  });

  it('gives up after startTimeoutMs with a clear error', async () => {
    await down.stop();
    const sink = sinkFor(down, { startTimeoutMs: 1500, retry: { initialMs: 100, maxMs: 400 } });
    const t0 = Date.now();
    await assert.rejects(sink.start(), (err: Error) => {
      assert.match(
        err.message,
        /cannot prepare database "t_.*" at http:\/\/127\.0\.0\.1:\d+ \(gave up after \d+ attempts\)/,
      );
      assert.match(err.message, /ECONNREFUSED/);
      return true;
    });
    const elapsed = Date.now() - t0;
    assert.ok(elapsed >= 1400 && elapsed < 6000, `gave up after ${elapsed} ms`);
    await sink.close();
  });

  it('waits for a server that comes up late, then delivers what was written meanwhile', async () => {
    if (down.running) await down.stop();
    const sink = sinkFor(down, { startTimeoutMs: 20_000, retry: { initialMs: 100, maxMs: 500 } });
    sink.write(Array.from({ length: 30 }, (_, i) => numberedPoint(i)));
    const starting = sink.start();
    await sleep(1500);
    await down.restart();
    await within(starting, 15_000, 'start()');
    await within(sink.flush(), 15_000, 'flush()');
    assert.equal(sink.stats().written, 30);
    assert.equal((await readAllPoints(down.url, sink.database)).length, 30);
    await sink.close();
  });
});

describe('InfluxSink through real outages', () => {
  let svc: InfluxService;
  before(async () => {
    svc = await startInfluxd();
  });
  after(async () => {
    await svc?.close();
  });

  it('keeps every point through a 30 s outage under steady load and delivers them when the server is back', async () => {
    const logs: string[] = [];
    const sink = sinkFor(svc, {
      batchSize: 500,
      batchIntervalMs: 200,
      maxBufferPoints: 200_000,
      retry: { initialMs: 100, maxMs: 2000 },
      log: (m) => logs.push(m),
    });
    await sink.start();
    let sent = 0;
    const load = setInterval(() => {
      sink.write(Array.from({ length: 20 }, () => numberedPoint(sent++))); // 400 points/s
    }, 50);
    try {
      await sleep(3000);
      await svc.stop(); // SIGTERM, then waits until the port refuses connections
      assert.equal(await canConnect(svc.port), false, 'the port refuses connections during the outage');
      const writtenAtOutage = sink.stats().written;
      await sleep(30_000);
      const during = sink.stats();
      assert.equal(during.written, writtenAtOutage, 'nothing can be written while the server is down');
      assert.ok(during.failedWrites > 0, 'failed attempts are counted');
      assert.equal(during.dropped, 0);
      assert.equal(during.buffered, sent - during.written, 'everything sent meanwhile is buffered');
      assert.ok(during.buffered > 1000, `points accumulate (${during.buffered} buffered)`);
      await svc.restart();
      await sleep(3000);
    } finally {
      clearInterval(load);
    }
    await within(sink.flush(), 30_000, 'flush after the outage');
    const s = sink.stats();
    assert.equal(s.dropped, 0, JSON.stringify(s));
    assert.equal(s.buffered, 0);
    assert.equal(s.written, sent);
    assert.equal(
      await countWhere(svc.url, sink.database, 'SELECT count(i) FROM "contract"'),
      BigInt(sent),
      'every point is stored',
    );
    assert.equal(
      await countWhere(
        svc.url,
        sink.database,
        `SELECT count(i) FROM "contract" WHERE i >= 0 AND i < ${sent}`,
      ),
      BigInt(sent),
    );
    assert.ok(
      logs.some((m) => /write of \d+ points failed/.test(m)),
      'the failures were logged',
    );
    assert.ok(
      logs.some((m) => /recovered/.test(m)),
      'the recovery was logged',
    );
    // Only err.message is logged: never the request/response objects the client's errors carry.
    for (const m of logs) {
      assert.ok(m.length < 600 && !/ClientRequest|IncomingMessage|\[object Object\]/.test(m), m);
    }
    await sink.close();
  });

  it('with a small buffer, drops exactly the overflow (oldest first) and written + dropped = sent', async () => {
    const max = 500;
    const batchSize = 100;
    const sink = sinkFor(svc, {
      batchSize,
      batchIntervalMs: 100,
      maxBufferPoints: max,
      retry: { initialMs: 100, maxMs: 500 },
    });
    await sink.start();
    let sent = 0;
    const send = (n: number): void => {
      sink.write(Array.from({ length: n }, () => numberedPoint(sent++)));
    };
    send(300);
    await sink.flush();
    assert.equal(sink.stats().written, 300);

    await svc.stop();
    for (let k = 0; k < 20; k++) {
      send(100);
      await sleep(25); // let retries run in between, so overflow also meets a batch in flight
    }
    let s = sink.stats();
    assert.equal(s.written, 300, 'nothing written while down');
    assert.equal(s.buffered, max);
    assert.equal(s.dropped, 2000 - max);
    assert.deepEqual(s.droppedByReason, { 'buffer overflow': 2000 - max });

    await svc.restart();
    await within(sink.flush(), 20_000, 'flush after restart');
    s = sink.stats();
    assert.equal(s.written, 300 + max);
    assert.equal(s.written + s.dropped, sent);
    assert.equal(sent, 2300);
    assert.equal(
      await countWhere(svc.url, sink.database, 'SELECT count(i) FROM "contract"'),
      BigInt(300 + max),
    );
    // The newest points survive: all but possibly one batch that was in flight when overflow happened.
    const newest = max - batchSize;
    assert.equal(
      await countWhere(svc.url, sink.database, `SELECT count(i) FROM "contract" WHERE i >= ${sent - newest}`),
      BigInt(newest),
    );
    await sink.close();
  });
});
