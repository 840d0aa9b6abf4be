/**
 * drizzle-kit configuration: `./node_modules/.bin/drizzle-kit generate` writes
 * the example schema's migrations to drizzle/. Apply them with `migrate` from
 * quorumlite/drizzle (or drizzle-orm/libsql's migrator through any node).
 */
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "sqlite",
  schema: "./examples/schema.ts",
  out: "./drizzle",
});
