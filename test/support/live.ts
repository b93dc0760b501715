import { InfluxDB } from 'influx';
import { parseConfig } from '../../src/config/schema.ts';
import type { Config, ConfigInput } from '../../src/config/schema.ts';
import { MqttConnection } from '../../src/streams/mqtt-connection.ts';

/** Helpers for tests against the real Mosquitto and InfluxDB started by test/harness/services.ts. */

export function testConfig(
  mqttUrl: string,
  influxUrl: string | null,
  over: Partial<ConfigInput> = {},
): Config {
  return parseConfig({
    pipelineId: `test-${process.pid}`,
    mqtt: { url: mqttUrl, protocol: 5, reconnectMinMs: 100, reconnectMaxMs: 1000, connectTimeoutMs: 5000 },
    influx:
      influxUrl === null
        ? null
        : { url: influxUrl, database: `ds_${process.pid}_${Date.now() % 100000}`, batchIntervalMs: 200 },
    windows: { sizeMs: 1000, slideMs: 1000, allowedLatenessMs: 200 },
    status: { intervalMs: 1000 },
    ...over,
  });
}

/** A second client, playing the sensors' side. */
export async function sensorClient(url: string, protocol: 4 | 5 = 5): Promise<MqttConnection> {
  const c = new MqttConnection({
    url,
    clientIdPrefix: 'test-sensor',
    protocol,
    keepaliveS: 30,
    connectTimeoutMs: 5000,
    reconnectMinMs: 100,
    reconnectMaxMs: 1000,
    sessionExpiryS: 600,
    maxQueuedPublishes: 100_000,
  });
  await c.connect();
  return c;
}

export function influxClient(url: string, database: string): InfluxDB {
  const u = new URL(url);
  return new InfluxDB({ host: u.hostname, port: Number(u.port), database });
}

export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string | (() => string),
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`,
      );
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export type Row = Record<string, number | string | boolean | null>;

/** Runs an InfluxQL query; rows carry the GROUP BY tags as fields (the `influx` package's convention). */
export async function queryRows(db: InfluxDB, q: string): Promise<Row[]> {
  const res = await db.query<Row>(q);
  return Array.from(res);
}

/** Rows keyed by one GROUP BY tag. */
export async function queryByTag(db: InfluxDB, q: string, tag: string): Promise<Map<string, Row>> {
  return new Map((await queryRows(db, q)).map((r) => [String(r[tag]), r]));
}

export function num(r: Row | undefined, field: string): number {
  const v = r?.[field];
  if (typeof v !== 'number')
    throw new Error(`field ${field} is ${JSON.stringify(v)} in ${JSON.stringify(r)}`);
  return v;
}
