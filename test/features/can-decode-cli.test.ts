import assert from 'node:assert/strict';
import { decodeDbcBytes } from '../../src/streams/features/can/dbc.ts';
import { spawn, spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { UsageError, parseCommandArgs } from '../../src/cli/command.ts';
import {
  canDecodeCommand,
  canDecodeOptionsFrom,
  formatTimeS,
  runCanDecode,
} from '../../src/cli/commands/can-decode.ts';
import type { CanDecodeOptions, TextSink } from '../../src/cli/commands/can-decode.ts';
import { REPO_ROOT, fixture } from '../readers/shared-data.ts';

const LOG = fixture('rav4-seg40-head.candump');
const DBC = join(REPO_ROOT, 'test/fixtures/can/toyota-rav4-excerpt.dbc');
const PROFILE = join(REPO_ROOT, 'devices/profiles/toyota-rav4-2018.json');
const tmp = mkdtempSync(join(tmpdir(), 'can-decode-test-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** A TextSink collecting text; optionally refusing writes (back-pressure) until drained. */
class Sink extends EventEmitter implements TextSink {
  text = '';
  writes = 0;
  constructor(private readonly pressure = false) {
    super();
  }
  write(chunk: string): boolean {
    this.text += chunk;
    this.writes++;
    if (this.pressure) setImmediate(() => this.emit('drain'));
    return !this.pressure;
  }
}

async function decode(
  over: Partial<CanDecodeOptions>,
  sink = new Sink(),
): Promise<{ out: string; err: string }> {
  const err = new Sink();
  await runCanDecode(
    {
      dbcPath: DBC,
      logPath: LOG,
      profilePath: PROFILE,
      signals: ['speed', 'steering_angle'],
      format: 'csv',
      ...over,
    },
    { stdout: sink, stderr: err },
  );
  return { out: sink.text, err: err.text };
}

describe('can decode (in-process)', () => {
  test('CSV of the RAV4 log head: one row per 0xAA / 0x25 frame on can0, exact µs times', async () => {
    const { out, err } = await decode({});
    const lines = out.trimEnd().split('\n');
    assert.equal(lines[0], 'time_s,speed,steering_angle');
    // The 300-line head holds 10 frames of 0x25 and 10 of 0xAA on can0 (grep ' can0 025#\| can0 0AA#').
    assert.equal(lines.length, 1 + 20);
    // Line 5 of the log: (1533226488.230959) can0 025#00001000C00000FD: angle 0, fraction 0xC → −4 × 0.1.
    assert.equal(lines[1], `1533226488.230959,,${0 * 1.5 + -4 * 0.1}`);
    // Line 17: (1533226488.235503) can0 0AA#25B525B525A0258D (see can-profile.test.ts).
    const k = (raw: number): number => (raw * 0.01 + -67.67) / 3.6;
    assert.equal(lines[2], `1533226488.235503,${(k(9653) + k(9653) + k(9613) + k(9632)) / 4},`);
    assert.match(
      err,
      /columns: speed \[m\/s\] ← WHEEL_SPEEDS 0xAA on can0; steering_angle \[deg\] ← STEER_ANGLE_SENSOR 0x25 on can0/,
    );
    assert.match(err, /decoded 300 frames \(0 malformed line\(s\)\) → 20 rows/);
  });

  test('JSON Lines, MESSAGE.SIGNAL names, --bus, and gzip input give the same values', async () => {
    const gz = join(tmp, 'head.candump.gz');
    writeFileSync(gz, gzipSync(readFileSync(LOG)));
    const { out } = await decode({
      logPath: gz,
      profilePath: undefined,
      signals: ['BRAKE_MODULE.BRAKE_PRESSED', '0x25.STEER_RATE'],
      format: 'json',
      bus: 'can1',
      quiet: true,
    });
    const rows = out
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, number>);
    // On can1 the head has 0x224 frames (radar) but no 0x25; BRAKE_PRESSED is bit 5 of byte 0.
    // First: (1533226488.242203) can1 224#93F60000000404BF: 0x93 = 0b1001_0011 → bit 5 = 0.
    assert.deepEqual(rows[0], {
      t_us: 1533226488242203,
      time_s: 1533226488.242203,
      'BRAKE_MODULE.BRAKE_PRESSED': 0,
    });
    // The head has three 0x224 frames on can1 (grep ' can1 224#').
    assert.equal(rows.length, 3);
    assert.ok(rows.every((r) => r['0x25.STEER_RATE'] === undefined && r.t_us !== undefined));
    const none = await decode({
      signals: ['0x25.STEER_RATE'],
      profilePath: undefined,
      bus: 'can0',
      quiet: true,
    });
    assert.equal(none.out.trimEnd().split('\n').length, 1 + 10);
  });

  test('respects back-pressure (waits for drain) and produces the same output', async () => {
    const plain = await decode({ quiet: true });
    const slow = new Sink(true);
    const pressured = await decode({ quiet: true }, slow);
    assert.equal(pressured.out, plain.out);
  });

  test('progress on stderr for long logs, at most once per second of (injected) wall time', async () => {
    // 60 copies of the head: 18,000 frames; progress is checked every 16,384 frames.
    const long = join(tmp, 'progress.candump');
    writeFileSync(long, readFileSync(LOG, 'utf8').repeat(60));
    let clock = 0;
    const err = new Sink();
    await runCanDecode(
      { dbcPath: DBC, logPath: long, signals: ['SPEED.SPEED'], format: 'csv' },
      { stdout: new Sink(), stderr: err, nowMs: () => (clock += 1000) },
    );
    // Clock reads: 1 s at the start, 2 s at frame 16,384 (a second later: report), 3 s at the end.
    assert.match(err.text, /\n… 16384 frames, \d+ rows, 1\.0 s\n/);
    assert.match(err.text, /→ 300 rows in 2\.00 s/);
    // --quiet silences it.
    const quiet = new Sink();
    await runCanDecode(
      { dbcPath: DBC, logPath: long, signals: ['SPEED.SPEED'], format: 'csv', quiet: true },
      { stdout: new Sink(), stderr: quiet, nowMs: () => (clock += 600) },
    );
    assert.equal(quiet.text, '');
  });

  test('a reader that goes away stops the decode with OutputClosedError', async () => {
    const sink = new Sink();
    sink.write = () => {
      setImmediate(() => sink.emit('close'));
      return false;
    };
    await assert.rejects(decode({ quiet: true }, sink), { name: 'OutputClosedError' });
  });

  test('usage errors: unknown names, bad DBC (with its line), bad profile', async () => {
    await assert.rejects(
      decode({ signals: ['nope'] }),
      (e: unknown) => e instanceof UsageError && /has no signal "nope"/.test(e.message),
    );
    await assert.rejects(
      decode({ signals: ['speed'], profilePath: undefined }),
      (e: unknown) => e instanceof UsageError && /no vehicle profile was given/.test(e.message),
    );
    const badDbc = join(tmp, 'bad.dbc');
    writeFileSync(badDbc, 'VERSION ""\nBO_ 1 M: 8 X\n SG_ S : 0|8@3+ (1,0) [0|0] "" X\n');
    await assert.rejects(
      decode({ dbcPath: badDbc, signals: ['M.S'] }),
      (e: unknown) =>
        e instanceof UsageError &&
        e.message === `bad DBC: ${badDbc}:3: bad byte order/sign "3+" (expected 0+, 0-, 1+ or 1-)`,
    );
    const badProfile = join(tmp, 'bad.json');
    writeFileSync(
      badProfile,
      JSON.stringify({ id: 'x', signals: { speed: { inputs: ['SPEED.SPEED'], unit: 'km/h' } } }),
    );
    await assert.rejects(
      decode({ profilePath: badProfile }),
      (e: unknown) => e instanceof UsageError && /speed must be in m\/s/.test(e.message),
    );
    await assert.rejects(decode({ logPath: join(tmp, 'missing.log') }), /ENOENT/);
  });

  test('option parsing', () => {
    // As main() hands them over: `drivesense can decode …` minus the command words.
    const parse = (argv: string[]) =>
      canDecodeOptionsFrom(parseCommandArgs(canDecodeCommand, argv[0] === 'decode' ? argv.slice(1) : argv));
    assert.deepEqual(
      parse(['decode', '--dbc', 'a.dbc', '--log', 'l.log', '--signals', 'speed, steering_angle,', '--json']),
      {
        dbcPath: 'a.dbc',
        logPath: 'l.log',
        signals: ['speed', 'steering_angle'],
        profilePath: undefined,
        bus: undefined,
        includeTx: undefined,
        format: 'json',
        quiet: false,
      },
    );
    assert.throws(() => parse(['decode', '--log', 'b', '--signals', 's']), /--dbc is required/);
    assert.throws(() => parse(['decode', '--dbc', 'a', '--log', 'b', '--signals', ' , ']), /names no signal/);
    assert.throws(
      () => parse(['decode', '--dbc', 'a', '--log', 'b', '--signals', 's', '--csv', '--json']),
      /exclude each other/,
    );
    assert.throws(
      () => parse(['decode', 'extra', '--dbc', 'a', '--log', 'b', '--signals', 's']),
      /unexpected argument "extra"/,
    );
    assert.throws(() => parse(['decode', '--bogus']), UsageError);
  });

  test('helpers: exact time formatting, DBC text decoding falls back to Latin-1', () => {
    assert.equal(formatTimeS(1533226488230930), '1533226488.230930');
    assert.equal(formatTimeS(5), '0.000005');
    assert.equal(formatTimeS(-1500000), '-1.500000');
    assert.equal(decodeDbcBytes(Uint8Array.from([0x43, 0xb0])), 'C°'); // 0xB0 alone is not UTF-8: Latin-1 '°'
    assert.equal(decodeDbcBytes(Buffer.from('C°', 'utf8')), 'C°');
  });
});

// ---------------------------------------------------------------------------------------------------------
// The command as a process (the lead registers it in src/cli/main.ts; here a minimal stand-in for main)
// ---------------------------------------------------------------------------------------------------------

function runnerArgs(args: string[]): string[] {
  // The real entry point, as a user runs it: drivesense can decode …
  return ['bin/drivesense.js', 'can', ...args];
}

describe('can decode (process)', () => {
  test('writes CSV to stdout, exit 0; usage error exit 2', () => {
    const ok = spawnSync(
      process.execPath,
      runnerArgs([
        'decode',
        '--dbc',
        DBC,
        '--log',
        LOG,
        '--profile',
        PROFILE,
        '--signals',
        'speed',
        '--quiet',
      ]),
      {
        cwd: REPO_ROOT,
        encoding: 'utf8',
      },
    );
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(ok.stdout.trimEnd().split('\n').length, 1 + 10);
    assert.equal(ok.stderr, '');
    const bad = spawnSync(process.execPath, runnerArgs(['decode', '--dbc', DBC]), {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--log is required/);
  });

  test('a reader closing the pipe early (| head) ends the command quietly with 0', async () => {
    // A long log: the head repeated 1000 times (300,000 lines, 20,000 rows, ~1 MB of CSV).
    const head = readFileSync(LOG, 'utf8');
    const long = join(tmp, 'long.candump');
    writeFileSync(long, head.repeat(1000));
    const child = spawn(
      process.execPath,
      runnerArgs([
        'decode',
        '--dbc',
        DBC,
        '--log',
        long,
        '--signals',
        'WHEEL_SPEEDS.WHEEL_SPEED_FL',
        '--quiet',
      ]),
      {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const first = await new Promise<string>((resolve) =>
      child.stdout.once('data', (d: Buffer) => resolve(d.toString())),
    );
    assert.match(first, /^time_s,WHEEL_SPEEDS\.WHEEL_SPEED_FL\n/);
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    assert.equal(code, 0, stderr);
  });
});
