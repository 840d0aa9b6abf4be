/**
 * Who the other nodes are and how to reach them: raft address and region come
 * from the replicated membership; HTTP URLs come from membership when a node
 * joined with one, otherwise from the peers' own `info` answer.
 */
import type { Member, Membership } from "../raft/types.ts";

export interface PeerInfo {
  readonly id: string;
  readonly region: string;
  readonly raftAddr: string | null;
  readonly httpAddr: string | null;
  readonly role: Member["role"];
}

export class PeerDirectory {
  private members: readonly Member[] = [];
  private readonly learnedHttp = new Map<string, string>();
  private readonly learnedRegion = new Map<string, string>();
  private readonly learnedCommandVersion = new Map<string, number>();
  /** Addresses told to a joining node before its log holds the configuration. */
  private readonly hinted = new Map<string, PeerInfo>();
  private current: Membership | null = null;

  constructor(private readonly self: { id: string; region: string; httpAddr: string; raftAddr: string }) {}

  /** Returns true when the membership changed since the last call. */
  update(m: Membership): boolean {
    if (m === this.current) return false;
    this.current = m;
    this.members = m.members;
    return true;
  }

  /** Returns true when a new peer became reachable. */
  hint(peers: readonly Member[]): boolean {
    let added = false;
    for (const m of peers) {
      if (m.id === this.self.id || this.hinted.has(m.id)) continue;
      this.hinted.set(m.id, { id: m.id, region: m.region, raftAddr: m.raftAddr ?? null, httpAddr: m.httpAddr ?? null, role: m.role });
      added = true;
    }
    if (added) this.current = null;
    return added;
  }

  learn(id: string, info: { httpAddr?: string; region?: string; commandVersion?: number }): void {
    if (info.httpAddr) this.learnedHttp.set(id, info.httpAddr);
    if (info.region) this.learnedRegion.set(id, info.region);
    if (typeof info.commandVersion === "number" && Number.isSafeInteger(info.commandVersion)) this.learnedCommandVersion.set(id, info.commandVersion);
  }

  /**
   * The newest command version every other member reads, at most `newest`
   * (this build's). A member that has not said — not asked yet, or a build
   * from before versions were advertised — counts as version 1: a rolling
   * upgrade keeps writing what the old replicas can apply, and switches once
   * the last of them answers as upgraded.
   */
  commandVersion(newest: number): number {
    let v = newest;
    for (const p of this.others()) v = Math.min(v, this.learnedCommandVersion.get(p.id) ?? 1);
    return v;
  }

  get(id: string): PeerInfo | null {
    const m = this.members.find((x) => x.id === id);
    if (id === this.self.id) {
      return { id, region: this.self.region, raftAddr: this.self.raftAddr, httpAddr: this.self.httpAddr, role: m?.role ?? "voter" };
    }
    if (!m) return this.hinted.get(id) ?? null;
    return {
      id,
      region: m.region || this.learnedRegion.get(id) || "",
      raftAddr: m.raftAddr ?? null,
      httpAddr: m.httpAddr ?? this.learnedHttp.get(id) ?? null,
      role: m.role,
    };
  }

  all(): PeerInfo[] {
    return this.members.map((m) => this.get(m.id)!);
  }

  others(): PeerInfo[] {
    return this.all().filter((p) => p.id !== this.self.id);
  }

  /** Everyone this node may need to talk to: members, plus hinted peers while the configuration has not arrived. */
  reachable(): PeerInfo[] {
    const members = this.others();
    const known = new Set(members.map((p) => p.id));
    return [...members, ...[...this.hinted.values()].filter((p) => !known.has(p.id))];
  }

  /** Peers whose HTTP URL, region or command version we have not learned yet. */
  unknown(): string[] {
    return this.others()
      .filter((p) => p.httpAddr === null || p.region === "" || !this.learnedCommandVersion.has(p.id))
      .map((p) => p.id);
  }
}
