/**
 * Keeps the leader in the preferred region (Fly's PRIMARY_REGION), where the
 * fastest majority lives. The core already makes outsiders slower to campaign;
 * this hands leadership back (thesis §3.10 transfer) when a failover left it
 * elsewhere and a preferred-region voter is caught up and reachable.
 */
import type { Raft } from "../raft/raft.ts";

const CHECK_EVERY_MS = 1_000;
/** How far behind a target may be and still receive leadership (the transfer itself catches it up). */
const MAX_LAG = 64;

export class LeaderPlacement {
  private lastCheck = 0;
  private why = "no preferred region configured";

  constructor(
    private readonly raft: Raft,
    private readonly preferredRegion: string | null,
    private readonly regionOf: (id: string) => string,
  ) {}

  explain(): string {
    return this.why;
  }

  check(now: number): void {
    if (now - this.lastCheck < CHECK_EVERY_MS) return;
    this.lastCheck = now;
    const s = this.raft.status();
    if (this.preferredRegion === null) {
      this.why = "no preferred region configured: any voter may lead";
      return;
    }
    if (s.role !== "leader") {
      this.why = s.leader === null ? "no leader" : `leader ${s.leader} (${this.regionOf(s.leader) || "?"}); preferred region ${this.preferredRegion}`;
      return;
    }
    const mine = this.regionOf(s.id);
    if (mine === this.preferredRegion) {
      this.why = `leader is in the preferred region ${this.preferredRegion}`;
      return;
    }
    if (s.leadTransferee !== null) {
      this.why = `transferring leadership to ${s.leadTransferee} in ${this.preferredRegion}`;
      return;
    }
    const target = (s.progress ?? []).find(
      (p) => p.id !== s.id && p.role === "voter" && p.recentActive && this.regionOf(p.id) === this.preferredRegion && p.match >= s.lastIndex - MAX_LAG,
    );
    if (!target) {
      this.why = `leading from ${mine || "?"} because no caught-up, reachable voter in ${this.preferredRegion}`;
      return;
    }
    this.why = `handing leadership back to ${target.id} in ${this.preferredRegion}`;
    this.raft.transferLeadership(target.id);
  }
}
