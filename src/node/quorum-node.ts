/**
 * One quorumlite node: opens the durable log and the database, restores the
 * Raft core, connects the peer transport and runs the Ready loop. The HTTP API
 * is mounted on top by src/api (it only sees SqlService and NodeView).
 */
import { mkdirSync, rmSync, existsSync } from "node:fs";
import { join } from "node:path";
import { Raft } from "../raft/raft.ts";
import type { ConfChange, Member, Message, RaftConfig, SnapshotMeta, SnapshotMsg, SoftState } from "../raft/types.ts";
import { fsyncPathAsync } from "../storage/durable-files.ts";
import { StateMachine } from "../db/state-machine.ts";
import { RaftLogStore } from "../storage/raft-log-store.ts";
import { BACKGROUND_AUTOCHECKPOINT_PAGES, WalCheckpointer } from "../storage/wal-checkpointer.ts";
import type { LogWriterMode } from "../storage/log-writer.ts";
import { PeerTransport } from "../transport/peer-transport.ts";
import type { BatchStep } from "../db/command.ts";
import { RaftDriver } from "./raft-driver.ts";
import { LogBytesBudget } from "./log-bytes-budget.ts";
import { NodeService } from "./node-service.ts";
import type { LeaderLink } from "./node-service.ts";
import { PeerDirectory } from "./peer-directory.ts";
import { decodeRpc, encodeRpc, errorReply, replyError, replyOk, unwrapReply } from "./peer-rpc.ts";
import type { RpcPath, RpcReply } from "./peer-rpc.ts";
import { WriteForwarder, writesOfBatch } from "./write-forwarder.ts";
import { leaderCallError } from "./leader-call-error.ts";
import { ServiceError } from "./sql-service.ts";
import type { CommandInput, ReadOptions, WriteOptions } from "./sql-service.ts";
import { LeaderPlacement } from "./leader-placement.ts";
import { NodeMetrics } from "./node-metrics.ts";
import { adminOperation, type AdminRequest } from "./admin-operations.ts";
import type { NodeView, StatusView } from "./node-view.ts";
import { COMMAND_VERSION } from "../db/command-codec.ts";

/** Compact once this many bytes of entries were applied since the last compaction… */
const LOG_BYTES_BUDGET = 16 * 1024 * 1024;
/** …keeping about this many bytes of the newest applied entries for followers that lag a little. */
const LOG_BYTES_KEEP = 4 * 1024 * 1024;

export interface QuorumNodeConfig {
  readonly id: string;
  readonly dataDir: string;
  readonly region: string;
  readonly preferredRegion: string | null;
  readonly raftListen: { hostname: string; port: number };
  readonly raftAdvertise: string;
  readonly httpAdvertise: string;
  /** Initial voters when this node starts with an empty data directory. */
  readonly bootstrap: readonly { id: string; raftAddr: string; region: string | null }[];
  readonly clusterSecret: string | null;
  /** One-way simulated latency between two regions, in ms. */
  readonly latencyMs: (fromRegion: string, toRegion: string) => number;
  readonly tickMs: number;
  readonly electionTicks?: number;
  readonly heartbeatTicks?: number;
  readonly writeTimeoutMs?: number;
  readonly readTimeoutMs?: number;
  readonly fsync?: boolean;
  readonly logWriter?: LogWriterMode;
  /** Compact the log every this many applied entries (rqlite's snapshot threshold). */
  readonly snapshotThreshold?: number;
  /** Entries kept behind the applied index after compaction, so briefly lagging peers need no snapshot. */
  readonly snapshotKeep?: number;
  readonly log?: (line: string) => void;
}

