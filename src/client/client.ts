/** `createClient`: a cluster-aware client that is also its own default session. */
import type { FetchFunction, HttpConfig } from "./http.ts";
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from "./retry-policy.ts";
import { Session, type ClientCore } from "./session.ts";
import { SqlEndpoint, type Durability, type ReadLevel } from "./sql-endpoint.ts";
import { Topology, type NodeStatus } from "./topology.ts";
import type { IntMode } from "./values.ts";

export interface ClientConfig {
  /** One node's URL (`http://host:port`); the others are discovered from its `/status`. */
  readonly url?: string;
  /** Several nodes' URLs; the first is the preferred (nearest) one for reads unless `preferred` says otherwise. */
  readonly nodes?: readonly string[];
  /** The node reads go to first. */
  readonly preferred?: string;
  /** Sent as `Authorization: Bearer …`. */
  readonly authToken?: string;
  /** Default read consistency (the server's default is `linearizable`). */
  readonly readLevel?: ReadLevel;
  /** Default staleness bound for `readLevel: "none"`. */
  readonly freshnessMs?: number;
  /** Default write durability (the server's default is `majority`). */
  readonly sync?: Durability;
  /** `auto` (default): integers are numbers, bigint beyond 2^53. `bigint`: always bigint. */
  readonly intMode?: IntMode;
  /** Defaults to the global `fetch`. */
  readonly fetch?: FetchFunction;
  /** Per HTTP attempt (default 10 000 ms). */
  readonly timeoutMs?: number;
  /** Attempts after the first when the cluster is unreachable or between leaders (default 10, about 5 s of backoff). */
  readonly retries?: number;
  /** Start the default session from this bookmark. */
  readonly bookmark?: string | null;
}

export class Client extends Session {
  readonly #core: ClientCore;

  constructor(core: ClientCore, bookmark: string | null) {
    super(core, bookmark);
    this.#core = core;
  }

  /** An independent session with its own bookmark; pass a saved bookmark to resume one. */
  session(bookmark: string | null = null): Session {
    return new Session(this.#core, bookmark);
  }

  /** `GET /status` of one node (default: the preferred one). */
  status(node?: string): Promise<NodeStatus> {
    return this.#core.topology.status(node ?? this.#core.topology.preferred);
  }

  /** Asks the cluster who leads now; returns the leader's URL, or null during an election. */
  async discover(): Promise<string | null> {
    this.#core.topology.forgetLeader();
    await this.#core.topology.discover();
    return this.#core.topology.leader;
  }

  /** Member URLs known so far (the preferred node first). */
  get nodes(): readonly string[] {
    return this.#core.topology.members;
  }
}

export function createClient(config: ClientConfig): Client {
  const seeds = [...(config.nodes ?? []), ...(config.url === undefined ? [] : [config.url])];
  const preferred = config.preferred ?? seeds[0];
  if (preferred === undefined) throw new TypeError("createClient needs `url` or `nodes`");
  const globalFetch = config.fetch ?? globalThis.fetch;
  const http: HttpConfig = {
    // Called unbound: Workers reject `fetch` invoked as a method of another object.
    fetch: (input, init) => globalFetch(input, init),
    authToken: config.authToken,
    timeoutMs: config.timeoutMs ?? 10_000,
  };
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, retries: config.retries ?? DEFAULT_RETRY_POLICY.retries };
  const topology = new Topology(preferred, seeds, http);
  const core: ClientCore = {
    topology,
    endpoint: new SqlEndpoint(topology, http, policy),
    http,
    policy,
    intMode: config.intMode ?? "auto",
    readLevel: config.readLevel,
    freshnessMs: config.freshnessMs,
    sync: config.sync,
  };
  return new Client(core, config.bookmark ?? null);
}
