import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { IClientOptions, MqttClient } from 'mqtt';
import mqtt from 'mqtt';
import { Observable } from 'rxjs';
import type { RawMessage } from './ingest.ts';

/**
 * The MQTT edge: one client per process, shared by the source (subscriptions) and the publishers
 * (alerts, status, later stress and enhanced audio).
 *
 * Lifecycle: construct (no I/O) → `connect()` → `messages()` / `publish()` → `close()`.
 * - Protocol: MQTT 5 where the broker speaks it; `auto` falls back to 3.1.1 when the broker refuses 5
 *   (the embedded aedes broker speaks only 3.1.1).
 * - Reconnects with exponential backoff and jitter (`reconnectMinMs` doubling up to `reconnectMaxMs`),
 *   reset on a successful connection. A persistent session (clean = false, session expiry for MQTT 5)
 *   keeps subscriptions and QoS 1 messages queued by the broker while the pipeline is away.
 * - Outgoing queue: bounded. While disconnected, QoS 1 publishes are queued up to `maxQueuedPublishes`;
 *   beyond that, and for QoS 0 (never queued), they are dropped and counted.
 * Threading: Node's event loop; `messages()` emits synchronously from the client's 'message' event.
 */
export interface MqttConnectionOptions {
  readonly url: string;
  readonly clientIdPrefix: string;
  readonly protocol: 'auto' | 5 | 4;
  readonly username?: string;
  readonly password?: string;
  readonly keepaliveS: number;
  readonly connectTimeoutMs: number;
  readonly reconnectMinMs: number;
  readonly reconnectMaxMs: number;
  readonly sessionExpiryS: number;
  readonly maxQueuedPublishes: number;
  readonly will?: {
    readonly topic: string;
    readonly payload: Buffer;
    readonly qos: 0 | 1;
    readonly retain: boolean;
  };
}

export interface MqttStats {
  readonly connected: boolean;
  readonly protocolVersion: 4 | 5 | undefined;
  readonly connects: number;
  readonly disconnects: number;
  readonly received: number;
  readonly published: number;
  readonly publishDropped: number;
  readonly queued: number;
  readonly lastError?: string;
}

export interface PublishOptions {
  readonly qos: 0 | 1;
  readonly retain?: boolean;
}

