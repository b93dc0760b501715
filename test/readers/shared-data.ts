/**
 * Paths for reader tests: committed fixtures, and the real data in ../shared (present on developer machines
 * and CI, absent on users' machines: tests that need it skip with `SHARED_SKIP` as the reason).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const FIXTURES = resolve(REPO_ROOT, 'test/fixtures/readers');
/** `DRIVESENSE_SHARED_DATA` overrides the location (point it at a missing directory to test as a user). */
export const SHARED_DATA = resolve(
  process.env['DRIVESENSE_SHARED_DATA'] ?? resolve(REPO_ROOT, '../shared/data'),
);
export const HAS_SHARED = existsSync(resolve(SHARED_DATA, 'README.md'));
/** `skip` option for tests needing ../shared: false when it is there, else the reason. */
export const SHARED_SKIP: false | string = HAS_SHARED
  ? false
  : `needs the real data in ${SHARED_DATA} (absent)`;

export function fixture(name: string): string {
  return resolve(FIXTURES, name);
}

export function shared(path: string): string {
  return resolve(SHARED_DATA, path);
}
