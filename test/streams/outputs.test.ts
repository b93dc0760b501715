import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  STRESS_FAULT_REASONS,
  STRESS_MODALITIES,
  alertSchema,
  encodeJson,
  stressSchema,
} from '../../src/streams/contracts/outputs.ts';
import type {
  Alert,
  SensorFaultAlert,
  StressAlert,
  StressEstimate,
} from '../../src/streams/contracts/outputs.ts';
import { topicFor } from '../../src/streams/contracts/topics.ts';
import { T0_US } from '../support/fixtures.ts';

const estimate: StressEstimate = {
  v: 1,
  vehicleId: 'demo-car',
  tUs: T0_US + 60_000_000,
  windowS: 60,
  level: 'high',
  probabilities: { low: 0.1, medium: 0.2, high: 0.7 },
  confidence: 0.82,
  modalities: { hr: 'used', eda: 'masked', resp: 'used', vehicle: 'used', context: 'absent' },
  faults: [{ modality: 'eda', reason: 'saturated' }],
  model: 'stress-cnn-lstm@1',
};

/** The sensor_fault example of docs/contracts.md, as published before `stress_high` existed. */
const sensorFault = {
  v: 1,
  vehicleId: 'demo-car',
  kind: 'sensor_fault',
  state: 'raised',
  stream: 'ecg',
  reason: 'silent',
  tUs: 1768424425000000,
  lastDataUs: 1768424420000000,
  message: 'ecg sent no data for more than 5000 ms',
};

const stressHigh: StressAlert = {
  v: 1,
  vehicleId: 'demo-car',
  kind: 'stress_high',
  state: 'raised',
  tUs: T0_US + 90_000_000,
  sinceUs: T0_US + 60_000_000,
  probability: 0.74,
  message: 'stress high: P(high) ≥ 0.6 for 30.0 s (mean 0.74)',
};

test('stress: a valid estimate parses unchanged and encodes to JSON', () => {
  assert.deepEqual(stressSchema.parse(estimate), estimate);
  assert.deepEqual(stressSchema.parse({ ...estimate, faults: [] }).faults, []);
  assert.deepEqual(JSON.parse(encodeJson(stressSchema, estimate).toString('utf8')), estimate);
  assert.equal(topicFor('demo-car', 'stress'), 'drivesense/v1/demo-car/stress');
});

test('stress: the modalities object has exactly STRESS_MODALITIES; every fault reason is accepted', () => {
  assert.deepEqual(Object.keys(stressSchema.shape.modalities.shape), [...STRESS_MODALITIES]);
  for (const modality of STRESS_MODALITIES) {
    for (const reason of STRESS_FAULT_REASONS) {
      assert.ok(stressSchema.safeParse({ ...estimate, faults: [{ modality, reason }] }).success);
    }
  }
});

test('stress: probabilities, confidence and enums out of range are rejected', () => {
  const bad: Record<string, unknown>[] = [
    { probabilities: { low: 0.1, medium: 0.2, high: 1.2 } },
    { probabilities: { low: -0.1, medium: 0.4, high: 0.7 } },
    { probabilities: { low: 0.1, medium: Number.NaN, high: 0.7 } },
    { probabilities: { low: 0.1, high: 0.9 } },
    { confidence: 1.5 },
    { confidence: -0.01 },
    { level: 'extreme' },
    { modalities: { ...estimate.modalities, hr: 'missing' } },
    { modalities: { hr: 'used', eda: 'used', resp: 'used', vehicle: 'used' } },
    { faults: [{ modality: 'ecg', reason: 'flat' }] },
    { faults: [{ modality: 'hr', reason: 'silent' }] },
    { tUs: T0_US + 0.5 },
    { windowS: 0 },
    { v: 2 },
    { model: '' },
  ];
  for (const change of bad) {
    assert.equal(stressSchema.safeParse({ ...estimate, ...change }).success, false, JSON.stringify(change));
  }
  for (const key of Object.keys(estimate)) {
    const { [key]: _dropped, ...rest } = estimate as unknown as Record<string, unknown>;
    assert.equal(stressSchema.safeParse(rest).success, false, `without ${key}`);
  }
});

test('alert: a sensor_fault alert keeps exactly its v1 shape', () => {
  const parsed: Alert = alertSchema.parse(sensorFault);
  assert.deepEqual(parsed, sensorFault);
  assert.equal(parsed.kind, 'sensor_fault');
  if (parsed.kind === 'sensor_fault') {
    const narrowed: SensorFaultAlert = parsed;
    assert.equal(narrowed.stream, 'ecg');
  }
  const { lastDataUs: _l, ...neverSent } = sensorFault;
  assert.deepEqual(alertSchema.parse(neverSent), neverSent);
  assert.equal(alertSchema.safeParse({ ...sensorFault, reason: 'flat' }).success, false);
  assert.equal(alertSchema.safeParse({ ...sensorFault, stream: 'stress' }).success, false);
  const { stream: _s, ...noStream } = sensorFault;
  assert.equal(alertSchema.safeParse(noStream).success, false);
});

test('alert: stress_high parses; its fields are required and checked', () => {
  assert.deepEqual(alertSchema.parse(stressHigh), stressHigh);
  assert.deepEqual(alertSchema.parse({ ...stressHigh, state: 'cleared' }).state, 'cleared');
  for (const key of ['sinceUs', 'probability', 'message', 'tUs', 'state']) {
    const { [key]: _dropped, ...rest } = stressHigh as unknown as Record<string, unknown>;
    assert.equal(alertSchema.safeParse(rest).success, false, `without ${key}`);
  }
  assert.equal(alertSchema.safeParse({ ...stressHigh, probability: 1.01 }).success, false);
  // A sensor_fault body under the stress_high kind is not a stress alert (and vice versa).
  assert.equal(alertSchema.safeParse({ ...sensorFault, kind: 'stress_high' }).success, false);
  assert.equal(alertSchema.safeParse({ ...stressHigh, kind: 'sensor_fault' }).success, false);
  assert.equal(alertSchema.safeParse({ ...stressHigh, kind: 'other' }).success, false);
});
