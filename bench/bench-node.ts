/** What the runner needs to know about one server process of a peer under test. */
export interface BenchNode {
  readonly id: string;
  readonly region: string;
  /** Client URL, e.g. http://127.0.0.1:8001 */
  readonly url: string;
  readonly pid: number;
}

/** A started cluster of one peer (quorumlite, etcd, or the trivial echo server). */
export interface RunningCluster {
  readonly nodes: readonly BenchNode[];
  /** Id of the node that leads now (for single-process peers, that process). */
  leaderId(): Promise<string>;
  stop(): Promise<void>;
}
