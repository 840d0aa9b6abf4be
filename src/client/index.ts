/** quorumlite/client: a fetch-only client for a quorumlite cluster. */
export { createClient, Client, type ClientConfig } from "./client.ts";
export { Session, type BatchOptions, type QueryOptions } from "./session.ts";
export { Transaction, type TransactionMode } from "./transaction.ts";
export { SqlStream } from "./sql-stream.ts";
export { QuorumliteError, type ClientErrorCode } from "./errors.ts";
export type { ResultSet, Row } from "./result-set.ts";
export type { InStatement } from "./statement.ts";
export type { InArgs, InValue, IntMode, Value } from "./values.ts";
export type { Durability, ReadLevel } from "./sql-endpoint.ts";
export type { NodeStatus } from "./topology.ts";
export type { FetchFunction } from "./http.ts";
