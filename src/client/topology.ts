/**
 * What the client knows about the cluster: the members' HTTP URLs, which of
 * them leads, and which is preferred for reads. Learned from `GET /status`
 * and forgotten as soon as an answer proves it stale.
 */
import { httpRequest, type HttpConfig } from "./http.ts";
import { asObject } from "./result-set.ts";

export interface NodeStatus {
  readonly id: string;
  readonly region: string;
  readonly role: string;
  readonly term: number;
  readonly leader: { readonly id: string; readonly region: string; readonly http: string } | null;
  readonly commit_index: number;
  readonly applied_index: number;
  readonly members: readonly { readonly id: string; readonly role: string; readonly region: string; readonly http: string }[];
  readonly [field: string]: unknown;
}

/** A node whose connection failed is tried last for this long. */
const SUSPECT_MS = 2000;

export function normalizeUrl(url: string): string {
  return url.replace(/\/+$/, "");
}

export class Topology {
  readonly preferred: string;
  readonly #http: HttpConfig;
  #members: string[];
  #leader: string | null = null;
  #leaderKnown = false;
  #discovering: Promise<void> | null = null;
  readonly #suspectUntil = new Map<string, number>();

  constructor(preferred: string, seeds: readonly string[], http: HttpConfig) {
    this.preferred = normalizeUrl(preferred);
    this.#members = unique([this.preferred, ...seeds.map(normalizeUrl)]);
    this.#http = http;
  }

  get members(): readonly string[] {
    return this.#members;
  }

  /** The leader's URL as last discovered (null before discovery or during an election). */
  get leader(): string | null {
    return this.#leader;
  }

  /**
   * Where a write should go: the leader when known; otherwise the preferred
   * node, which forwards to the leader or answers 503 during an election.
   */
  async writeTarget(): Promise<string> {
    if (!this.#leaderKnown) await this.discover();
    const leader = this.#leader;
    if (leader !== null && !this.#isSuspect(leader)) return leader;
    return this.readTargets()[0]!;
  }

  /** Read targets in order of preference: the preferred node, then the others; recently failed ones last. */
  readTargets(): string[] {
    const healthy = this.#members.filter((m) => !this.#isSuspect(m));
    const suspect = this.#members.filter((m) => this.#isSuspect(m));
    return [...healthy, ...suspect];
  }

  /** The answer showed the leader moved (or none is known): ask again before the next write. */
  forgetLeader(): void {
    this.#leaderKnown = false;
  }

  /** A node named the leader in its answer. */
  useLeader(url: string): void {
    const leader = normalizeUrl(url);
    this.#leader = leader;
    this.#leaderKnown = true;
    if (!this.#members.includes(leader)) this.#members.push(leader);
  }

  /** No answer came from this node. */
  markUnreachable(url: string): void {
    this.#suspectUntil.set(url, Date.now() + SUSPECT_MS);
    if (url === this.#leader) this.forgetLeader();
  }

  markReachable(url: string): void {
    this.#suspectUntil.delete(url);
  }

  /** Refreshes leader and members from the first node that answers `GET /status`; concurrent callers share one round. */
  discover(): Promise<void> {
    this.#discovering ??= this.#discoverOnce().finally(() => {
      this.#discovering = null;
    });
    return this.#discovering;
  }

  async status(node: string): Promise<NodeStatus> {
    const answer = await httpRequest(this.#http, `${normalizeUrl(node)}/status`, { method: "GET" });
    if (answer.status !== 200) throw new Error(`GET /status on ${node}: HTTP ${answer.status}`);
    return parseStatus(answer.json);
  }

  async #discoverOnce(): Promise<void> {
    for (const node of this.readTargets()) {
      let status: NodeStatus;
      try {
        status = await this.status(node);
      } catch {
        this.markUnreachable(node);
        continue;
      }
      this.markReachable(node);
      this.#members = unique([this.preferred, ...this.#members, ...status.members.map((m) => normalizeUrl(m.http))]);
      this.#leader = status.leader === null ? null : normalizeUrl(status.leader.http);
      // With no leader elected yet, keep asking on the next write rather than caching "none".
      this.#leaderKnown = this.#leader !== null;
      return;
    }
  }

  #isSuspect(url: string): boolean {
    const until = this.#suspectUntil.get(url);
    return until !== undefined && until > Date.now();
  }
}

function unique(urls: readonly string[]): string[] {
  return [...new Set(urls)];
}

function parseStatus(json: unknown): NodeStatus {
  const obj = asObject(json, "status");
  const leaderObj = obj.leader === null || obj.leader === undefined ? null : asObject(obj.leader, "status.leader");
  const members = Array.isArray(obj.members) ? obj.members.map((m) => asObject(m, "status.members[]")) : [];
  return {
    ...obj,
    id: String(obj.id ?? ""),
    region: String(obj.region ?? ""),
    role: String(obj.role ?? ""),
    term: Number(obj.term ?? 0),
    leader:
      leaderObj !== null && typeof leaderObj.http === "string"
        ? { id: String(leaderObj.id ?? ""), region: String(leaderObj.region ?? ""), http: leaderObj.http }
        : null,
    commit_index: Number(obj.commit_index ?? 0),
    applied_index: Number(obj.applied_index ?? 0),
    members: members
      .filter((m) => typeof m.http === "string" && m.http !== "")
      .map((m) => ({ id: String(m.id ?? ""), role: String(m.role ?? ""), region: String(m.region ?? ""), http: String(m.http) })),
  };
}
