import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import type { CanProfileResources } from '../driving-extractor.ts';
import { decodeDbcBytes, parseDbc } from './dbc.ts';
import { parseVehicleProfileText } from './profile.ts';

/**
 * Loads a vehicle profile and the DBC it names (a path relative to the profile's own directory, unless
 * absolute). I/O edge, used at start-up: errors name the file.
 */
export async function loadCanProfile(profilePath: string): Promise<CanProfileResources> {
  const profile = parseVehicleProfileText(await readFile(profilePath, 'utf8'), profilePath);
  if (profile.dbc === undefined) throw new Error(`${profilePath}: the profile names no "dbc" file`);
  const dbcPath = isAbsolute(profile.dbc) ? profile.dbc : join(dirname(profilePath), profile.dbc);
  const db = parseDbc(decodeDbcBytes(await readFile(dbcPath)), { source: dbcPath });
  return { db, profile };
}
