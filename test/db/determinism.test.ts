import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { Command } from "../../src/db/command.ts";
import { StateMachine } from "../../src/db/state-machine.ts";
import { batch, dumpDatabase, okRows, STAMP, stepsOf, stmts, tempDir } from "./state-machine-fixture.ts";

/** Writes whose values come from 'now' and randomness, everywhere SQLite lets them hide. */
function nondeterministicWorkload(): Command[] {
  const s = (i: number) => ({ now: STAMP.now + i * 1234567, seed: 1000 + i });
  return [
    stmts(
      [
        `CREATE TABLE events (
           id INTEGER PRIMARY KEY,
           r INTEGER DEFAULT (random()),
           created_ts TEXT DEFAULT CURRENT_TIMESTAMP,
           created_d TEXT DEFAULT current_date,
           created_t TEXT DEFAULT CURRENT_TIME,
           created_fn TEXT DEFAULT (datetime('now', '+1 hour')),
           b BLOB DEFAULT (randomblob(8)),
           note TEXT)`,
        "CREATE TABLE audit (event_id INTEGER, at TEXT, r INTEGER, jd REAL)",
        "CREATE TRIGGER events_audit AFTER INSERT ON events BEGIN INSERT INTO audit VALUES (new.id, strftime('%Y-%m-%dT%H:%M:%f', 'now'), random(), julianday('now')); END",
        "CREATE VIEW clock AS SELECT datetime('now') AS dt, unixepoch('now', 'subsec') AS ue, random() AS r",
        // Fired by a later command whose own text never mentions last_insert_rowid().
        "CREATE TRIGGER events_touched AFTER UPDATE ON events BEGIN INSERT INTO audit VALUES (new.id, 'updated', last_insert_rowid(), 0); END",
      ],
      { stamp: s(0) },
    ),
    stmts(["INSERT INTO events (note) VALUES ('defaults')"], { stamp: s(1) }),
    stmts(
      [
        "INSERT INTO events (note, r, b) VALUES (date(), random(), randomblob(16))",
        "INSERT INTO events (note, r) SELECT 'from view ' || dt || ' ' || ue, r FROM clock",
        "INSERT INTO events (note) VALUES (time('now', 'localtime', 'utc') || ' ' || unixepoch() || ' ' || strftime('%s'))",
        "INSERT INTO events (note) VALUES (CURRENT_TIMESTAMP || '|' || timediff('now', '2000-01-01'))",
      ],
      { transaction: true, stamp: s(2) },
    ),
    // One random() per row, not one per statement.
    stmts(["WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 50) INSERT INTO events (note, r) SELECT 'row ' || x, random() FROM n"], {
      stamp: s(3),
    }),
    batch(
      [
        { stmt: { sql: "BEGIN DEFERRED" } },
        { stmt: { sql: "UPDATE events SET note = note || ' touched at ' || datetime('now') WHERE id % 7 = 0" }, condition: { type: "ok", step: 0 } },
        { stmt: { sql: "INSERT INTO events (note) VALUES (hex(randomblob(4)) || ' changes=' || changes() || ' total=' || total_changes())" } },
        { stmt: { sql: "INSERT INTO events (note) VALUES ('last_insert_rowid=' || last_insert_rowid())" } },
        { stmt: { sql: "COMMIT" }, condition: { type: "ok", step: 1 } },
      ],
      { stamp: s(4) },
    ),
    // Connection state from earlier commands must not leak into this one (a restarted replica has none).
    stmts(["INSERT INTO events (note) VALUES ('fresh command: ' || last_insert_rowid() || ' ' || changes() || ' ' || total_changes())"], { stamp: s(5) }),
    // The trigger reads last_insert_rowid(): right after an insert on a long-lived connection, on a fresh one after a restart.
    stmts(["UPDATE events SET note = note || '!' WHERE id = 1"], { stamp: s(6) }),
  ];
}

