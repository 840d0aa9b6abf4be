import type { Socket } from "bun";

/**
 * A real TCP relay in front of a peer, to observe the bytes on the wire and
 * to simulate a stalled peer (accepts connections, then never answers).
 */
export interface TcpProxy {
  readonly port: number;
  /** The first bytes each accepted connection sent (up to 64). */
  readonly prefixes: Uint8Array[];
  connections(): number;
  /** Bytes received from clients so far (forwarded or not). */
  bytesUp(): number;
  /** Stop forwarding (and answering) anything, on existing and new connections. */
  stall(): void;
  close(): void;
}

interface Conn {
  upstream: Socket<Outbox> | null;
  pending: Uint8Array[];
  prefix: Uint8Array;
  toClient: Outbox;
}

/** Bun sockets may accept only part of a write; the rest waits here for `drain`. */
interface Outbox {
  queue: Uint8Array[];
}

function writeAll(sock: Socket<unknown>, box: Outbox, data: Uint8Array): void {
  if (box.queue.length > 0) {
    box.queue.push(data);
    return;
  }
  const n = sock.write(data);
  if (n < data.length) box.queue.push(data.subarray(Math.max(n, 0)));
}

function drain(sock: Socket<unknown>, box: Outbox): void {
  while (box.queue.length > 0) {
    const head = box.queue[0]!;
    const n = sock.write(head);
    if (n < head.length) {
      box.queue[0] = head.subarray(Math.max(n, 0));
      return;
    }
    box.queue.shift();
  }
}

export async function startTcpProxy(target: { hostname: string; port: number } | null): Promise<TcpProxy> {
  let stalled = target === null;
  const prefixes: Uint8Array[] = [];
  const sockets = new Set<Socket<Conn>>();
  let accepted = 0;
  let up = 0;
  const listener = Bun.listen<Conn>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(client) {
        accepted++;
        sockets.add(client);
        const conn: Conn = { upstream: null, pending: [], prefix: new Uint8Array(0), toClient: { queue: [] } };
        client.data = conn;
        prefixes.push(conn.prefix);
        if (target === null) return;
        void Bun.connect<Outbox>({
          hostname: target.hostname,
          port: target.port,
          data: { queue: [] },
          socket: {
            open(up) {
              conn.upstream = up;
              for (const b of conn.pending) writeAll(up, up.data, b);
              conn.pending = [];
            },
            data(_up, data) {
              if (!stalled) writeAll(client, conn.toClient, new Uint8Array(data));
            },
            drain(up) {
              drain(up, up.data);
            },
            close() {
              client.end();
            },
            error() {
              client.end();
            },
          },
        }).catch(() => client.end());
      },
      data(client, data) {
        up += data.length;
        const conn = client.data;
        if (conn.prefix.length < 64) {
          const next = new Uint8Array(Math.min(64, conn.prefix.length + data.length));
          next.set(conn.prefix);
          next.set(data.subarray(0, next.length - conn.prefix.length), conn.prefix.length);
          prefixes[prefixes.indexOf(conn.prefix)] = next;
          conn.prefix = next;
        }
        if (stalled) return;
        const copy = new Uint8Array(data);
        if (conn.upstream) writeAll(conn.upstream, conn.upstream.data, copy);
        else conn.pending.push(copy);
      },
      drain(client) {
        drain(client, client.data.toClient);
      },
      close(client) {
        sockets.delete(client);
        client.data.upstream?.end();
      },
      error(client) {
        sockets.delete(client);
        client.data.upstream?.end();
      },
    },
  });
  return {
    port: listener.port,
    prefixes,
    connections: () => accepted,
    bytesUp: () => up,
    stall: () => {
      stalled = true;
    },
    close: () => {
      for (const s of sockets) s.end();
      listener.stop(true);
    },
  };
}
