/**
 * Hrana over HTTP (v2 and v3, JSON encoding), as specified in
 * tursodatabase/libsql docs/HTTP_V2_SPEC.md and docs/HRANA_3_SPEC.md.
 * Incoming structures are decoded (decode.ts) into the `Hrana*` types below;
 * outgoing ones are the `Wire*` types, serialised with JSON.stringify.
 */
import type { SqlValue, StepCondition } from "../../db/command.ts";

export type HranaVersion = 2 | 3;

// ----- decoded requests -----------------------------------------------------

/** `sql` given inline, or `sql_id` referring to text stored with `store_sql` on this stream. */
export type SqlSource = { readonly kind: "text"; readonly sql: string } | { readonly kind: "id"; readonly sqlId: number };

export interface NamedArg {
  /** As the client sent it, prefix (`:`, `@`, `$`) included or not. */
  readonly name: string;
  readonly value: SqlValue;
}

export interface HranaStmt {
  readonly source: SqlSource;
  readonly args: readonly SqlValue[];
  readonly namedArgs: readonly NamedArg[];
  readonly wantRows: boolean;
}

export interface HranaStep {
  readonly stmt: HranaStmt;
  readonly condition?: StepCondition;
}

export type StreamRequest =
  | { readonly type: "close" }
  | { readonly type: "execute"; readonly stmt: HranaStmt }
  | { readonly type: "batch"; readonly steps: readonly HranaStep[] }
  | { readonly type: "sequence"; readonly source: SqlSource }
  | { readonly type: "describe"; readonly source: SqlSource }
  | { readonly type: "store_sql"; readonly sqlId: number; readonly sql: string }
  | { readonly type: "close_sql"; readonly sqlId: number }
  | { readonly type: "get_autocommit" };

export interface PipelineBody {
  readonly baton: string | null;
  readonly requests: readonly StreamRequest[];
  /** The requests exactly as received, to forward the unexecuted tail when a stream moves to the leader. */
  readonly rawRequests: readonly unknown[];
}

export interface CursorBody {
  readonly baton: string | null;
  readonly steps: readonly HranaStep[];
  readonly rawBatch: unknown;
}

// ----- wire responses ---------------------------------------------------------

export type WireValue =
  | { readonly type: "null" }
  | { readonly type: "integer"; readonly value: string }
  | { readonly type: "float"; readonly value: number }
  | { readonly type: "text"; readonly value: string }
  | { readonly type: "blob"; readonly base64: string };

export interface WireError {
  readonly message: string;
  readonly code: string;
}

export interface WireCol {
  readonly name: string | null;
  readonly decltype: string | null;
}

export interface WireStmtResult {
  readonly cols: readonly WireCol[];
  readonly rows: readonly (readonly WireValue[])[];
  readonly affected_row_count: number;
  readonly last_insert_rowid: string | null;
  /** Hrana 3 only. */
  readonly rows_read?: number;
  readonly rows_written?: number;
  readonly query_duration_ms?: number;
}

export interface WireBatchResult {
  readonly step_results: readonly (WireStmtResult | null)[];
  readonly step_errors: readonly (WireError | null)[];
}

export interface WireDescribeResult {
  readonly params: readonly { readonly name: string | null }[];
  readonly cols: readonly { readonly name: string; readonly decltype: string | null }[];
  readonly is_explain: boolean;
  readonly is_readonly: boolean;
}

export type StreamResponse =
  | { readonly type: "close" }
  | { readonly type: "execute"; readonly result: WireStmtResult }
  | { readonly type: "batch"; readonly result: WireBatchResult }
  | { readonly type: "sequence" }
  | { readonly type: "describe"; readonly result: WireDescribeResult }
  | { readonly type: "store_sql" }
  | { readonly type: "close_sql" }
  | { readonly type: "get_autocommit"; readonly is_autocommit: boolean };

export type StreamResult = { readonly type: "ok"; readonly response: StreamResponse } | { readonly type: "error"; readonly error: WireError };

export interface PipelineResponseBody {
  readonly baton: string | null;
  readonly base_url: string | null;
  readonly results: readonly StreamResult[];
}

export interface CursorResponseBody {
  readonly baton: string | null;
  readonly base_url: string | null;
}

export type CursorEntry =
  | { readonly type: "step_begin"; readonly step: number; readonly cols: readonly WireCol[] }
  | { readonly type: "step_end"; readonly affected_row_count: number; readonly last_insert_rowid: string | null }
  | { readonly type: "step_error"; readonly step: number; readonly error: WireError }
  | { readonly type: "row"; readonly row: readonly WireValue[] }
  | { readonly type: "error"; readonly error: WireError };
