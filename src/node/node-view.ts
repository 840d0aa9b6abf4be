/** What the API layer may read about a node: status for /status, readiness, admin. */
import type { AdminRequest } from "./admin-operations.ts";
import type { NodeMetrics } from "./node-metrics.ts";

export interface MemberView {
  readonly id: string;
  readonly role: "voter" | "learner";
  readonly region: string;
  readonly http: string | null;
  readonly raft: string | null;
  readonly match?: number;
  readonly next?: number;
  readonly state?: string;
  readonly active?: boolean;
}

export interface StatusView {
  readonly id: string;
  readonly region: string;
  readonly role: string;
  readonly term: number;
  readonly leader: { readonly id: string; readonly region: string; readonly http: string | null } | null;
  readonly commit_index: number;
  readonly applied_index: number;
  readonly last_index: number;
  readonly first_index: number;
  readonly preferred_region: string | null;
  readonly placement: string;
  readonly last_leader_contact_ms: number | null;
  readonly lease_valid: boolean;
  readonly members: readonly MemberView[];
}

export interface NodeView {
  readonly metrics: NodeMetrics;
  status(): StatusView;
  isReady(): { ready: boolean; reason: string };
  leaderHttp(): string | null;
  httpOf(id: string): string | null;
  admin(req: AdminRequest): Promise<unknown>;
  backupTo(path: string): Promise<{ appliedIndex: number }>;
  transportStats(): unknown;
}
