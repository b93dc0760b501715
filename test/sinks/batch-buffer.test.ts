/**
 * BatchBuffer on its own: batching by size and by age, the buffer bound, write order and one batch in
 * flight, flush(), retries with backoff and jitter, the start/close lifecycle and both in-flight policies
 * of close(). Deliveries are driven by hand; every timer runs on a virtual-time scheduler.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { VirtualTimeScheduler } from 'rxjs';

import {
  BatchBuffer,
  encodeLineProtocol,
  type BatchBufferHooks,
  type BufferEntry,
} from '../../src/sinks/batch-buffer.ts';
import type { Point } from '../../src/sinks/point.ts';

const point = (i: number): Point => ({
  measurement: 'm',
  tags: {},
  fields: { i: BigInt(i) },
  timeNs: BigInt(i),
});
const points = (from: number, n: number): Point[] => Array.from({ length: n }, (_, k) => point(from + k));

/** Runs the timers due up to virtual time `t` (ms) and leaves the clock at `t`. */
function advanceTo(scheduler: VirtualTimeScheduler, t: number): void {
  scheduler.maxFrames = t;
  scheduler.flush();
  scheduler.frame = t;
}

/** Lets pending promise reactions run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface Delivery {
  readonly batch: readonly BufferEntry[];
  readonly signal: AbortSignal;
}

function setup(
  overrides: Partial<{ batchSize: number; maxBufferPoints: number; closeTimeoutMs: number }> = {},
  hooks: Partial<BatchBufferHooks> = {},
) {
  const scheduler = new VirtualTimeScheduler();
  const logs: string[] = [];
  const deliveries: Delivery[] = [];
  const buffer = new BatchBuffer(
    {
      name: 'test',
      batchSize: 3,
      batchIntervalMs: 100,
      maxBufferPoints: 10,
      retry: { initialMs: 100, maxMs: 1000 },
      closeTimeoutMs: 500,
      scheduler,
      log: (m) => logs.push(m),
      ...overrides,
    },
    {
      encode: encodeLineProtocol,
      random: () => 1,
      inFlightOnClose: 'abort',
      deliver: async (batch, signal) => {
        deliveries.push({ batch, signal });
      },
      messages: {
        recovered: (f) => `recovered after ${f}`,
        retrying: (r) =>
          `${r.points} failed (attempt ${r.attempt}): ${r.error}; in ${r.delayMs} ms, ${r.buffered}`,
        closedUndelivered: (n) => `closed with ${n} undelivered`,
      },
      ...hooks,
    },
  );
  const ids = (d: Delivery | undefined): number[] => (d?.batch ?? []).map((e) => e.seq);
  const succeed = (d: Delivery): void => {
    if (buffer.endBatch(d.batch)) buffer.delivered(d.batch.length);
    buffer.advance();
  };
  const fail = (d: Delivery, error: string): void => {
    if (buffer.endBatch(d.batch)) buffer.retryLater(d.batch, error);
    buffer.advance();
  };
  const started = async (): Promise<void> => buffer.start(async () => buffer.opened());
  return { scheduler, logs, deliveries, buffer, ids, succeed, fail, started };
}

describe('BatchBuffer', () => {
  it('sends a full batch at once and a partial one after batchIntervalMs, one at a time, in order', async () => {
    const t = setup();
    await t.started();
    t.buffer.write(points(0, 4));
    assert.equal(t.deliveries.length, 1, 'a full batch goes out at once');
    assert.deepEqual(t.ids(t.deliveries[0]), [1, 2, 3]);
    t.buffer.write(points(4, 3));
    assert.equal(t.deliveries.length, 1, 'one batch in flight at a time');
    t.succeed(t.deliveries[0] as Delivery);
    assert.deepEqual(t.ids(t.deliveries[1]), [4, 5, 6]);
    t.succeed(t.deliveries[1] as Delivery);
    assert.equal(t.deliveries.length, 2, 'the partial batch waits');
    advanceTo(t.scheduler, 99);
    assert.equal(t.deliveries.length, 2);
    advanceTo(t.scheduler, 100);
    assert.deepEqual(t.ids(t.deliveries[2]), [7]);
    t.succeed(t.deliveries[2] as Delivery);
    assert.deepEqual(t.buffer.stats(), {
      written: 7,
      buffered: 0,
      dropped: 0,
      failedWrites: 0,
      lastError: undefined,
      droppedByReason: {},
      fieldsOmitted: 0,
    });
  });

  it('bounds the buffer: drops the oldest entries not in flight, and counts what it cannot encode', async () => {
    const t = setup({ batchSize: 2, maxBufferPoints: 5 });
    await t.started();
    t.buffer.write(points(0, 2));
    assert.deepEqual(t.ids(t.deliveries[0]), [1, 2]);
    t.buffer.write([...points(2, 6), { measurement: 'm', tags: {}, fields: { x: Number.NaN }, timeNs: 0n }]);
    // 2 in flight + 6 buffered: the oldest 3 not in flight (3, 4, 5) go.
    let s = t.buffer.stats();
    assert.deepEqual(
      { buffered: s.buffered, dropped: s.dropped, reasons: s.droppedByReason },
      { buffered: 5, dropped: 4, reasons: { 'buffer overflow': 3, 'no representable field': 1 } },
    );
    t.succeed(t.deliveries[0] as Delivery);
    assert.deepEqual(t.ids(t.deliveries[1]), [6, 7], 'the newest survive, in order');
    s = t.buffer.stats();
    assert.equal(s.written + s.dropped + s.buffered, 9, 'accounting');
  });

  it('flush() waits until what was written before it is delivered, also before start()', async () => {
    const t = setup({ batchSize: 100, maxBufferPoints: 100 });
    t.buffer.write(points(0, 2));
    let flushed = false;
    void t.buffer.flush().then(() => (flushed = true));
    await settle();
    assert.equal(flushed, false);
    await t.started();
    assert.equal(t.deliveries.length, 1, 'a pending flush sends the partial batch at once');
    t.buffer.write(points(2, 1));
    t.succeed(t.deliveries[0] as Delivery);
    await settle();
    assert.equal(flushed, true, 'points written after flush() are not waited for');
    assert.equal(t.buffer.stats().buffered, 1);
  });

  it('retries a failed batch after an exponential backoff with jitter, then logs the recovery', async () => {
    const t = setup();
    await t.started();
    t.buffer.write(points(0, 3));
    t.fail(t.deliveries[0] as Delivery, 'boom');
    assert.deepEqual(t.logs, ['3 failed (attempt 1): boom; in 100 ms, 3']);
    advanceTo(t.scheduler, 99);
    assert.equal(t.deliveries.length, 1, 'no retry before the backoff');
    advanceTo(t.scheduler, 100);
    assert.deepEqual(t.ids(t.deliveries[1]), [1, 2, 3], 'the same batch again');
    t.fail(t.deliveries[1] as Delivery, 'boom');
    assert.match(t.logs[1] ?? '', /attempt 2\): boom; in 200 ms/);
    advanceTo(t.scheduler, 300);
    t.succeed(t.deliveries[2] as Delivery);
    assert.equal(t.logs[2], 'recovered after 2');
    const s = t.buffer.stats();
    assert.deepEqual([s.written, s.failedWrites, s.lastError], [3, 2, 'boom']);
  });

  it('draws each wait from [base/2, base], base doubling up to retry.maxMs', () => {
    const low = setup({}, { random: () => 0 }).buffer;
    const high = setup({}, { random: () => 1 }).buffer;
    assert.deepEqual(
      [1, 2, 3, 4, 5, 40].map((a) => [low.backoffMs(a), high.backoffMs(a)]),
      [
        [50, 100],
        [100, 200],
        [200, 400],
        [400, 800],
        [500, 1000],
        [500, 1000],
      ],
    );
  });

  it('start(): concurrent calls share one run; a failed open can be retried; after close() it rejects', async () => {
    const t = setup();
    let runs = 0;
    let fail = true;
    const open = async (): Promise<void> => {
      runs++;
      await settle();
      if (fail) throw new Error('not yet');
      t.buffer.opened();
    };
    const a = t.buffer.start(open);
    const b = t.buffer.start(open);
    await assert.rejects(a, /not yet/);
    await assert.rejects(b, /not yet/);
    assert.equal(runs, 1);
    fail = false;
    await t.buffer.start(open);
    await t.buffer.start(open); // running: resolves at once
    assert.equal(runs, 2);
    await t.buffer.close({});
    await assert.rejects(t.buffer.start(open), /test: start\(\) after close\(\)/);
  });

  it("close() delivers within closeTimeoutMs, then drops the rest; 'abort' gives up the batch in flight", async () => {
    const t = setup({ batchSize: 2 });
    await t.started();
    t.buffer.write(points(0, 5));
    t.succeed(t.deliveries[0] as Delivery);
    let closed = false;
    const closing = t.buffer.close({}).then(() => (closed = true));
    t.buffer.write(points(5, 2));
    assert.deepEqual(t.buffer.stats().droppedByReason, { 'sink closed': 2 });
    advanceTo(t.scheduler, 499);
    await settle();
    assert.equal(closed, false);
    advanceTo(t.scheduler, 500);
    await closing;
    const inFlight = t.deliveries[1] as Delivery;
    assert.equal(inFlight.signal.aborted, true);
    assert.deepEqual(t.buffer.stats().droppedByReason, {
      'sink closed': 2,
      'sink closed before delivery': 3,
    });
    assert.deepEqual(t.logs, ['closed with 3 undelivered']);
    assert.equal(t.buffer.endBatch(inFlight.batch), false, 'its outcome is ignored');
    await t.buffer.flush();
  });

  it("close() with 'finish' lets the batch in flight complete; a failure after close is dropped", async () => {
    const t = setup({ batchSize: 2, closeTimeoutMs: 0 }, { inFlightOnClose: 'finish' });
    await t.started();
    t.buffer.write(points(0, 3));
    let released = false;
    const closing = t.buffer.close({
      after: async () => {
        released = true;
      },
    });
    advanceTo(t.scheduler, 0); // the close time-out (0 ms) runs out
    await closing;
    assert.equal(released, true);
    assert.equal(t.buffer.sending, true);
    assert.deepEqual(t.buffer.stats().droppedByReason, { 'sink closed before delivery': 1 });
    t.fail(t.deliveries[0] as Delivery, 'disk full');
    const s = t.buffer.stats();
    assert.deepEqual(
      [s.buffered, s.failedWrites, s.droppedByReason],
      [0, 0, { 'sink closed before delivery': 3 }],
    );
    assert.equal(t.deliveries.length, 1, 'nothing is retried after close');
  });

  it('batchCap caps the batches taken while it is set', async () => {
    const t = setup({ batchSize: 4 });
    await t.started();
    t.buffer.write(points(0, 4));
    const first = t.deliveries[0] as Delivery;
    assert.equal(t.buffer.endBatch(first.batch), true);
    t.buffer.batchCap = 2;
    t.buffer.requeue(first.batch);
    t.buffer.advance();
    assert.deepEqual(t.ids(t.deliveries[1]), [1, 2]);
  });

  it('keeps the points only when asked to', async () => {
    const t = setup({}, { keepPoints: true });
    await t.started();
    t.buffer.write(points(0, 3));
    assert.deepEqual(
      t.deliveries[0]?.batch.map((e) => e.point),
      points(0, 3),
    );
    const u = setup();
    await u.started();
    u.buffer.write(points(0, 3));
    assert.equal(u.deliveries[0]?.batch[0]?.point, undefined);
  });
});
