/** The pure pieces behind routing: which SQL may go to a replica, and how bookmarks order. */
import { describe, expect, test } from "bun:test";
import { laterBookmark } from "../../src/client/bookmark.ts";
import { isCertainlyReadOnly } from "../../src/client/read-only-sql.ts";

describe("isCertainlyReadOnly", () => {
  test("plain reads are reads", () => {
    for (const sql of [
      "SELECT * FROM t",
      "  select 1;",
      "-- comment\nSELECT 1",
      "/* c */ VALUES (1), (2)",
      "WITH x AS (SELECT 1) SELECT * FROM x",
      "SELECT 'insert into t values (1)' AS s",
      'SELECT "update" FROM t',
      "SELECT updated_at, deleted FROM t",
    ]) {
      expect([sql, isCertainlyReadOnly(sql)]).toEqual([sql, true]);
    }
  });

  test("anything that writes, or might, is not", () => {
    for (const sql of [
      "INSERT INTO t VALUES (1)",
      "insert into t select * from u",
      "WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x",
      "WITH x AS (SELECT 1) DELETE FROM t",
      "UPDATE t SET a = 1 RETURNING *",
      "SELECT 1; DELETE FROM t",
      "PRAGMA foreign_keys = ON",
      "CREATE TABLE t (a)",
      "BEGIN",
      "EXPLAIN SELECT 1",
      "",
      "   ",
    ]) {
      expect([sql, isCertainlyReadOnly(sql)]).toEqual([sql, false]);
    }
  });
});

describe("laterBookmark", () => {
  test("keeps the larger index, numerically", () => {
    expect(laterBookmark(null, "5")).toBe("5");
    expect(laterBookmark("5", null)).toBe("5");
    expect(laterBookmark("9", "10")).toBe("10");
    expect(laterBookmark("10", "9")).toBe("10");
    expect(laterBookmark("123456789012345678901", "99")).toBe("123456789012345678901");
    expect(laterBookmark("007", "8")).toBe("8");
  });

  test("a non-numeric bookmark is taken as the newer observation", () => {
    expect(laterBookmark("5", "v2:abc")).toBe("v2:abc");
  });
});
