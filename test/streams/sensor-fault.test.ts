import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { InputStream } from '../../src/streams/contracts/topics.ts';
import type { IngestEvent } from '../../src/streams/ingest.ts';
import { SensorFaultRule } from '../../src/streams/rules/sensor-fault.ts';
import { T0_US } from '../support/fixtures.ts';

function valid(stream: InputStream, tMs: number, durMs = 100): IngestEvent {
  const tUs = T0_US + tMs * 1000;
  return {
    kind: 'message',
    vehicleId: 'v1',
    stream,
    seq: { status: 'in-order' },
    message: {
      kind: 'camera',
      sessionId: 1,
      seq: 1,
      tUs,
      endUs: tUs + durMs * 1000,
      bytes: 10,
      pixelFormat: 'gray8',
      width: 1,
      height: 1,
      data: new Uint8Array(1),
    },
  };
}
const invalid = (stream: InputStream): IngestEvent => ({
  kind: 'invalid',
  vehicleId: 'v1',
  stream,
  code: 'truncated',
  reason: 'x',
});

it('raises when one stream falls silent while others go on, and clears when it returns', () => {
  const rule = new SensorFaultRule('v1', { timeoutMs: { ecg: 2000, can: 2000 } });
  const alerts = [];
  for (let t = 0; t <= 5000; t += 100) {
    alerts.push(...rule.onEvent(valid('can', t)));
    if (t < 1000) alerts.push(...rule.onEvent(valid('ecg', t)));
  }
  assert.equal(alerts.length, 1);
  assert.equal(alerts[0]?.state, 'raised');
  assert.equal(alerts[0]?.stream, 'ecg');
  assert.equal(alerts[0]?.reason, 'silent');
  assert.equal(alerts[0]?.lastDataUs, T0_US + 1_000_000);
  assert.ok((alerts[0]?.tUs ?? 0) > T0_US + 3_000_000 && (alerts[0]?.tUs ?? 0) <= T0_US + 3_100_000);
  assert.deepEqual(rule.activeFaults(), [{ stream: 'ecg', reason: 'silent' }]);
  const back = rule.onEvent(valid('ecg', 5100));
  assert.deepEqual(
    back.map((a) => [a.state, a.stream]),
    [['cleared', 'ecg']],
  );
  assert.deepEqual(rule.activeFaults(), []);
});

it('reports invalid when payloads keep arriving but fail to decode', () => {
  const rule = new SensorFaultRule('v1', { timeoutMs: { audio: 1000 } });
  rule.onEvent(valid('audio', 0));
  const alerts = [];
  for (let t = 100; t < 3000; t += 100) {
    alerts.push(...rule.onEvent(invalid('audio')));
    alerts.push(...rule.onEvent(valid('can', t)));
  }
  assert.deepEqual(
    alerts.map((a) => [a.state, a.reason]),
    [['raised', 'invalid']],
  );
});

it('detects a stream that never sent anything, and whole-vehicle silence via advanceTo', () => {
  const rule = new SensorFaultRule('v1', { timeoutMs: { weather: 10_000, can: 500 } });
  rule.onEvent(valid('can', 0));
  assert.deepEqual(
    rule.advanceTo(T0_US + 700_000).map((a) => a.stream),
    ['can'],
  );
  assert.deepEqual(
    rule.advanceTo(T0_US + 10_001_000).map((a) => a.stream),
    ['weather'],
  );
  assert.deepEqual(rule.advanceTo(T0_US + 20_000_000), [], 'each fault is raised once');
});
