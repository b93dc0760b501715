/**
 * Contract of deploy/: the systemd unit starts this project's CLI with Node flags this Node accepts, and the
 * example config is one the pipeline loads.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';
import { loadConfig } from '../../src/config/schema.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const INSTALL_DIR = '/opt/drivesense/';

/** The unit's ExecStart split into the Node binary, its flags, the script and the script's arguments. */
function execStart(): { node: string; flags: string[]; script: string; args: string[] } {
  const unit = readFileSync(resolve(ROOT, 'deploy/drivesense.service'), 'utf8');
  const lines = unit.split('\n').filter((l) => l.startsWith('ExecStart='));
  assert.equal(lines.length, 1, 'one ExecStart line');
  const [node, ...rest] = lines[0]!.slice('ExecStart='.length).trim().split(/\s+/);
  const scriptAt = rest.findIndex((w) => !w.startsWith('-'));
  assert.ok(node !== undefined && scriptAt >= 0, 'ExecStart names node and a script');
  return { node, flags: rest.slice(0, scriptAt), script: rest[scriptAt]!, args: rest.slice(scriptAt + 1) };
}

it('the systemd unit runs bin/drivesense.js run --config … with Node flags this Node accepts', () => {
  const { node, flags, script, args } = execStart();
  assert.match(node, /\/node$/);
  assert.ok(script.startsWith(INSTALL_DIR), `${script} is under ${INSTALL_DIR}`);
  assert.ok(existsSync(resolve(ROOT, script.slice(INSTALL_DIR.length))), `${script} exists in the project`);
  assert.deepEqual(args.slice(0, 2), ['run', '--config']);
  assert.ok(
    flags.includes('--initial-old-space-size=128'),
    'docs/performance.md: the garbage-collection state',
  );
  const probe = spawnSync(process.execPath, [...flags, '-e', 'process.exit(0)'], { encoding: 'utf8' });
  assert.equal(probe.status, 0, `node ${flags.join(' ')}: ${probe.stderr}`);
  const bad = spawnSync(process.execPath, ['--no-such-v8-flag', '-e', 'process.exit(0)'], {
    encoding: 'utf8',
  });
  assert.notEqual(bad.status, 0, 'an unknown flag is refused, so the check above can fail');
});

it('the example config loads', async () => {
  const config = await loadConfig(resolve(ROOT, 'deploy/drivesense.example.json'));
  assert.equal(config.pipelineId, 'car-gateway-1');
});