export class QuorumNode implements NodeView {
  readonly service: NodeService;
  readonly metrics = new NodeMetrics();
  private readonly forwarder = new WriteForwarder((path, body, timeoutMs) => this.sendToLeader(path, body, timeoutMs));
  private readonly driver: RaftDriver;
  private readonly transport: PeerTransport;
  private readonly directory: PeerDirectory;
  private readonly placement: LeaderPlacement;
  private lastCompact = 0;
  /** A compaction waits for its checkpoint's fsyncs (off the event loop); one at a time. */
  private compacting = false;
  private stopped = false;
  private readonly logBytes = new LogBytesBudget(LOG_BYTES_BUDGET, LOG_BYTES_KEEP);
  private infoAsked = new Map<string, number>();
  private lastInfoRound = 0;
  private readonly log: (line: string) => void;

  private constructor(
    readonly config: QuorumNodeConfig,
    private readonly store: RaftLogStore,
    private readonly sm: StateMachine,
    readonly raft: Raft,
    private readonly checkpointer: WalCheckpointer,
  ) {
    this.log = config.log ?? ((l) => console.log(`[${config.id}] ${l}`));
    this.directory = new PeerDirectory({ id: config.id, region: config.region, httpAddr: config.httpAdvertise, raftAddr: config.raftAdvertise });
    this.transport = new PeerTransport({
      self: config.id,
      listen: config.raftListen,
      clusterSecret: config.clusterSecret,
      delayMs: (to) => config.latencyMs(config.region, this.directory.get(to)?.region ?? config.region),
      onMessages: (msgs) => {
        for (const m of msgs) this.driver.step(m);
      },
      onRequest: (path, from, body) => this.handleRpc(path, from, body),
      onSnapshot: (from, msg, stream) => this.receiveSnapshot(from, msg, stream),
    });
    this.driver = new RaftDriver(raft, store, sm, this.transport, { ship: (msg) => this.shipSnapshot(msg) }, {
      onSoftState: (s) => this.softStateChanged(s),
      onApplied: (entries) => {
        this.metrics.applied(entries.length);
        this.logBytes.applied(entries);
        if (entries.some((e) => e.type === "conf")) this.refreshPeers();
        this.maybeCompact();
      },
      onFatal: (e) => {
        this.log(`FATAL: ${e instanceof Error ? e.stack : String(e)}`);
        process.exit(1);
      },
    });
    const leaderLink: LeaderLink = {
      write: (cmd, options, timeoutMs) => this.forwarder.write(cmd, options, timeoutMs),
      read: (steps, options, timeoutMs) => this.callLeader("read", { steps, options }, timeoutMs) as never,
      leaderHttp: () => this.leaderHttp(),
    };
    this.service = new NodeService(this.driver, sm, leaderLink, {
      writeTimeoutMs: config.writeTimeoutMs ?? 10_000,
      readTimeoutMs: config.readTimeoutMs ?? 5_000,
      leaderWaitMs: 3_000,
      random: Math.random,
      commandVersion: () => (this.directory.commandVersion(COMMAND_VERSION) >= COMMAND_VERSION ? COMMAND_VERSION : 1),
    });
    this.placement = new LeaderPlacement(raft, config.preferredRegion, (id) => this.directory.get(id)?.region ?? "");
    this.driver.onAfterPass(() => {
      this.refreshPeers();
      this.placement.check(Date.now());
    });
  }

