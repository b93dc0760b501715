import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { firstValueFrom, take, toArray } from 'rxjs';
import { startEmbeddedBroker } from '../../src/streams/embedded-broker.ts';
import type { EmbeddedBroker } from '../../src/streams/embedded-broker.ts';
import { MqttConnection } from '../../src/streams/mqtt-connection.ts';
import type { MqttConnectionOptions } from '../../src/streams/mqtt-connection.ts';
import type { MosquittoService } from '../harness/services.ts';
import { ensureServicePackages, startMosquitto } from '../harness/services.ts';
import { waitFor } from '../support/live.ts';

/** The MQTT edge against both brokers it must work with: Mosquitto (MQTT 5) and aedes (3.1.1 only). */
let mosquitto: MosquittoService;
let aedes: EmbeddedBroker;
const open: MqttConnection[] = [];

function connection(url: string, over: Partial<MqttConnectionOptions> = {}): MqttConnection {
  const c = new MqttConnection({
    url,
    clientIdPrefix: 'edge-test',
    protocol: 'auto',
    keepaliveS: 30,
    connectTimeoutMs: 3000,
    reconnectMinMs: 100,
    reconnectMaxMs: 400,
    sessionExpiryS: 60,
    maxQueuedPublishes: 5,
    ...over,
  });
  open.push(c);
  return c;
}

before(async () => {
  ensureServicePackages();
  [mosquitto, aedes] = await Promise.all([startMosquitto(), startEmbeddedBroker()]);
});
after(async () => {
  await Promise.all(open.map((c) => c.close(500)));
  await Promise.all([mosquitto?.close(), aedes?.close()]);
});

it('speaks MQTT 5 with Mosquitto and falls back to 3.1.1 with aedes', async () => {
  const m = connection(mosquitto.url);
  await m.connect();
  assert.equal(m.stats().protocolVersion, 5);
  const a = connection(aedes.url);
  await a.connect();
  assert.equal(a.stats().protocolVersion, 4);
});

it('gives every connection a unique client id', () => {
  const ids = new Set(Array.from({ length: 50 }, () => connection(mosquitto.url).clientId));
  assert.equal(ids.size, 50);
});

it('delivers subscribed messages per filter with each stream’s QoS', async () => {
  const sub = connection(mosquitto.url);
  const pub = connection(mosquitto.url);
  await Promise.all([sub.connect(), pub.connect()]);
  const got = firstValueFrom(
    sub
      .messages([
        { filter: 'drivesense/v1/+/ecg', qos: 1 },
        { filter: 'drivesense/v1/+/audio', qos: 0 },
      ])
      .pipe(take(2), toArray()),
  );
  await sub.subscribed(); // acknowledged by the broker: what is published now is routed
  pub.publish('drivesense/v1/c1/ecg', Buffer.from('a'), { qos: 1 });
  pub.publish('drivesense/v1/c1/audio', Buffer.from('b'), { qos: 0 });
  pub.publish('drivesense/v1/c1/can', Buffer.from('not subscribed'), { qos: 1 });
  const messages = await got;
  assert.deepEqual(messages.map((m) => [m.topic, Buffer.from(m.payload).toString()]).sort(), [
    ['drivesense/v1/c1/audio', 'b'],
    ['drivesense/v1/c1/ecg', 'a'],
  ]);
});

it('bounds what it queues while the broker is away, counts the rest, and reconnects with backoff', async () => {
  const broker = await startMosquitto();
  try {
    const c = connection(broker.url, { maxQueuedPublishes: 5 });
    await c.connect();
    await broker.stop();
    await waitFor(() => !c.connected, 5000, 'the client to notice');
    for (let i = 0; i < 8; i++) c.publish('x/qos1', Buffer.from(String(i)), { qos: 1 });
    for (let i = 0; i < 4; i++) c.publish('x/qos0', Buffer.from(String(i)), { qos: 0 });
    let s = c.stats();
    assert.equal(s.queued, 5, 'five QoS 1 messages held');
    assert.equal(s.publishDropped, 3 + 4, 'the other three QoS 1 and every QoS 0 dropped and counted');
    await broker.restart();
    await waitFor(() => c.connected && c.stats().queued === 0, 10_000, 'reconnect and delivery of the queue');
    s = c.stats();
    assert.equal(s.published, 5);
    assert.ok(s.connects >= 2 && s.disconnects >= 1);
    assert.notEqual(c.connectedSinceMs(), null);
  } finally {
    await broker.close();
  }
});
