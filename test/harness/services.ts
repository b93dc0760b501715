/**
 * Real-service test harness: Mosquitto 2 and InfluxDB 1.x run as child processes of the test process, each
 * on free loopback ports (127.0.0.1 only) with its own temp directory and generated config, so test files
 * running concurrently never share a port, a file or a database.
 *
 * Lifecycle of a handle: `start*()` resolves once the service answers on its port → any number of
 * `kill()` (SIGKILL) / `stop()` (SIGTERM, graceful) followed by `restart()` (same ports, config and data) →
 * `close()` (stop and delete the temp dir; idempotent). If the test process exits (normally, by an uncaught
 * error, or on SIGINT/SIGTERM/SIGHUP) every child still running is SIGKILLed and every temp dir removed.
 *
 * Time: this harness manages real processes and uses wall-clock timers (setTimeout, Date.now) for its
 * polling and time-outs; it is test infrastructure, not pipeline code, so no scheduler is injected.
 *
 * Ports: the OS picks them (listen on port 0, read it, close). Between that close and the child's bind
 * another process could take the port; the harness detects this (the child exits with "address in use",
 * or the listening socket is not the child's own, checked through /proc) and retries with new ports.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  accessSync,
  closeSync,
  constants as fsConstants,
  existsSync,
  openSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** The command a non-root user must run once to get the real services. */
export const INSTALL_COMMAND = 'sudo apt-get install -y mosquitto influxdb';

const LOOPBACK = '127.0.0.1';
const READY_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 20_000;
const POLL_MS = 25;
const START_ATTEMPTS = 5;

/** Common shape of a service handle. */
export interface ServiceHandle {
  readonly host: string;
  /** Main port (MQTT for Mosquitto, HTTP for InfluxDB); the same across restarts. */
  readonly port: number;
  readonly url: string;
  /** The service's temp dir: config, data and log live here. */
  readonly dir: string;
  readonly configFile: string;
  readonly logFile: string;
  /** True while the child process is alive. */
  readonly running: boolean;
  /** Hard crash: SIGKILL, resolves once the process has exited. No-op when not running. */
  kill(): Promise<void>;
  /** Graceful stop: SIGTERM (SIGKILL after 20 s), resolves once the port refuses connections. */
  stop(): Promise<void>;
  /** Start again on the same port(s) with the same config and data dir (stops it first if running). */
  restart(): Promise<void>;
  /** Stop (if running) and delete the temp dir. Idempotent. */
  close(): Promise<void>;
  /** Last lines of the service's log, for error messages. */
  logTail(lines?: number): string;
}

export interface MosquittoService extends ServiceHandle {
  /** mqtt://127.0.0.1:PORT */
  readonly url: string;
  readonly persistence: boolean;
}

export interface InfluxService extends ServiceHandle {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  /** The RPC (backup/restore) port, also bound to 127.0.0.1 only. */
  readonly rpcPort: number;
}

export interface MosquittoOptions {
  /**
   * Keep sessions, subscriptions and queued QoS 1/2 messages across restarts. The in-memory database is
   * saved after every change (autosave_on_changes with autosave_interval 1) and at a graceful exit, so
   * even a `kill()` (SIGKILL) keeps what was queued before it. Default false.
   */
  readonly persistence?: boolean;
}

// ---------------------------------------------------------------------------------------------------
// Packages

