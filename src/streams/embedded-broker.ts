import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { Aedes } from 'aedes';

/**
 * The embedded MQTT broker (aedes, in-process) for the first-run demo and for users without a broker.
 * It speaks MQTT 3.1.1 only and keeps messages in memory. Tests of the real path use Mosquitto instead.
 * Binds to loopback; port 0 picks a free port.
 */
export interface EmbeddedBroker {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startEmbeddedBroker(port = 0, host = '127.0.0.1'): Promise<EmbeddedBroker> {
  const aedes = await Aedes.createBroker();
  const server = createServer((socket) => aedes.handle(socket));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `mqtt://${host}:${bound}`,
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => aedes.close(() => resolve()));
        // Connected clients keep the server open: aedes.close() ends them.
        aedes.close();
      }),
  };
}