function applyAll(sm: StateMachine, commands: readonly Command[], firstIndex = 1): void {
  const outcomes = sm.applyEntries(commands.map((command, i) => ({ index: firstIndex + i, command })));
  for (const o of outcomes) {
    if (o?.kind === "statements") expect(o.error).toBeUndefined();
    if (o?.kind === "batch") for (const s of o.steps) if (s) expect(s.ok).toBe(true);
  }
}

describe("determinism", () => {
  test("three replicas applying the same entries end with identical files, whatever their batching and restarts", () => {
    const dir = tempDir();
    const commands = nondeterministicWorkload();
    const paths = ["a", "b", "c"].map((n) => join(dir, `${n}.db`));

    // Replica a: everything in one apply call.
    const a = StateMachine.open(paths[0]!);
    applyAll(a, commands);
    a.close();

    // Replica b: one entry per call, with a no-op entry in the log.
    const b = StateMachine.open(paths[1]!);
    b.applyEntries([{ index: 1, command: null }]);
    commands.forEach((command, i) => b.applyEntries([{ index: i + 2, command }]));
    b.close();

    // Replica c: restarted (a fresh connection, no leftover last_insert_rowid()/changes()) before every entry.
    commands.forEach((command, i) => {
      const c = StateMachine.open(paths[2]!, { fsync: false });
      c.applyEntries([{ index: i + 1, command }]);
      c.close();
    });

    const [da, db, dc] = paths.map(dumpDatabase);
    // The applied index differs for b (one more entry): compare it separately.
    const withoutMeta = (d: string) => d.replace(/\["_quorumlite_meta",\[.*?\]\]/, "");
    expect(withoutMeta(db!)).toBe(withoutMeta(da!));
    expect(dc).toBe(da);
    // The workload really produced time- and random-dependent values.
    expect(da).toContain("2024-05-06");
    expect(da).toContain("x'");
  });

  test("two different stamps give different values, the same stamp the same ones", () => {
    const dir = tempDir();
    const run = (name: string, stamp: { now: number; seed: number }) => {
      const sm = StateMachine.open(join(dir, `${name}.db`));
      const out = sm.applyEntries([
        {
          index: 1,
          command: batch(
            [
              { stmt: { sql: "SELECT random(), hex(randomblob(8)), datetime('now'), julianday(), unixepoch('now'), current_timestamp, strftime('%f')" } },
              { stmt: { sql: "SELECT random(), datetime('2000-01-01', '+1 day'), date(0, 'unixepoch')" } },
            ],
            { stamp },
          ),
        },
      ]);
      sm.close();
      return stepsOf(out[0]!).map((s) => okRows(s));
    };
    const one = run("one", { now: Date.UTC(2030, 0, 1, 0, 0, 0, 250), seed: 1 });
    const again = run("again", { now: Date.UTC(2030, 0, 1, 0, 0, 0, 250), seed: 1 });
    const other = run("other", { now: Date.UTC(2031, 5, 2, 3, 4, 5, 0), seed: 2 });
    expect(again).toEqual(one);
    const [r1, blob1, dt1, jd1, ue1, ts1, f1] = one[0]![0]!;
    const [r2, blob2, dt2, jd2, ue2, ts2] = other[0]![0]!;
    expect(dt1).toBe("2030-01-01 00:00:00");
    expect(ts1).toBe("2030-01-01 00:00:00");
    expect(f1).toBe("00.250");
    expect(ue1).toBe(BigInt(Date.UTC(2030, 0, 1) / 1000));
    expect(jd1).toBeCloseTo(2462502.5 + 0.25 / 86400, 8);
    expect(dt2).toBe("2031-06-02 03:04:05");
    expect(ts2).toBe(dt2);
    expect(r1).not.toEqual(r2);
    expect(blob1).not.toEqual(blob2);
    expect(jd1).not.toEqual(jd2);
    expect(ue1).not.toEqual(ue2);
    // Calls without 'now' still go to SQLite's own implementation.
    expect(one[1]!.slice(0)[0]!.slice(1)).toEqual(["2000-01-02 00:00:00", "1970-01-01"]);
    // random() is an INTEGER with its full 64-bit range, and results carry every INTEGER as bigint.
    expect(typeof r1).toBe("bigint");
  });
});
