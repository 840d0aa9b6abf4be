import { describe, expect, test } from "bun:test";
import { parseSql, savepointKey, splitStatements } from "../../src/db/sql-statements.ts";
import { parameterNames, tokenize } from "../../src/db/sql-tokens.ts";

describe("tokenize", () => {
  test("strings, quoted identifiers, comments and blobs are single tokens", () => {
    const t = tokenize(`SELECT 'a;b''c', "x""y", [z w], \`q\`, x'00ff', -- COMMIT;\n /* BEGIN; */ ?1, :n, @m, $p::q(r), 1.5e3, 0x1F ->> 'k'`);
    expect(t.map((x) => [x.type, x.value])).toEqual([
      ["word", "SELECT"],
      ["string", "a;b'c"],
      ["punct", ","],
      ["quoted", 'x"y'],
      ["punct", ","],
      ["quoted", "z w"],
      ["punct", ","],
      ["quoted", "q"],
      ["punct", ","],
      ["blob", "00ff"],
      ["punct", ","],
      ["variable", "?1"],
      ["punct", ","],
      ["variable", ":n"],
      ["punct", ","],
      ["variable", "@m"],
      ["punct", ","],
      ["variable", "$p::q(r)"],
      ["punct", ","],
      ["number", "1.5e3"],
      ["punct", ","],
      ["number", "0x1F"],
      ["punct", "->>"],
      ["string", "k"],
    ]);
  });

  test("unterminated input does not throw", () => {
    expect(() => tokenize("SELECT 'abc")).not.toThrow();
    expect(() => tokenize('SELECT "abc')).not.toThrow();
    expect(() => tokenize("SELECT /* abc")).not.toThrow();
    expect(tokenize("SELECT /* abc")).toHaveLength(1);
  });
});

describe("splitStatements", () => {
  test("splits at top-level semicolons only", () => {
    expect(splitStatements("SELECT ';'; SELECT \";\" ; -- c;\n SELECT 3;;")).toEqual(["SELECT ';'", 'SELECT ";"', "SELECT 3"]);
    expect(splitStatements("  -- only a comment\n")).toEqual([]);
    expect(splitStatements("")).toEqual([]);
  });

  test("semicolons inside strings, quoted identifiers, comments and blobs do not split", () => {
    expect(splitStatements(`SELECT 'a;b', "c;d", [e;f], \`g;h\`, x'3b'; -- x;y\n/* ; */ SELECT 2;;`)).toEqual([
      `SELECT 'a;b', "c;d", [e;f], \`g;h\`, x'3b'`,
      "SELECT 2",
    ]);
    expect(splitStatements(`SELECT 'it''s; fine'`)).toEqual([`SELECT 'it''s; fine'`]);
    expect(splitStatements("  -- nothing\n /* here */ ; ")).toEqual([]);
  });

  test("a CASE … END in a trigger's WHEN, before its body, does not end the body early", () => {
    const trigger =
      "CREATE TEMP TRIGGER t AFTER INSERT ON x WHEN CASE WHEN 1 THEN 1 END BEGIN INSERT INTO y VALUES (CASE new.a WHEN 1 THEN 'x' END); DELETE FROM z; END";
    expect(splitStatements(`${trigger}; SELECT 1`)).toEqual([trigger, "SELECT 1"]);
  });

  test("a trigger body keeps its semicolons, also with CASE … END inside", () => {
    const sql = `CREATE TRIGGER t AFTER INSERT ON a WHEN (CASE WHEN new.x > 0 THEN 1 ELSE 0 END) BEGIN
      UPDATE b SET y = CASE WHEN new.x = 1 THEN 'one' ELSE 'many' END;
      INSERT INTO c VALUES (new.x);
    END; SELECT 1`;
    const parts = splitStatements(sql);
    expect(parts).toHaveLength(2);
    expect(parts[0]).toStartWith("CREATE TRIGGER t");
    expect(parts[0]).toEndWith("END");
    expect(parts[1]).toBe("SELECT 1");
    expect(splitStatements("CREATE TEMP TRIGGER t BEFORE DELETE ON a BEGIN SELECT 1; END; SELECT 2")).toHaveLength(2);
  });
});

