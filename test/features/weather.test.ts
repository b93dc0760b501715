import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { it } from 'node:test';
import { decodeWeather, encodeWeather } from '../../src/streams/contracts/weather.ts';
import type { WeatherObservation } from '../../src/streams/contracts/messages.ts';
import {
  CONTEXT_FEATURES,
  contextVector,
  solarElevationDeg,
  weatherContext,
  wmoCategory,
} from '../../src/streams/features/weather.ts';

/** The committed real Open-Meteo response (Chicago, 2026-01-14 21:00 local, imperial units). */
async function sample(): Promise<WeatherObservation> {
  const raw = JSON.parse(
    await readFile(new URL('../../devices/sample-drive/weather.json', import.meta.url), 'utf8'),
  ) as Record<string, unknown>;
  return decodeWeather(
    encodeWeather({
      ...(raw as { current: Record<string, number | string | null> }),
      v: 1,
      session: 1,
      seq: 0,
    }),
  );
}

it('converts the real imperial-unit response to SI and finds it is night in Chicago at 21:00', async () => {
  const c = weatherContext(await sample());
  assert.ok(Math.abs((c.temperatureC ?? NaN) - (17.5 - 32) * (5 / 9)) < 1e-9); // 17.5 °F = −8.06 °C
  assert.ok(Math.abs((c.apparentTemperatureC ?? NaN) - (5.4 - 32) * (5 / 9)) < 1e-9);
  assert.ok(Math.abs((c.windSpeedMs ?? NaN) - 13.6 * 0.44704) < 1e-9); // 13.6 mp/h = 6.08 m/s
  assert.ok(Math.abs((c.windGustMs ?? NaN) - 30.4 * 0.44704) < 1e-9);
  assert.equal(c.precipitationMm, 0); // rain 0 + showers 0 (inch)
  assert.equal(c.wmoCode, 3);
  assert.equal(c.wmoCategory, 'cloudy');
  assert.equal(c.relativeHumidityPct, 64);
  assert.equal(c.localHour, 21);
  assert.equal(c.isDay, false);
  assert.ok((c.solarElevationDeg ?? 0) < -20, `sun at ${c.solarElevationDeg}°`);
  assert.deepEqual([...c.missing].sort(), ['visibility']);
});

it('computes the solar elevation at known positions within half a degree', () => {
  // June solstice, Greenwich, ~solar noon (12:02 UTC): 90 − 51.48 + 23.44 = 61.96°.
  const june = Date.parse('2026-06-21T12:02:00Z') * 1000;
  assert.ok(Math.abs(solarElevationDeg(june, 51.4769, 0) - 61.96) < 0.5);
  // March equinox at the equator, solar noon at 0° E (~12:07 UTC): about 90°.
  const march = Date.parse('2026-03-20T12:07:00Z') * 1000;
  assert.ok(solarElevationDeg(march, 0, 0) > 89);
  // Midnight at Greenwich in June: below the horizon.
  assert.ok(solarElevationDeg(Date.parse('2026-06-21T00:00:00Z') * 1000, 51.4769, 0) < 0);
});

it('marks absent fields and unknown units as missing, never as zero', () => {
  const o: WeatherObservation = {
    kind: 'weather',
    sessionId: 1,
    seq: 1,
    tUs: Date.parse('2026-01-15T03:00:00Z') * 1000,
    endUs: Date.parse('2026-01-15T03:00:00Z') * 1000,
    bytes: 0,
    current: { temperature_2m: 300, wind_speed_10m: 10 },
    units: { temperature_2m: 'K' },
  };
  const c = weatherContext(o);
  assert.equal(c.temperatureC, null, 'kelvin is not a unit this code knows');
  assert.ok(Math.abs((c.windSpeedMs ?? NaN) - 10 / 3.6) < 1e-12, 'Open-Meteo default km/h');
  assert.equal(c.isDay, null, 'no is_day and no coordinates');
  assert.ok(
    c.missing.includes('temperature_2m') &&
      c.missing.includes('precipitation') &&
      c.missing.includes('is_day'),
  );
  const v = contextVector(c);
  assert.equal(v.values.length, CONTEXT_FEATURES.length);
  const at = (name: (typeof CONTEXT_FEATURES)[number]) => CONTEXT_FEATURES.indexOf(name);
  assert.equal(v.mask[at('temperature_c')], 0);
  assert.equal(v.values[at('temperature_c')], 0);
  assert.equal(v.mask[at('wind_speed_ms')], 1);
  assert.equal(v.mask[at('hour_sin')], 1, 'time of day is always known');
  assert.equal(v.mask[at('wmo_fog')], 0, 'no weather code, no category');
});

it('groups WMO codes as Open-Meteo documents them', () => {
  assert.deepEqual([0, 2, 45, 53, 63, 75, 81, 95, 4, 100, 1.5].map(wmoCategory), [
    'clear',
    'cloudy',
    'fog',
    'drizzle',
    'rain',
    'snow',
    'showers',
    'thunderstorm',
    null,
    null,
    null,
  ]);
});
