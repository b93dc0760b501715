import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Subject, VirtualTimeScheduler } from 'rxjs';
import { parseConfig } from '../../src/config/schema.ts';
import type { ConfigInput } from '../../src/config/schema.ts';
import type { StressResult } from '../../src/models/stress/estimator.ts';
import { StressEstimator } from '../../src/models/stress/estimator.ts';
import type { StressInput } from '../../src/models/stress/inputs.ts';
import type { PipelineHandle } from '../../src/pipeline.ts';
import { startPipeline } from '../../src/pipeline.ts';
import type { Point } from '../../src/sinks/point.ts';
import type { Sink, SinkStats } from '../../src/sinks/sink.ts';
import type { Alert, StressEstimate } from '../../src/streams/contracts/outputs.ts';
import { alertSchema, statusSchema, stressSchema } from '../../src/streams/contracts/outputs.ts';
import { encodePhysio } from '../../src/streams/contracts/physio.ts';
import { topicFor } from '../../src/streams/contracts/topics.ts';
import type { RawMessage } from '../../src/streams/ingest.ts';
import type { StressModel } from '../../src/streams/stress-operator.ts';
import { T0_US } from '../support/fixtures.ts';
import { exportUntrainedStressModel, TEST_STRESS_WINDOWS } from '../support/stress-model.ts';

/**
 * The stress operator inside the pipeline, in event time: synthetic ECG-free physio (device HR at 4 Hz,
 * hand and foot EDA, respiration) in one chunk per second, an untrained model exported to a temp dir (or a
 * fake model where timing must be controlled), and a recording sink. Calibration 20 s (the sidecar says
 * 300 s: the config overrides it), so ticks 1–19 s calibrate and 20–40 s give one estimate per second.
 */
class RecordingSink implements Sink {
  readonly name = 'recording';
  readonly points: Point[] = [];
  async start(): Promise<void> {}
  write(points: readonly Point[]): void {
    this.points.push(...points);
  }
  async flush(): Promise<void> {}
  async close(): Promise<void> {}
  stats(): SinkStats {
    return { written: this.points.length, buffered: 0, dropped: 0, failedWrites: 0 };
  }
}

const VEHICLE = 'car-s';
const SECONDS = 40;
const RATE = 4;

/** Physio chunk of second `s`: HR, hand EDA (flat when asked), foot EDA and respiration, all at 4 Hz. */
function physioSecond(s: number, flatEda: boolean): Uint8Array {
  const t = (i: number) => s + i / RATE;
  const ch = (f: (tS: number) => number) => Array.from({ length: RATE }, (_, i) => f(t(i)));
  return encodePhysio({
    sessionId: 7,
    seq: s,
    tUs: T0_US + s * 1_000_000,
    sampleFormat: 'float32',
    channels: [
      { kind: 'hr', rateHz: RATE, samples: ch((x) => 72 + 6 * Math.sin(x / 1.5) + 2 * Math.sin(x * 2.7)) },
      {
        kind: 'eda',
        rateHz: RATE,
        samples: ch((x) => 3 + 0.2 * Math.sin(x / 3.3)),
      },
      {
        // Two EDA channels are foot then hand: the hand (second) is the primary site.
        kind: 'eda',
        rateHz: RATE,
        samples: ch((x) => (flatEda ? 5 : 5 + 0.4 * Math.sin(x / 2.1) + 0.1 * Math.sin(x * 1.9))),
      },
      {
        kind: 'resp',
        rateHz: RATE,
        samples: ch((x) => Math.sin(2 * Math.PI * 0.25 * x) * (1 + 0.1 * Math.sin(x / 7))),
      },
    ],
  });
}

function setup(model: StressModel, stress: NonNullable<NonNullable<ConfigInput['features']>['stress']>) {
  const raw = new Subject<RawMessage>();
  const sink = new RecordingSink();
  const published: { topic: string; body: unknown }[] = [];
  const config = parseConfig({
    // Only the physio stream holds the windows; nothing else is monitored.
    streams: {
      ecg: { faultTimeoutMs: null },
      can: { faultTimeoutMs: null, holdsWatermark: false },
      audio: { faultTimeoutMs: null, holdsWatermark: false },
      camera: { faultTimeoutMs: null, holdsWatermark: false },
      weather: { faultTimeoutMs: null },
    },
    windows: { sizeMs: 1000, slideMs: 1000, allowedLatenessMs: 0 },
    features: {
      cardiac: { enabled: false },
      context: { enabled: false },
      stress: { calibrationS: 20, ...stress },
    },
  });
  const handle = startPipeline(config, {
    raw$: raw,
    sinks: [sink],
    publish: (topic, payload) => {
      published.push({ topic, body: JSON.parse(Buffer.from(payload).toString('utf8')) });
      return true;
    },
    scheduler: new VirtualTimeScheduler(),
    stressModel: model,
  });
  return { raw, sink, published, handle };
}

/** Lets the estimates in flight finish (ONNX Runtime runs off the JS thread). */
async function settle(handle: PipelineHandle): Promise<void> {
  while ((handle.stats().stress?.pending ?? 0) > 0) await new Promise((r) => setTimeout(r, 1));
}

async function drive(
  t: ReturnType<typeof setup>,
  opts: { flatEda?: boolean; settleEach?: boolean } = {},
): Promise<void> {
  for (let s = 0; s < SECONDS; s++) {
    t.raw.next({ topic: topicFor(VEHICLE, 'ecg'), payload: physioSecond(s, opts.flatEda ?? false) });
    if (opts.settleEach ?? true) await settle(t.handle);
  }
  t.raw.complete();
  await t.handle.done;
}