describe("parseSql", () => {
  const one = (sql: string) => parseSql(sql).statements[0]!;

  test("verbs, WITH resolved to the statement it introduces", () => {
    expect(one("insert into t values (1)").mainVerb).toBe("INSERT");
    expect(one("WITH a AS (SELECT 1), b(x) AS MATERIALIZED (SELECT 2) INSERT INTO t SELECT * FROM a").mainVerb).toBe("INSERT");
    expect(one("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<3) SELECT * FROM c").mainVerb).toBe("SELECT");
    expect(one("REPLACE INTO t VALUES (1)").mainVerb).toBe("REPLACE");
  });

  test("transaction statements in SQLite's grammar", () => {
    expect(one("BEGIN").control).toEqual({ op: "begin", readonly: false });
    expect(one("begin deferred").control).toEqual({ op: "begin", readonly: false });
    expect(one("BEGIN IMMEDIATE TRANSACTION").control).toEqual({ op: "begin", readonly: false });
    expect(one("BEGIN TRANSACTION READONLY").control).toEqual({ op: "begin", readonly: true });
    expect(one("BEGIN TRANSACTION mytx").control).toEqual({ op: "begin", readonly: false });
    expect(one("COMMIT").control).toEqual({ op: "commit" });
    expect(one("END TRANSACTION").control).toEqual({ op: "commit" });
    expect(one("ROLLBACK").control).toEqual({ op: "rollback" });
    expect(one("ROLLBACK TRANSACTION TO SAVEPOINT sp1").control).toEqual({ op: "rollback-to", name: "sp1" });
    expect(one('ROLLBACK TO "My SP"').control).toEqual({ op: "rollback-to", name: "My SP" });
    expect(one("SAVEPOINT a").control).toEqual({ op: "savepoint", name: "a" });
    expect(one("RELEASE SAVEPOINT a").control).toEqual({ op: "release", name: "a" });
    expect(one("RELEASE a").control).toEqual({ op: "release", name: "a" });
    expect(one("RELEASE savepoint").control).toEqual({ op: "release", name: "savepoint" });
    expect(one("RELEASE SAVEPOINT [sp1]").control).toEqual({ op: "release", name: "sp1" });
    expect(one("COMMIT now please").control).toMatchObject({ op: "malformed" });
    expect(one("ROLLBACK TO").control).toMatchObject({ op: "malformed" });
    expect(one("SAVEPOINT").control).toMatchObject({ op: "malformed" });
    expect(one("SAVEPOINT a b").control).toMatchObject({ op: "malformed" });
    expect(one("BEGIN whatever").control).toMatchObject({ op: "malformed" });
    expect(one("SELECT 'BEGIN'").control).toBeNull();
  });
});

test("savepoint names compare as SQLite compares them: ASCII letters case-insensitively, nothing else folded", () => {
  expect(savepointKey("Sp_1")).toBe(savepointKey("sP_1"));
  expect(savepointKey("My SP")).toBe("my sp");
  expect(savepointKey("Ä")).not.toBe(savepointKey("ä"));
  expect(savepointKey("ǅ")).toBe("ǅ");
});

describe("parameterNames", () => {
  const params = (sql: string) => parameterNames(parseSql(sql).statements[0]!.tokens);

  test("SQLite's numbering: ? takes the next index, ?NNN sets it, a repeated name reuses its index", () => {
    expect(params("SELECT ?, :a, ?5, ?, :a, @b, $c::d, #e")).toEqual([null, ":a", null, null, "?5", null, "@b", "$c::d", "#e"]);
    expect(params("SELECT $v(x), $v(x), ?")).toEqual(["$v(x)", null]);
    expect(params("SELECT ':not', \"?\", [?] -- ?")).toEqual([]);
  });

  test("an index keeps the first name it got; an unnamed ? yields to ?NNN", () => {
    expect(params("SELECT :a, ?1")).toEqual([":a"]);
    expect(params("SELECT ?, ?1")).toEqual(["?1"]);
    expect(params("SELECT ?2, :a, ?02")).toEqual([null, "?2", ":a"]);
  });
});
