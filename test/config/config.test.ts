import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { it } from 'node:test';
import { ConfigError, parseConfig } from '../../src/config/schema.ts';
import { renderConfigDocs } from '../../scripts/gen-config-docs.ts';

it('fills every default from an empty config', () => {
  const c = parseConfig({});
  assert.equal(c.mqtt.protocol, 'auto');
  assert.equal(c.windows.sizeMs, 1000);
  assert.equal(c.streams.weather.holdsWatermark, false);
  assert.equal(c.influx, null);
  assert.equal(parseConfig({ influx: {} }).influx?.retentionPolicy.duration, 'INF');
});

it('lets one field of a stream be set alone', () => {
  const c = parseConfig({ streams: { camera: { faultTimeoutMs: null } } });
  assert.equal(c.streams.camera.faultTimeoutMs, null);
  assert.equal(c.streams.camera.idleMs, 5000);
});

it('reports every problem with its path', () => {
  assert.throws(
    () =>
      parseConfig(
        { mqtt: { url: 'localhost', keepaliveS: 1 }, windows: { sizeMs: 1000, slideMs: 300 }, extra: true },
        'x.json',
      ),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /^x\.json is invalid:/);
      assert.match(e.message, /mqtt\.url:/);
      assert.match(e.message, /mqtt\.keepaliveS:/);
      assert.match(e.message, /windows: windows\.sizeMs must be a multiple of slideMs/);
      assert.match(e.message, /Unrecognized key: "extra"/);
      return true;
    },
  );
});

it('docs/config.md is generated from the current schema', async () => {
  const committed = await readFile(new URL('../../docs/config.md', import.meta.url), 'utf8');
  assert.equal(committed, renderConfigDocs(), 'run `npm run docs:config`');
});
