// A TCP proxy on loopback whose down() refuses and cuts connections: a network outage of a real server.
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { TestContext } from 'node:test';

export async function tcpProxy(
  t: TestContext,
  listenPort: number,
  targetPort: number,
): Promise<{ down: () => void; up: () => void }> {
  let open = true;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    if (!open) {
      client.destroy();
      return;
    }
    const upstream = connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(listenPort, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => {
          resolve();
        });
      }),
  );
  return {
    down: () => {
      open = false;
      for (const s of sockets) s.destroy();
    },
    up: () => {
      open = true;
    },
  };
}