  static async start(config: QuorumNodeConfig): Promise<QuorumNode> {
    mkdirSync(config.dataDir, { recursive: true });
    const logDir = join(config.dataDir, "raft");
    const smPath = join(config.dataDir, "db.sqlite");
    const store = await RaftLogStore.open(logDir, { fsync: config.fsync ?? true, writer: config.logWriter ?? "adaptive" });
    const sm = StateMachine.open(smPath, { fsync: false, autoCheckpointPages: BACKGROUND_AUTOCHECKPOINT_PAGES });
    const checkpointer = new WalCheckpointer([smPath]);
    const loaded = store.load();
    let snapshot: SnapshotMeta | null = loaded.snapshot;
    if (snapshot === null) {
      const members = config.bootstrap.some((b) => b.id === config.id)
        ? config.bootstrap.map((b) => ({
            id: b.id,
            role: "voter" as const,
            region: b.id === config.id ? config.region : (b.region ?? ""),
            raftAddr: b.id === config.id ? config.raftAdvertise : b.raftAddr,
            ...(b.id === config.id ? { httpAddr: config.httpAdvertise } : {}),
          }))
        : [];
      snapshot = { index: 0, term: 0, membership: { members } };
      await store.persist({ snapshot });
    }
    const applied = Math.max(sm.appliedIndex(), snapshot.index);
    const raftConfig: RaftConfig = {
      id: config.id,
      electionTicks: config.electionTicks ?? 30,
      heartbeatTicks: config.heartbeatTicks ?? 5,
      preVote: true,
      checkQuorum: true,
      preferredRegion: config.preferredRegion,
      nonPreferredElectionPenalty: 2,
      leaseDriftTicks: 5,
      maxInflightMsgs: 256,
      maxInflightBytes: 32 * 1024 * 1024,
      maxMsgBytes: 1024 * 1024,
      random: Math.random,
    };
    const raft = new Raft(raftConfig, { hardState: loaded.hardState, snapshot, entries: loaded.entries, applied });
    const node = new QuorumNode(config, store, sm, raft, checkpointer);
    node.refreshPeers();
    await node.transport.start();
    node.driver.start(config.tickMs);
    const voters = snapshot.membership.members.filter((m) => m.role === "voter");
    if (voters.length === 1 && voters[0]!.id === config.id && loaded.entries.length === 0) raft.campaign();
    node.driver.schedule();
    return node;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.driver.stop();
    await this.transport.stop();
    this.checkpointer.close();
    await this.store.close();
    this.sm.close();
  }

  // ---------------------------------------------------------------- views

  status(): StatusView {
    const s = this.raft.status();
    const leader = s.leader ? this.directory.get(s.leader) : null;
    const progress = new Map((s.progress ?? []).map((p) => [p.id, p]));
    return {
      id: this.config.id,
      region: this.config.region,
      role: s.role,
      term: s.term,
      leader: leader ? { id: leader.id, region: leader.region, http: leader.httpAddr } : null,
      commit_index: s.commit,
      applied_index: this.driver.appliedIndex,
      last_index: s.lastIndex,
      first_index: s.firstIndex,
      preferred_region: this.config.preferredRegion,
      placement: this.placement.explain(),
      last_leader_contact_ms: this.driver.lastLeaderContact === 0 ? null : Date.now() - this.driver.lastLeaderContact,
      lease_valid: s.leaseValid,
      members: this.directory.all().map((p) => {
        const pr = progress.get(p.id);
        return {
          id: p.id,
          role: p.role,
          region: p.region,
          http: p.httpAddr,
          raft: p.raftAddr,
          ...(pr ? { match: pr.match, next: pr.next, state: pr.state, active: pr.recentActive } : {}),
        };
      }),
    };
  }

  isReady(): { ready: boolean; reason: string } {
    const s = this.raft.status();
    if (s.leader === null) return { ready: false, reason: "no known leader" };
    // A follower that cannot name the leader's HTTP address cannot move a Hrana transaction there.
    if (this.leaderHttp() === null) return { ready: false, reason: `HTTP address of leader ${s.leader} not learned yet` };
    if (this.driver.appliedIndex < s.commit) return { ready: false, reason: `applying: ${this.driver.appliedIndex}/${s.commit}` };
    return { ready: true, reason: "ok" };
  }

  transportStats(): unknown {
    return this.transport.stats();
  }

  leaderHttp(): string | null {
    const l = this.driver.softState.leader;
    return l ? (this.directory.get(l)?.httpAddr ?? null) : null;
  }

  /** A joining node learns the members from the node that added it, before its own log has them. */
  learnPeers(members: readonly Member[]): void {
    if (this.directory.hint(members)) this.refreshPeers();
  }

  /** HTTP base URL of any member (Hrana baton routing). */
  httpOf(id: string): string | null {
    return this.directory.get(id)?.httpAddr ?? null;
  }