/** Absolute path of an executable, looking in PATH and the sbin dirs a non-root PATH often lacks. */
export function findBinary(name: string): string | undefined {
  const dirs = [
    ...(process.env['PATH'] ?? '').split(path.delimiter),
    '/usr/local/sbin',
    '/usr/local/bin',
    '/usr/sbin',
    '/usr/bin',
    '/sbin',
    '/bin',
  ];
  for (const dir of dirs) {
    if (dir === '') continue;
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export interface ServiceBinaries {
  readonly mosquitto: string;
  readonly influxd: string;
}

/**
 * Makes sure the `mosquitto` and `influxd` binaries exist. As root it installs the Debian packages
 * (`apt-get update`, then `apt-get install -y mosquitto influxdb` non-interactively, with a temporary
 * policy-rc.d so the packages' system services are not started and bind nothing); otherwise it throws an
 * Error whose message is exactly the command to run ({@link INSTALL_COMMAND}). Synchronous.
 */
export function ensureServicePackages(): ServiceBinaries {
  const found = (): Partial<ServiceBinaries> => ({
    mosquitto: findBinary('mosquitto'),
    influxd: findBinary('influxd'),
  });
  let bins = found();
  if (bins.mosquitto !== undefined && bins.influxd !== undefined) {
    return { mosquitto: bins.mosquitto, influxd: bins.influxd };
  }
  if (process.getuid?.() !== 0) throw new Error(INSTALL_COMMAND);

  const policy = '/usr/sbin/policy-rc.d';
  const ownPolicy = !existsSync(policy);
  if (ownPolicy)
    writeFileSync(policy, '#!/bin/sh\n# temporary, drivesense test harness\nexit 101\n', { mode: 0o755 });
  try {
    runOrThrow('apt-get', ['update']);
    runOrThrow('apt-get', ['install', '-y', 'mosquitto', 'influxdb']);
  } finally {
    if (ownPolicy) unlinkSync(policy);
  }
  bins = found();
  if (bins.mosquitto === undefined || bins.influxd === undefined) {
    throw new Error('mosquitto or influxd is still missing after apt-get install -y mosquitto influxdb');
  }
  return { mosquitto: bins.mosquitto, influxd: bins.influxd };
}

function runOrThrow(command: string, args: readonly string[]): void {
  const result = spawnSync(command, args, {
    stdio: ['ignore', 2, 2], // progress to stderr, so it never mixes with a test reporter on stdout
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (result.error !== undefined) throw new Error(`${command} ${args.join(' ')}: ${result.error.message}`);
  if (result.status !== 0)
    throw new Error(`${command} ${args.join(' ')} exited with ${String(result.status)}`);
}

// ---------------------------------------------------------------------------------------------------
// Process-exit cleanup

const liveChildren = new Set<ChildProcess>();
const tempDirs = new Set<string>();
let cleanupInstalled = false;

function cleanupNow(): void {
  for (const child of liveChildren) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  liveChildren.clear();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.on('exit', cleanupNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      cleanupNow();
      // Re-raise so the default action (termination) happens, unless someone else handles the signal.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}

// ---------------------------------------------------------------------------------------------------
// Ports

/** A port the OS considers free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not read the port the OS assigned'));
      });
    });
  });
}

/** Resolves true if a TCP connection to 127.0.0.1:port succeeds within timeoutMs. */
export function canConnect(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: LOOPBACK, port });
    const done = (ok: boolean): void => {
      socket.removeAllListeners();
      socket.on('error', () => undefined);
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Whether the LISTEN socket on 127.0.0.1:port belongs to process `pid` (Linux /proc). Returns true when
 * /proc cannot tell (other OSes), so it only ever guards against a port taken by someone else.
 */
function listenerOwnedBy(pid: number, port: number): boolean {
  let table: string;
  try {
    table = readFileSync('/proc/net/tcp', 'utf8');
  } catch {
    return true;
  }
  const wanted = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const inodes = new Set<string>();
  for (const line of table.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols[1] === wanted && cols[3] === '0A' && cols[9] !== undefined) inodes.add(cols[9]);
  }
  if (inodes.size === 0) return false;
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return true;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m?.[1] !== undefined && inodes.has(m[1])) return true;
    } catch {
      // fd closed meanwhile
    }
  }
  return false;
}

function httpStatus(port: number, urlPath: string, timeoutMs = 1000): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = http.get({ host: LOOPBACK, port, path: urlPath, timeout: timeoutMs, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(undefined));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

// ---------------------------------------------------------------------------------------------------
// One supervised child process

class PortInUseError extends Error {}

interface ProcessSpec {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly logFile: string;
  /** Ports the child must own (checked through /proc) once ready. */
  readonly ports: () => readonly number[];
  /** The service's own readiness probe (TCP connect, HTTP ping). */
  readonly probe: () => Promise<boolean>;
}

class Supervised {
  private child: ChildProcess | undefined;
  private exit: Promise<void> = Promise.resolve();
  private exitInfo: string | undefined;

  constructor(private readonly spec: ProcessSpec) {}

  get running(): boolean {
    return this.child !== undefined && this.exitInfo === undefined;
  }

  /** Spawns the child and resolves when it is ready; throws PortInUseError when its port was taken. */
  async start(): Promise<void> {
    if (this.running) throw new Error(`${this.spec.name} is already running`);
    const { name, command, args, cwd, logFile } = this.spec;
    const logFd = openSync(logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(command, [...args], { cwd, stdio: ['ignore', logFd, logFd], env: process.env });
    } finally {
      closeSync(logFd);
    }
    this.child = child;
    this.exitInfo = undefined;
    liveChildren.add(child);
    this.exit = new Promise((resolve) => {
      const finish = (info: string): void => {
        this.exitInfo ??= info;
        liveChildren.delete(child);
        resolve();
      };
      child.once('exit', (code, signal) =>
        finish(signal !== null ? `signal ${signal}` : `code ${String(code)}`),
      );
      child.once('error', (err) => finish(`spawn error: ${err.message}`));
    });

    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (this.exitInfo !== undefined) {
        const log = tail(logFile, 20);
        if (/address already in use|Address in use/i.test(log)) throw new PortInUseError(log);
        throw new Error(`${name} exited (${this.exitInfo}) before it was ready. Log tail:\n${log}`);
      }
      const pid = child.pid;
      // Ready when the service answers and the listening socket is its own (not a port-stealer's).
      if (
        pid !== undefined &&
        (await this.spec.probe()) &&
        this.spec.ports().every((p) => listenerOwnedBy(pid, p))
      ) {
        return;
      }
      if (Date.now() > deadline) {
        await this.kill();
        throw new Error(
          `${name} was not ready within ${READY_TIMEOUT_MS} ms. Log tail:\n${tail(logFile, 20)}`,
        );
      }
      await sleep(POLL_MS);
    }
  }

  async kill(): Promise<void> {
    if (!this.running) return;
    this.child?.kill('SIGKILL');
    await this.exit;
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.child?.kill('SIGTERM');
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), STOP_TIMEOUT_MS);
    try {
      await this.exit;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Creates the temp dir, and runs `start` with fresh ports until no port collision happens. */
async function startWithFreshPorts<T>(prefix: string, attempt: (dir: string) => Promise<T>): Promise<T> {
  installCleanup();
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  tempDirs.add(dir);
  try {
    for (let i = 1; ; i++) {
      try {
        return await attempt(dir);
      } catch (err) {
        if (!(err instanceof PortInUseError) || i >= START_ATTEMPTS) throw err;
      }
    }
  } catch (err) {
    tempDirs.delete(dir);
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

async function waitRefused(port: number, name: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (await canConnect(port, 200)) {
    if (Date.now() > deadline)
      throw new Error(`${name} exited but 127.0.0.1:${port} still accepts connections`);
    await sleep(POLL_MS);
  }
}

function makeHandle<Extra extends object>(
  proc: Supervised,
  base: { host: string; port: number; url: string; dir: string; configFile: string; logFile: string },
  portsToRefuse: readonly number[],
  name: string,
  extra: Extra,
): ServiceHandle & Extra {
  let closed = false;
  const stop = async (): Promise<void> => {
    await proc.stop();
    for (const port of portsToRefuse) await waitRefused(port, name);
  };
  return {
    ...base,
    ...extra,
    get running() {
      return proc.running;
    },
    kill: async () => {
      await proc.kill();
      for (const port of portsToRefuse) await waitRefused(port, name);
    },
    stop,
    restart: async () => {
      if (closed) throw new Error(`${name} was closed`);
      await stop();
      try {
        await proc.start();
      } catch (err) {
        if (err instanceof PortInUseError) {
          throw new Error(`${name} cannot restart: port ${base.port} was taken meanwhile. ${err.message}`);
        }
        throw err;
      }
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await stop();
      tempDirs.delete(base.dir);
      await rm(base.dir, { recursive: true, force: true });
    },
    logTail: (lines = 20) => tail(base.logFile, lines),
  };
}

// ---------------------------------------------------------------------------------------------------
// Mosquitto

export async function startMosquitto(opts: MosquittoOptions = {}): Promise<MosquittoService> {
  const bins = ensureServicePackages();
  const persistence = opts.persistence ?? false;
  return startWithFreshPorts('drivesense-mosquitto-', async (dir) => {
    const port = await freePort();
    const configFile = path.join(dir, 'mosquitto.conf');
    const logFile = path.join(dir, 'mosquitto.log');
    const conf = [
      `listener ${port} ${LOOPBACK}`,
      'allow_anonymous true',
      // Started as root, Mosquitto would switch to the `mosquitto` user, which cannot write our temp dir.
      `user ${os.userInfo().username}`,
      `persistence ${persistence ? 'true' : 'false'}`,
      ...(persistence
        ? [`persistence_location ${dir}${path.sep}`, 'autosave_on_changes true', 'autosave_interval 1']
        : []),
      `log_dest file ${logFile}`,
      'log_type error',
      'log_type warning',
      'log_type notice',
      'log_type information',
      'connection_messages true',
      'log_timestamp true',
      '',
    ].join('\n');
    await writeFile(configFile, conf);
    await writeFile(logFile, ''); // a fresh log per attempt, so an old "address in use" cannot mislead
    const proc = new Supervised({
      name: `mosquitto on ${LOOPBACK}:${port}`,
      command: bins.mosquitto,
      args: ['-c', configFile],
      cwd: dir,
      logFile,
      ports: () => [port],
      probe: () => canConnect(port),
    });
    await proc.start();
    return makeHandle(
      proc,
      { host: LOOPBACK, port, url: `mqtt://${LOOPBACK}:${port}`, dir, configFile, logFile },
      [port],
      'mosquitto',
      { persistence },
    );
  });
}

// ---------------------------------------------------------------------------------------------------
// InfluxDB 1.x

export async function startInfluxd(): Promise<InfluxService> {
  const bins = ensureServicePackages();
  return startWithFreshPorts('drivesense-influxd-', async (dir) => {
    const port = await freePort();
    let rpcPort = await freePort();
    while (rpcPort === port) rpcPort = await freePort();
    const configFile = path.join(dir, 'influxdb.conf');
    const logFile = path.join(dir, 'influxd.log');
    for (const sub of ['meta', 'data', 'wal']) await mkdir(path.join(dir, sub), { recursive: true });
    const q = (s: string): string => JSON.stringify(s);
    const conf = [
      // Debian's 1.6 build spells it reporting-enabled; upstream spells it reporting-disabled. Both are
      // given; each build ignores the key it does not know.
      'reporting-enabled = false',
      'reporting-disabled = true',
      `bind-address = ${q(`${LOOPBACK}:${rpcPort}`)}`,
      '[meta]',
      `  dir = ${q(path.join(dir, 'meta'))}`,
      '  logging-enabled = false',
      '[data]',
      `  dir = ${q(path.join(dir, 'data'))}`,
      `  wal-dir = ${q(path.join(dir, 'wal'))}`,
      '  index-version = "inmem"',
      '  query-log-enabled = false',
      '  trace-logging-enabled = false',
      '[monitor]',
      '  store-enabled = false',
      '[http]',
      '  enabled = true',
      `  bind-address = ${q(`${LOOPBACK}:${port}`)}`,
      '  auth-enabled = false',
      '  log-enabled = false',
      '  pprof-enabled = false',
      '[subscriber]',
      '  enabled = false',
      '[continuous_queries]',
      '  enabled = false',
      '  log-enabled = false',
      '[logging]',
      '  level = "warn"',
      '  suppress-logo = true',
      '',
    ].join('\n');
    await writeFile(configFile, conf);
    await writeFile(logFile, '');
    const proc = new Supervised({
      name: `influxd on ${LOOPBACK}:${port}`,
      command: bins.influxd,
      args: ['run', '-config', configFile],
      cwd: dir,
      logFile,
      ports: () => [port, rpcPort],
      probe: async () => (await httpStatus(port, '/ping')) === 204,
    });
    await proc.start();
    return makeHandle(
      proc,
      { host: LOOPBACK, port, url: `http://${LOOPBACK}:${port}`, dir, configFile, logFile },
      [port, rpcPort],
      'influxd',
      { rpcPort },
    );
  });
}
