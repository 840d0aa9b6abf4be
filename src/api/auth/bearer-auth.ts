/**
 * `Authorization: Bearer <token>` for the HTTP API (Hrana and /sql). A token
 * is either a JWT signed with one of the configured Ed25519 keys (claim `a`:
 * "ro" read-only, "rw" or absent read-write, as sqld reads it) or one of a
 * static list of tokens with their access. Errors carry sqld's codes.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { verifyEdDsaJwt } from "./jwt.ts";

export type Access = "ro" | "rw";

export type AuthOutcome =
  | { readonly ok: true; readonly access: Access }
  | { readonly ok: false; readonly status: 401; readonly code: string; readonly message: string };

export interface BearerAuthConfig {
  /** From `loadEd25519PublicKeys`. */
  readonly jwtKeys?: readonly CryptoKey[];
  /** Static tokens and what they may do. */
  readonly tokens?: Readonly<Record<string, Access>>;
  /** Unix seconds; injectable for tests. */
  readonly nowSeconds?: () => number;
}

export interface Authenticator {
  authenticate(authorizationHeader: string | null): Promise<AuthOutcome>;
}

const fail = (code: string, message: string): AuthOutcome => ({ ok: false, status: 401, code, message });

function accessFromClaims(claims: Readonly<Record<string, unknown>>): Access {
  const a = claims["a"];
  // "roa" is sqld's read-only-with-attach; quorumlite has no ATTACH, so it is read-only.
  if (a === "ro" || a === "roa") return "ro";
  if (a === undefined || a === null || a === "rw") return "rw";
  // An access claim we do not understand grants the least.
  return "ro";
}

const digest = (s: string): Buffer => createHash("sha256").update(s, "utf8").digest();

export function createBearerAuth(config: BearerAuthConfig): Authenticator {
  const keys = config.jwtKeys ?? [];
  const statics = Object.entries(config.tokens ?? {}).map(([token, access]) => ({ hash: digest(token), access }));
  const now = config.nowSeconds ?? (() => Math.floor(Date.now() / 1000));
  return {
    async authenticate(header) {
      if (header === null || header === "") {
        return fail("AUTH_HEADER_NOT_FOUND", "The `Authorization` HTTP header is required but was not specified");
      }
      const space = header.indexOf(" ");
      if (space < 0) return fail("AUTH_HEADER_MALFORMED", "Auth string does not conform to '<scheme> <token>' form");
      if (header.slice(0, space).toLowerCase() !== "bearer") {
        return fail("AUTH_HTTP_HEADER_UNSUPPORTED_SCHEME", "The authentication scheme in the `Authorization` HTTP header is not supported");
      }
      const token = header.slice(space + 1).trim();
      if (statics.length > 0) {
        const h = digest(token);
        // Compare against every entry so timing does not tell which prefix matched.
        let match: Access | null = null;
        for (const s of statics) if (timingSafeEqual(h, s.hash) && match === null) match = s.access;
        if (match !== null) return { ok: true, access: match };
      }
      if (keys.length === 0) return fail("AUTH_JWT_INVALID", "The token is not valid");
      const r = await verifyEdDsaJwt(token, keys, now());
      return r.ok ? { ok: true, access: accessFromClaims(r.claims) } : fail(r.code, r.message);
    },
  };
}