  /** Admin operations run on the leader; elsewhere they are forwarded to it. */
  async admin(req: AdminRequest): Promise<unknown> {
    if (this.driver.softState.role === "leader") return adminOperation(req, this.adminDeps());
    return this.callLeader("admin", req, 30_000);
  }

  /** A consistent copy of the database (for backups). */
  backupTo(path: string): Promise<{ appliedIndex: number }> {
    return this.sm.writeSnapshot(path);
  }

  // ---------------------------------------------------------------- internals

  private adminDeps() {
    return {
      raft: this.raft,
      schedule: () => this.driver.schedule(),
      waitApplied: (index: number, ms: number) => this.driver.appliedWaiters.wait(index, ms, () => new ServiceError("timeout", `change at ${index} not applied in time`)),
      proposeConfChange: (cc: ConfChange) => {
        const r = this.raft.proposeConfChange(cc);
        this.driver.schedule();
        return r;
      },
    };
  }

  private softStateChanged(s: SoftState): void {
    this.metrics.softState(s);
    this.service.leadershipChanged(s.role === "leader");
    this.log(`role=${s.role} term=${s.term} leader=${s.leader ?? "none"}`);
    if (s.leader !== null && this.leaderHttp() === null) {
      // Learn where to send clients now, not at the next info round.
      this.infoAsked.delete(s.leader);
      this.lastInfoRound = 0;
    }
  }

  private refreshPeers(): void {
    if (this.directory.update(this.raft.membership())) {
      this.transport.setPeers(
        this.directory
          .reachable()
          .filter((p) => p.raftAddr !== null)
          .map((p) => ({ id: p.id, raftAddr: p.raftAddr! })),
      );
    }
    const now = Date.now();
    if (now - this.lastInfoRound < 1_000) return;
    this.lastInfoRound = now;
    for (const id of this.directory.unknown()) {
      if ((this.infoAsked.get(id) ?? 0) > now - 2_000) continue;
      this.infoAsked.set(id, now);
      this.transport
        .request(id, "info", encodeRpc({}), 2_000)
        .then((r) => {
          const v = unwrapReply(r.body) as { httpAddr?: string; region?: string; commandVersion?: number };
          this.directory.learn(id, v);
        })
        .catch(() => {});
    }
  }

  private async callLeader(path: RpcPath, body: unknown, timeoutMs: number): Promise<unknown> {
    return unwrapReply((await this.sendToLeader(path, encodeRpc(body), timeoutMs)).body);
  }

  private async sendToLeader(path: RpcPath, body: Uint8Array, timeoutMs: number): Promise<{ status: number; body: Uint8Array }> {
    const leader = this.driver.softState.leader;
    if (leader === null || leader === this.config.id) throw new ServiceError("no-leader", "no leader elected yet; retry shortly");
    try {
      return await this.transport.request(leader, path, body, timeoutMs);
    } catch (e) {
      throw leaderCallError(leader, path, e);
    }
  }

  private async handleRpc(path: string, from: string, body: Uint8Array): Promise<{ status: number; body: Uint8Array }> {
    try {
      const req = decodeRpc(body) as Record<string, unknown>;
      switch (path) {
        case "info":
          return { status: 200, body: replyOk({ id: this.config.id, region: this.config.region, httpAddr: this.config.httpAdvertise, commandVersion: COMMAND_VERSION }) };
        case "write": {
          const r = await this.service.writeAsLeader(req.cmd as CommandInput, req.options as WriteOptions);
          return { status: 200, body: replyOk(r) };
        }
        case "write-batch": {
          // Each write is proposed on its own and answered on its own; they share the log append.
          const replies = await Promise.all(
            writesOfBatch(req).map((w) => this.service.writeAsLeader(w.cmd, w.options).then((value): RpcReply => ({ ok: true, value }), errorReply)),
          );
          return { status: 200, body: replyOk(replies) };
        }
        case "read": {
          if (this.driver.softState.role !== "leader") throw new ServiceError("not-leader", "not the leader");
          const r = await this.service.read(req.steps as BatchStep[], req.options as ReadOptions);
          return { status: 200, body: replyOk(r) };
        }
        case "admin": {
          if (this.driver.softState.role !== "leader") throw new ServiceError("not-leader", "not the leader");
          return { status: 200, body: replyOk(await adminOperation(req as unknown as AdminRequest, this.adminDeps())) };
        }
        default:
          return { status: 404, body: replyError(new ServiceError("bad-request", `unknown rpc ${path} from ${from}`)) };
      }
    } catch (e) {
      return { status: 200, body: replyError(e) };
    }
  }

