/**
 * Network partitions for real processes, without iptables or netem: each node
 * runs in its own network namespace with two links.
 *
 *   client link  host 10.78.T.4i+1 ── 10.78.T.4i+2 node i   (a /30 each)
 *   peer link    node i 10.79.T.i+2 ── a bridge in the host namespace (10.79.T.1) ── other nodes
 *
 * A node listens for HTTP on all its addresses and advertises its peer
 * address, so node-to-node HTTP (a Hrana stream moving to the leader) crosses
 * the bridge and is cut with the Raft traffic, as on a real network.
 *
 * (T is the lab's tag, so labs of concurrent test processes do not collide.)
 *
 * Clients (the test process) reach every node over its client link; nodes
 * reach each other only across the bridge. Taking a node's bridge port down
 * cuts it off from its peers while its clients can still talk to it — the
 * isolated-leader case that SIGSTOP cannot produce, because an isolated
 * leader keeps running and answering.
 *
 * Needs root and iproute2 (`ip`); `NetnsLab.available()` says whether this
 * machine has them.
 */
import { spawnSync } from "node:child_process";

export interface NetnsNode {
  readonly netns: string;
  /** The address clients use (the node's HTTP listener binds it). */
  readonly clientIp: string;
  /** The host's end of the client link. */
  readonly hostIp: string;
  /** The address peers use (the node's Raft listener binds it). */
  readonly peerIp: string;
}

function ip(args: readonly string[]): { ok: boolean; err: string } {
  const r = spawnSync("ip", args, { encoding: "utf8" });
  return { ok: r.status === 0, err: (r.stderr ?? "") + (r.error?.message ?? "") };
}

function mustIp(args: readonly string[]): void {
  const r = ip(args);
  if (!r.ok) throw new Error(`ip ${args.join(" ")}: ${r.err.trim()}`);
}

let probed: boolean | null = null;

export class NetnsLab {
  private readonly bridge: string;
  private destroyed = false;

  private constructor(
    /** A small number unique among the labs alive on this machine; names and subnets derive from it. */
    private readonly tag: number,
    readonly nodes: readonly NetnsNode[],
  ) {
    this.bridge = `ql${tag}br`;
  }

  /** Whether namespaces can be made here (root, iproute2); probed once. */
  static available(): boolean {
    if (probed !== null) return probed;
    const name = `qlprobe${process.pid}`;
    probed = ip(["netns", "add", name]).ok;
    if (probed) ip(["netns", "del", name]);
    return probed;
  }

  /** Makes `count` namespaces wired as in the header. Call destroy() when done, even after a failure. */
  static create(count: number): NetnsLab {
    if (count < 1 || count > 60) throw new Error("NetnsLab: 1–60 nodes");
    const tag = freeTag();
    const nodes: NetnsNode[] = [];
    for (let i = 0; i < count; i++) {
      nodes.push({ netns: `ql${tag}n${i}`, hostIp: `10.78.${tag}.${4 * i + 1}`, clientIp: `10.78.${tag}.${4 * i + 2}`, peerIp: `10.79.${tag}.${i + 2}` });
    }
    const lab = new NetnsLab(tag, nodes);
    try {
      lab.build();
    } catch (e) {
      lab.destroy();
      throw e;
    }
    return lab;
  }

  /** Prefix for a command that must run inside node `i`'s namespace (`ip netns exec` execs, so the pid is the command's). */
  execPrefix(i: number): string[] {
    return ["ip", "netns", "exec", this.node(i).netns];
  }

  /** Cuts node `i` off from every peer; its client link stays up. */
  isolate(i: number): void {
    mustIp(["link", "set", this.peerPort(i), "down"]);
  }

  heal(i: number): void {
    mustIp(["link", "set", this.peerPort(i), "up"]);
  }

  healAll(): void {
    for (let i = 0; i < this.nodes.length; i++) this.heal(i);
  }

  /** Removes the namespaces (and with them their links) and the bridge. Safe to call twice. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const n of this.nodes) ip(["netns", "del", n.netns]);
    for (let i = 0; i < this.nodes.length; i++) {
      ip(["link", "del", this.clientPort(i)]);
      ip(["link", "del", this.peerPort(i)]);
    }
    ip(["link", "del", this.bridge]);
  }

  private node(i: number): NetnsNode {
    const n = this.nodes[i];
    if (!n) throw new Error(`NetnsLab: no node ${i}`);
    return n;
  }

  private clientPort(i: number): string {
    return `ql${this.tag}c${i}`;
  }

  private peerPort(i: number): string {
    return `ql${this.tag}p${i}`;
  }

  private build(): void {
    mustIp(["link", "add", this.bridge, "type", "bridge"]);
    // The host has an address on the bridge too, so the URLs nodes advertise (their peer addresses)
    // work from the test process as they do from other nodes.
    mustIp(["addr", "add", `10.79.${this.tag}.1/24`, "dev", this.bridge]);
    mustIp(["link", "set", this.bridge, "up"]);
    this.nodes.forEach((n, i) => {
      const inNs = (args: readonly string[]) => mustIp(["-n", n.netns, ...args]);
      mustIp(["netns", "add", n.netns]);
      inNs(["link", "set", "lo", "up"]);
      // Client link: a point-to-point pair, host end addressed so the test process can reach the node.
      mustIp(["link", "add", this.clientPort(i), "type", "veth", "peer", "name", `${this.clientPort(i)}x`]);
      mustIp(["link", "set", `${this.clientPort(i)}x`, "netns", n.netns]);
      mustIp(["addr", "add", `${n.hostIp}/30`, "dev", this.clientPort(i)]);
      mustIp(["link", "set", this.clientPort(i), "up"]);
      inNs(["addr", "add", `${n.clientIp}/30`, "dev", `${this.clientPort(i)}x`]);
      inNs(["link", "set", `${this.clientPort(i)}x`, "up"]);
      // Peer link: the host end is a port of the bridge every node's peer link joins.
      mustIp(["link", "add", this.peerPort(i), "type", "veth", "peer", "name", `${this.peerPort(i)}x`]);
      mustIp(["link", "set", `${this.peerPort(i)}x`, "netns", n.netns]);
      mustIp(["link", "set", this.peerPort(i), "master", this.bridge]);
      mustIp(["link", "set", this.peerPort(i), "up"]);
      inNs(["addr", "add", `${n.peerIp}/24`, "dev", `${this.peerPort(i)}x`]);
      inNs(["link", "set", `${this.peerPort(i)}x`, "up"]);
    });
  }
}

/** A tag no live namespace uses (tests in other processes may have labs up). */
function freeTag(): number {
  const r = spawnSync("ip", ["netns", "list"], { encoding: "utf8" });
  const used = new Set([...(r.stdout ?? "").matchAll(/^ql(\d+)n\d+/gm)].map((m) => Number(m[1])));
  const start = process.pid % 60;
  for (let k = 0; k < 60; k++) {
    const t = ((start + k) % 60) + 1;
    if (!used.has(t)) return t;
  }
  throw new Error("NetnsLab: no free tag (stale ql*n* namespaces? remove them with `ip netns del`)");
}
