/**
 * Child process for throughput.bench.ts: a transport "b" that acknowledges
 * every batch with one append-resp, like a follower. Prints its port.
 *   bun test/transport/bench-receiver.ts <port of a>
 */
import { PeerTransport } from "../../src/transport/peer-transport.ts";

const aPort = Number(process.argv[2]);
let self: PeerTransport | null = null;
const b = new PeerTransport({
  self: "b",
  listen: { hostname: "127.0.0.1", port: 0 },
  clusterSecret: "bench",
  onMessages: (msgs) => {
    const last = msgs[msgs.length - 1]!;
    const index = last.type === "append" ? last.prevIndex + last.entries.length : last.type === "heartbeat" ? last.commit : 0;
    self!.send([{ type: "append-resp", from: "b", to: "a", term: 1, index, reject: false, hintIndex: msgs.length, hintTerm: 0 }]);
  },
});
self = b;
await b.start();
b.setPeers([{ id: "a", raftAddr: `127.0.0.1:${aPort}` }]);
console.log(String(b.port));
