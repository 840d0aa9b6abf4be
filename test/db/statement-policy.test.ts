import { describe, expect, test } from "bun:test";
import { validateStatement } from "../../src/db/statement-policy.ts";

const refused = (sql: string) => validateStatement(sql)?.code;

describe("validateStatement", () => {
  test.each([
    "ATTACH DATABASE '/tmp/x.db' AS x",
    "detach x",
    "VACUUM",
    "VACUUM INTO '/tmp/copy.db'",
    "SELECT load_extension('/tmp/evil.so')",
    "PRAGMA journal_mode = DELETE",
    "PRAGMA journal_mode(DELETE)",
    "PRAGMA synchronous = OFF",
    "PRAGMA main.synchronous = 0",
    "PRAGMA writable_schema = ON",
    "PRAGMA locking_mode = EXCLUSIVE",
    "PRAGMA temp_store = MEMORY",
    "PRAGMA query_only = 0",
    "PRAGMA trusted_schema = OFF",
    "PRAGMA recursive_triggers = ON",
    "PRAGMA case_sensitive_like = ON",
    "PRAGMA schema_version = 7",
    "PRAGMA wal_checkpoint(TRUNCATE)",
    "PRAGMA optimize",
    "PRAGMA defer_foreign_keys = ON",
    "CREATE TEMP TABLE t(x)",
    "create temporary view v as select 1",
    "DROP TABLE _quorumlite_meta",
    'DELETE FROM "_QUORUMLITE_requests"',
    "DROP TABLE '_quorumlite_meta'",
    "UPDATE [_quorumlite_meta] SET value = 0",
    "SAVEPOINT _quorumlite_entry",
    "CREATE TRIGGER t AFTER INSERT ON a BEGIN DELETE FROM _quorumlite_requests; END",
    "SELECT 1; ATTACH 'x' AS y",
  ])("refuses %s", (sql) => {
    expect(refused(sql)).toBe("SQLITE_AUTH");
    expect(validateStatement(sql)!.message).toStartWith("not authorized");
  });

  test.each([
    "SELECT 1",
    "CREATE TABLE t (id INTEGER PRIMARY KEY, created TEXT DEFAULT CURRENT_TIMESTAMP)",
    "INSERT INTO t VALUES ('attach', 'vacuum into', 'load_extension')",
    "SELECT * FROM \"attach\"",
    "PRAGMA table_info(users)",
    "PRAGMA main.table_info('users')",
    "PRAGMA foreign_keys",
    "PRAGMA foreign_keys = ON",
    "PRAGMA foreign_keys=OFF",
    "PRAGMA user_version = 3",
    "PRAGMA application_id = 42",
    "PRAGMA integrity_check",
    "PRAGMA quick_check(10)",
    "PRAGMA foreign_key_check",
    "PRAGMA journal_mode",
    "PRAGMA index_list(t)",
    "BEGIN TRANSACTION READONLY",
    "ANALYZE",
    "REINDEX",
    "CREATE TRIGGER t AFTER INSERT ON a BEGIN UPDATE b SET n = n + 1; END",
  ])("allows %s", (sql) => {
    expect(validateStatement(sql)).toBeNull();
  });
});