export function uniqueClientId(prefix: string): string {
  return `${prefix}-${hostname().slice(0, 16)}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

export class MqttConnection {
  readonly clientId: string;
  private client: MqttClient | undefined;
  private version: 4 | 5 | undefined;
  private backoffMs: number;
  private counters = { connects: 0, disconnects: 0, received: 0, published: 0, publishDropped: 0, queued: 0 };
  private lastError: string | undefined;
  private connectedSince: number | null = null;
  /** Subscriptions sent and not yet acknowledged by the broker (settled either way). */
  private readonly pendingSubscriptions = new Set<Promise<void>>();

  constructor(private readonly opts: MqttConnectionOptions) {
    this.clientId = uniqueClientId(opts.clientIdPrefix);
    this.backoffMs = opts.reconnectMinMs;
  }

  /** Connects (trying MQTT 5 first under `auto`); rejects if the first connection fails within the timeout. */
  async connect(): Promise<void> {
    if (this.opts.protocol === 'auto') {
      try {
        await this.connectWith(5);
      } catch (e) {
        if (!isProtocolRefusal(e)) throw e;
        await this.connectWith(4);
      }
    } else {
      await this.connectWith(this.opts.protocol);
    }
  }

  private connectWith(version: 4 | 5): Promise<void> {
    const o = this.opts;
    const options: IClientOptions = {
      clientId: this.clientId,
      protocolVersion: version,
      clean: false,
      keepalive: o.keepaliveS,
      connectTimeout: o.connectTimeoutMs,
      reconnectPeriod: o.reconnectMinMs,
      queueQoSZero: false,
      resubscribe: true,
      ...(o.username !== undefined ? { username: o.username } : {}),
      ...(o.password !== undefined ? { password: o.password } : {}),
      ...(version === 5
        ? { properties: { sessionExpiryInterval: o.sessionExpiryS, receiveMaximum: 1024 } }
        : {}),
      ...(o.will
        ? { will: { topic: o.will.topic, payload: o.will.payload, qos: o.will.qos, retain: o.will.retain } }
        : {}),
    };
    const client = mqtt.connect(o.url, options);
    return new Promise<void>((resolve, reject) => {
      const onFirstError = (err: Error) => {
        client.removeListener('connect', onFirstConnect);
        client.end(true);
        reject(err);
      };
      const onFirstConnect = () => {
        client.removeListener('error', onFirstError);
        this.client = client;
        this.version = version;
        this.connectedSince = Date.now();
        this.wire(client);
        this.counters.connects++;
        resolve();
      };
      client.once('error', onFirstError);
      client.once('connect', onFirstConnect);
      const timer = setTimeout(() => {
        if (this.client !== client)
          onFirstError(new Error(`no CONNACK from ${o.url} within ${o.connectTimeoutMs} ms`));
      }, o.connectTimeoutMs + 500);
      timer.unref();
    });
  }

  private wire(client: MqttClient): void {
    client.on('connect', () => {
      this.counters.connects++;
      this.connectedSince = Date.now();
      this.backoffMs = this.opts.reconnectMinMs;
      client.options.reconnectPeriod = this.backoffMs;
    });
    client.on('close', () => {
      this.counters.disconnects++;
      this.connectedSince = null;
      // Exponential backoff with ±20 % jitter for the next reconnect attempt (mqtt.js reads this field).
      this.backoffMs = Math.min(this.opts.reconnectMaxMs, this.backoffMs * 2);
      client.options.reconnectPeriod = Math.round(this.backoffMs * (0.8 + 0.4 * Math.random()));
    });
    client.on('error', (err) => {
      this.lastError = err.message;
    });
    client.on('message', () => {
      this.counters.received++;
    });
  }

  /** Wall-clock ms of the current connection's start; null while disconnected. */
  connectedSinceMs(): number | null {
    return this.connectedSince;
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  /**
   * Subscribes and emits every message on the given filters. Hot: messages that arrive while nobody is
   * subscribed are not kept. Unsubscribing the Observable unsubscribes the filters.
   */
  messages(filters: readonly { filter: string; qos: 0 | 1 }[]): Observable<RawMessage> {
    return new Observable<RawMessage>((subscriber) => {
      const client = this.requireClient();
      const onMessage = (topic: string, payload: Buffer) => subscriber.next({ topic, payload });
      client.on('message', onMessage);
      // Each filter with its stream's QoS (0 for audio and camera, 1 for the rest).
      const map = Object.fromEntries(filters.map((f) => [f.filter, { qos: f.qos }]));
      let settle: () => void = () => undefined;
      const acked = new Promise<void>((resolve) => (settle = resolve));
      this.pendingSubscriptions.add(acked);
      client.subscribe(map, (err) => {
        this.pendingSubscriptions.delete(acked);
        settle();
        if (err) subscriber.error(new Error(`subscribe failed: ${err.message}`));
      });
      return () => {
        client.removeListener('message', onMessage);
        if (client.connected) client.unsubscribe(filters.map((f) => f.filter));
      };
    });
  }

  /**
   * Resolves once the broker has acknowledged (or refused) every subscription sent so far: a message
   * published by another client after this is delivered to the filters (before it, it may not be).
   */
  async subscribed(): Promise<void> {
    while (this.pendingSubscriptions.size > 0) await Promise.all(this.pendingSubscriptions);
  }

  /** Publishes without blocking; returns false when the message was dropped (counted). */
  publish(topic: string, payload: Buffer | Uint8Array, opts: PublishOptions): boolean {
    const client = this.client;
    if (client === undefined) {
      this.counters.publishDropped++;
      return false;
    }
    if (!client.connected && (opts.qos === 0 || this.counters.queued >= this.opts.maxQueuedPublishes)) {
      this.counters.publishDropped++;
      return false;
    }
    const queuedOffline = !client.connected;
    if (queuedOffline) this.counters.queued++;
    client.publish(
      topic,
      Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength),
      { qos: opts.qos, retain: opts.retain ?? false },
      (err) => {
        if (queuedOffline) this.counters.queued--;
        if (err) {
          this.counters.publishDropped++;
          this.lastError = err.message;
        } else {
          this.counters.published++;
        }
      },
    );
    return true;
  }

  stats(): MqttStats {
    return {
      connected: this.connected,
      protocolVersion: this.version,
      ...this.counters,
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
    };
  }

  /** Flushes in-flight publishes (bounded by `timeoutMs`) and disconnects cleanly (no last will). */
  async close(timeoutMs = 2000): Promise<void> {
    const client = this.client;
    if (client === undefined) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => client.end(true, {}, () => resolve()), timeoutMs);
      client.end(false, {}, () => {
        clearTimeout(timer);
        resolve();
      });
    });
    this.client = undefined;
  }

  private requireClient(): MqttClient {
    if (this.client === undefined) throw new Error('MqttConnection: connect() first');
    return this.client;
  }
}

function isProtocolRefusal(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  // CONNACK return code 1 (3.1.1: unacceptable protocol version), reason 132 (5: unsupported version),
  // or a broker that just closes the socket on a version it does not know.
  return code === 1 || code === 132 || /protocol|version|closed|ECONNRESET/i.test((e as Error).message ?? '');
}
