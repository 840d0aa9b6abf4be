/** A TCP port on 127.0.0.1 that nothing listens on right now (the kernel picks it). */
import { createServer } from "node:net";

/**
 * Ports this process already handed out. The kernel may pick a port again as
 * soon as the probe socket closes, so two calls in a row (a node's HTTP and
 * Raft ports) could get the same one before either is listened on.
 */
const handedOut = new Set<number>();

function kernelPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export async function freePort(): Promise<number> {
  for (;;) {
    const port = await kernelPort();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}