const estimatesOf = (published: { topic: string; body: unknown }[]): StressEstimate[] =>
  published.filter((p) => p.topic === topicFor(VEHICLE, 'stress')).map((p) => stressSchema.parse(p.body));
const alertsOf = (published: { topic: string; body: unknown }[]): Alert[] =>
  published.filter((p) => p.topic === topicFor(VEHICLE, 'alert')).map((p) => alertSchema.parse(p.body));

describe('stress operator with an untrained exported model', () => {
  let model: StressEstimator;
  let cleanup: () => Promise<void>;
  before(async () => {
    const exported = await exportUntrainedStressModel();
    cleanup = exported.cleanup;
    model = await StressEstimator.load(exported.path);
  });
  after(async () => {
    await model?.release();
    await cleanup?.();
  });

  it('calibrates for 20 s, then gives one schema-valid estimate per second of event time', async () => {
    const t = setup(model, {});
    await drive(t);
    const est = estimatesOf(t.published);
    const stats = t.handle.stats().stress;
    assert.deepEqual(
      { ...stats },
      { estimates: 21, calibrating: 19, noInput: 0, skipped: 0, dropped: 0, errors: 0, pending: 0 },
    );
    assert.equal(est.length, 21);
    assert.equal(est[0]?.tUs, T0_US + 20_000_000, 'no estimate during the calibration');
    est.forEach((e, i) => {
      assert.equal(e.tUs, T0_US + (20 + i) * 1_000_000, 'one per second');
      assert.equal(e.windowS, TEST_STRESS_WINDOWS.windowS);
      assert.equal(e.model, 'untrained-test');
      const p = e.probabilities;
      assert.ok(Math.abs(p.low + p.medium + p.high - 1) < 1e-5);
      assert.deepEqual(e.modalities, {
        hr: 'used',
        eda: 'used',
        resp: 'used',
        vehicle: 'absent', // no CAN
        context: 'absent', // no weather
      });
      assert.deepEqual(e.faults, []);
    });
    const points = t.sink.points.filter((p) => p.measurement === 'stress');
    assert.equal(points.length, 21);
    const first = points[0]!;
    assert.deepEqual(first.tags, { vehicle: VEHICLE, level: est[0]!.level });
    assert.equal(first.timeNs, BigInt(T0_US + 20_000_000) * 1000n);
    assert.equal(first.fields['use_hr'], 'used');
    assert.equal(first.fields['use_vehicle'], 'absent');
    assert.equal(first.fields['faults'], 0n);
    assert.equal(first.fields['p_high'], est[0]!.probabilities.high);
    // The final status carries the counters.
    const status = t.published.filter((p) => p.topic === topicFor(VEHICLE, 'status')).at(-1);
    assert.equal(statusSchema.parse(status?.body).stress?.estimates, 21);
  });

  it('reports a flat EDA as masked, with a fault, in the message and the point', async () => {
    const t = setup(model, {});
    await drive(t, { flatEda: true });
    const est = estimatesOf(t.published);
    assert.equal(est.length, 21);
    for (const e of est) {
      assert.equal(e.modalities.eda, 'masked');
      assert.equal(e.modalities.hr, 'used');
      assert.deepEqual(e.faults, [{ modality: 'eda', reason: 'flat' }]);
    }
    const point = t.sink.points.find((p) => p.measurement === 'stress');
    assert.equal(point?.fields['use_eda'], 'masked');
    assert.equal(point?.fields['faults'], 1n);
    assert.equal(point?.fields['fault_list'], 'eda:flat');
  });
});

/** A model whose estimates wait for `release()`: P(high) 0.9 for every input. */
class GatedModel implements StressModel {
  readonly meta = { id: 'fake', windows: TEST_STRESS_WINDOWS };
  calls = 0;
  private open!: () => void;
  private readonly gate: Promise<void>;
  constructor(gated: boolean) {
    this.gate = gated ? new Promise((r) => (this.open = r)) : Promise.resolve();
  }
  release(): void {
    this.open();
  }
  async estimateBatch(inputs: readonly StressInput[]): Promise<StressResult[]> {
    this.calls++;
    await this.gate;
    return inputs.map((x) => ({
      tS: x.tS,
      level: 'high',
      probabilities: [0.04, 0.06, 0.9],
      confidence: 0.7,
      sources: x.sources,
      faults: x.faults,
    }));
  }
}

it('drops and counts estimates beyond maxPending while the model is slow', async () => {
  const model = new GatedModel(true);
  const t = setup(model, { maxPending: 1 });
  const done = drive(t, { settleEach: false });
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(model.calls, 1, 'one estimate in flight, the rest refused');
  model.release();
  await done;
  const stats = t.handle.stats().stress;
  assert.equal(stats?.estimates, 1);
  assert.equal(stats?.dropped, 20);
  assert.equal(stats?.pending, 0);
  assert.equal(estimatesOf(t.published).length, 1);
});

it('feeds the stress_high rule: sustained P(high) raises an alert, published and written', async () => {
  const t = setup(new GatedModel(false), { alert: { raiseAfterS: 5 } });
  await drive(t);
  const alerts = alertsOf(t.published);
  assert.deepEqual(
    alerts.map((a) => [a.kind, a.state, a.tUs, a.kind === 'stress_high' ? a.sinceUs : 0]),
    [['stress_high', 'raised', T0_US + 25_000_000, T0_US + 20_000_000]],
  );
  const points = t.sink.points.filter((p) => p.measurement === 'alert');
  assert.deepEqual(points[0]?.tags, { vehicle: VEHICLE, kind: 'stress_high' });
  assert.equal(t.handle.stats().alerts, 1);
});
