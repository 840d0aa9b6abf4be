/** Statements as the app writes them, and their wire form. */
import { encodeValue, type InArgs, type InValue, type WireValue } from "./values.ts";

/** A bare SQL string, or SQL with positional (`?`) or named (`:name`, `@name`, `$name`) arguments. */
export type InStatement = string | { readonly sql: string; readonly args?: InArgs };

export type WireArgs = readonly WireValue[] | Readonly<Record<string, WireValue>>;

export interface WireStatement {
  readonly sql: string;
  readonly args?: WireArgs;
}

export function sqlOf(stmt: InStatement): string {
  return typeof stmt === "string" ? stmt : stmt.sql;
}

export function toWireStatement(stmt: InStatement): WireStatement {
  if (typeof stmt === "string") return { sql: stmt };
  if (stmt.args === undefined) return { sql: stmt.sql };
  return { sql: stmt.sql, args: encodeArgs(stmt.args) };
}

function encodeArgs(args: InArgs): WireArgs {
  if (isPositional(args)) return args.map(encodeValue);
  const named: Record<string, WireValue> = {};
  for (const [name, value] of Object.entries(args)) named[name] = encodeValue(value);
  return named;
}

function isPositional(args: InArgs): args is readonly InValue[] {
  return Array.isArray(args);
}
