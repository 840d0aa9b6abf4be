/**
 * The bank workload (Jepsen's), against a real cluster under faults
 * (faulty-cluster.ts), through the real @libsql/client over Hrana: clients
 * move money between accounts and read all balances through every node; the
 * reads and the final state go to checkBank.
 *
 * Transfers are made one of three ways:
 * - `interactive`: a write transaction reads the source balance, then moves
 *   only what is there (an interactive Hrana stream, held on the leader);
 * - `batch`: one atomic batch whose credit applies only if its conditional
 *   debit changed a row (`changes()`);
 * - `unsafe`: the debit and the credit as two separate requests — a planted
 *   bug, which the checker must catch (reads between them see money missing).
 */
import { createClient, type Client } from "@libsql/client";
import { hash32, Prng } from "../sim/prng.ts";
import { withFaultyCluster, type FaultStats, type FaultyCluster, type FaultyClusterOptions } from "./faulty-cluster.ts";
import { checkBank, type BankRead, type BankViolation } from "./bank-checker.ts";

export type TransferMode = "interactive" | "batch" | "unsafe";

export interface BankOptions extends FaultyClusterOptions {
  readonly seconds: number;
  readonly clients?: number;
  /** Default: interactive and batch, alternating at random. */
  readonly transfers?: readonly TransferMode[];
  readonly accounts?: number;
}

export interface BankStats extends FaultStats {
  readonly transfersCommitted: number;
  /** Refused for lack of funds (rolled back, or the debit matched no row). */
  readonly transfersDeclined: number;
  /** Errors: the transfer may or may not have happened, which the total does not mind. */
  readonly transfersFailed: number;
  readonly reads: number;
  readonly readsFailed: number;
  /** Why transfers and reads failed, most frequent first (digits masked). */
  readonly failureReasons: readonly (readonly [reason: string, count: number])[];
}

export interface BankResult {
  readonly violations: readonly BankViolation[];
  readonly stats: BankStats;
}

const TABLE = "nemesis_bank";
const START_BALANCE = 100;
const REQUEST_TIMEOUT_MS = 3_000;

export function runBank(opts: BankOptions): Promise<BankResult> {
  return withFaultyCluster(opts, (fc) => runOn(fc, opts));
}

async function runOn(fc: FaultyCluster, opts: BankOptions): Promise<BankResult> {
  const { cluster, ids } = fc;
  const accounts = opts.accounts ?? 5;
  const total = accounts * START_BALANCE;
  await fc.setUp([
    `CREATE TABLE ${TABLE} (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL)`,
    `INSERT INTO ${TABLE} (id, balance) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${accounts}) SELECT i, ${START_BALANCE} FROM n`,
  ]);

  const t0 = performance.now();
  const now = () => performance.now() - t0;
  const endAt = opts.seconds * 1000;
  const modes = opts.transfers ?? ["interactive", "batch"];
  const reads: BankRead[] = [];
  let committed = 0;
  let declined = 0;
  let failed = 0;
  let readsFailed = 0;
  const failureReasons = new Map<string, number>();
  // Messages carry ports, ids and indexes: without digits, one reason counts as one.
  const noteFailure = (e: unknown) => {
    const reason = (e instanceof Error ? `${(e as { code?: string }).code ?? e.name}: ${e.message}` : String(e)).replace(/\d+/g, "N").slice(0, 120);
    failureReasons.set(reason, (failureReasons.get(reason) ?? 0) + 1);
  };

  // A paused or cut-off node would hold a request forever: every HTTP call gets a deadline.
  const timedFetch = (input: string | URL | Request, init?: RequestInit) => fetch(input, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  const clientsByNode = (): Map<string, Client> => new Map(ids.map((id) => [id, createClient({ url: cluster.url(id), fetch: timedFetch })]));

  const transfer = async (client: Client, mode: TransferMode, from: number, to: number, amount: number): Promise<"committed" | "declined"> => {
    switch (mode) {
      case "interactive": {
        const tx = await client.transaction("write");
        try {
          const rs = await tx.execute({ sql: `SELECT balance FROM ${TABLE} WHERE id = ?`, args: [from] });
          if (Number(rs.rows[0]?.balance) < amount) {
            await tx.rollback();
            return "declined";
          }
          await tx.execute({ sql: `UPDATE ${TABLE} SET balance = balance - ? WHERE id = ?`, args: [amount, from] });
          await tx.execute({ sql: `UPDATE ${TABLE} SET balance = balance + ? WHERE id = ?`, args: [amount, to] });
          await tx.commit();
          return "committed";
        } finally {
          tx.close();
        }
      }
      case "batch": {
        const [debit] = await client.batch(
          [
            { sql: `UPDATE ${TABLE} SET balance = balance - ? WHERE id = ? AND balance >= ?`, args: [amount, from, amount] },
            // changes() is the row count of the statement before: credit only what was debited.
            { sql: `UPDATE ${TABLE} SET balance = balance + ? WHERE id = ? AND changes() = 1`, args: [amount, to] },
          ],
          "write",
        );
        return debit!.rowsAffected === 1 ? "committed" : "declined";
      }
      case "unsafe": {
        const debit = await client.execute({ sql: `UPDATE ${TABLE} SET balance = balance - ? WHERE id = ? AND balance >= ?`, args: [amount, from, amount] });
        if (debit.rowsAffected !== 1) return "declined";
        await client.execute({ sql: `UPDATE ${TABLE} SET balance = balance + ? WHERE id = ?`, args: [amount, to] });
        return "committed";
      }
    }
  };

  const clientLoop = async (c: number): Promise<void> => {
    const prng = new Prng(hash32(opts.seed, c + 1));
    const clients = clientsByNode();
    try {
      while (now() < endAt) {
        const node = prng.pick(ids);
        const client = clients.get(node)!;
        if (prng.chance(0.5)) {
          const from = prng.intIn(1, accounts);
          const to = ((from + prng.intIn(0, accounts - 2)) % accounts) + 1;
          try {
            const outcome = await transfer(client, prng.pick(modes), from, to, prng.intIn(1, 30));
            if (outcome === "committed") committed++;
            else declined++;
          } catch (e) {
            failed++;
            noteFailure(e);
            await Bun.sleep(prng.intIn(20, 100));
          }
        } else {
          try {
            const rs = await client.execute(`SELECT balance FROM ${TABLE} ORDER BY id`);
            reads.push({ balances: rs.rows.map((r) => Number(r.balance)), at: now(), via: node });
          } catch (e) {
            readsFailed++;
            noteFailure(e);
            await Bun.sleep(prng.intIn(20, 100));
          }
        }
      }
    } finally {
      for (const client of clients.values()) client.close();
    }
  };

  const nemesis = await fc.drive(opts.clients ?? 6, clientLoop, () => now() < endAt);
  const { rows: settled, stats: faultStats } = await fc.settle<{ balance: number }>(nemesis, `SELECT balance FROM ${TABLE} ORDER BY id`);
  const finalBalances = new Map([...settled].map(([node, rows]) => [node, rows.map((r) => r.balance)]));
  return {
    violations: checkBank({ accounts, total, reads, finalBalances }),
    stats: { transfersCommitted: committed, transfersDeclined: declined, transfersFailed: failed, reads: reads.length, readsFailed, failureReasons: [...failureReasons].sort((a, b) => b[1] - a[1]), ...faultStats },
  };
}