  private async shipSnapshot(msg: SnapshotMsg): Promise<void> {
    const { to, meta } = msg;
    const dir = join(this.config.dataDir, "snapshots");
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `out-${to}-${Date.now()}.db`);
    try {
      await this.sm.writeSnapshot(file);
      this.log(`sending snapshot (index ${meta.index}) to ${to}`);
      await this.transport.sendSnapshot(msg, file);
    } catch (e) {
      this.log(`snapshot to ${to} failed: ${(e as Error).message}`);
      throw e;
    } finally {
      rmSync(file, { force: true });
    }
  }

  private async receiveSnapshot(from: string, msg: Message & { type: "snapshot" }, body: ReadableStream<Uint8Array>): Promise<void> {
    const dir = join(this.config.dataDir, "snapshots");
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `in-${from}-${Date.now()}.db`);
    try {
      const sink = Bun.file(file).writer();
      for await (const chunk of body) sink.write(chunk);
      await sink.end();
      // Flushed off the event loop, so the fsync inside restoreSnapshot finds nothing left to write.
      await fsyncPathAsync(file);
      await this.sm.snapshotCopiesSettled();
      // The download took time, and snapshots travel beside the Raft messages: by now the sender may
      // have been deposed, or a newer snapshot or the log may have taken this node past it. Installing
      // it then would undo applied entries. The core still sees the message, to answer the sender.
      if (!this.raft.acceptsSnapshot(msg)) {
        const st = this.raft.status();
        this.log(`ignored a stale snapshot from ${from} (index ${msg.meta.index}, term ${msg.term}; this node: term ${st.term}, commit ${st.commit}, applied ${this.sm.appliedIndex()})`);
      } else {
        this.sm.restoreSnapshot(file);
        this.driver.appliedIndex = Math.max(this.sm.appliedIndex(), msg.meta.index);
        this.log(`installed snapshot (index ${msg.meta.index}, data at ${this.sm.appliedIndex()}) from ${from}`);
      }
      this.driver.step(msg);
    } finally {
      if (existsSync(file)) rmSync(file, { force: true });
    }
  }

  private maybeCompact(): void {
    if (this.compacting) return;
    const applied = this.driver.appliedIndex;
    const byCount = applied - this.lastCompact >= (this.config.snapshotThreshold ?? 10_000);
    const byBytes = this.logBytes.overBudget();
    if (!byCount && !byBytes) return;
    let upTo = applied - (this.config.snapshotKeep ?? 2_000);
    // compactionPoint() is an applied index, so upTo never passes `applied`.
    if (byBytes) upTo = Math.max(upTo, this.logBytes.compactionPoint());
    if (upTo <= this.raft.status().firstIndex) return;
    this.lastCompact = applied;
    this.compacting = true;
    // The log may only drop what the database holds durably: checkpoint first (everything up to
    // `upTo` was applied before it started). raft.compact clamps to what is still safe by then.
    this.sm
      .checkpoint()
      .then(() => {
        if (this.stopped) return;
        const meta = this.raft.compact(upTo);
        if (meta) this.store.compact(meta.index, meta.membership);
        this.logBytes.compacted(meta?.index ?? upTo);
      })
      .catch((e: unknown) => this.log(`log compaction skipped: ${e instanceof Error ? e.message : String(e)}`))
      .finally(() => {
        this.compacting = false;
      });
  }
}
