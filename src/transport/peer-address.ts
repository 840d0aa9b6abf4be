import type { NodeId } from "../raft/types.ts";

/** Where a peer's raft port is: `host:port`, host a DNS name, IPv4, or `[IPv6]`. */
export interface PeerAddress {
  readonly id: NodeId;
  readonly raftAddr: string;
}

/** `host:port` → the origin node:http2 connects to; throws on anything else. */
export function peerOrigin(raftAddr: string): string {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-_]+):(\d{1,5})$/.exec(raftAddr);
  const port = m ? Number(m[2]) : 0;
  if (!m || port < 1 || port > 65535) throw new Error(`invalid raft address ${JSON.stringify(raftAddr)} (want host:port)`);
  return `http://${m[1]}:${port}`;
}
