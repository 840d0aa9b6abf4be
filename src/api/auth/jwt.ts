/**
 * EdDSA (Ed25519) JSON Web Tokens, verified the way sqld's
 * `--auth-jwt-key-file` does: the key file holds one or more PEM "PUBLIC KEY"
 * blocks (SPKI) or a single raw 32-byte key in base64url; a token is valid
 * if any key verifies it; `exp` and `nbf` are optional, in Unix seconds.
 */

export type JwtFailure = "AUTH_JWT_INVALID" | "AUTH_JWT_EXPIRED" | "AUTH_JWT_IMMATURE";

export type JwtResult =
  | { readonly ok: true; readonly claims: Readonly<Record<string, unknown>> }
  | { readonly ok: false; readonly code: JwtFailure; readonly message: string };

const ED25519 = { name: "Ed25519" } as const;

function base64urlBytes(s: string): Uint8Array<ArrayBuffer> | null {
  if (!/^[A-Za-z0-9_-]*$/.test(s)) return null;
  return new Uint8Array(Buffer.from(s, "base64url"));
}

/** Parses a key file's contents into verification keys. Throws on anything that is not an Ed25519 public key. */
export async function loadEd25519PublicKeys(text: string): Promise<CryptoKey[]> {
  const trimmed = text.trim();
  if (trimmed.startsWith("-----BEGIN")) {
    const blocks = [...trimmed.matchAll(/-----BEGIN ([A-Z ]+)-----([\s\S]*?)-----END \1-----/g)];
    if (blocks.length === 0) throw new Error("no PEM block found in the JWT key file");
    return Promise.all(
      blocks.map((b) => {
        if (b[1] === "PRIVATE KEY") throw new Error("received a private key, but a public key is expected");
        if (b[1] !== "PUBLIC KEY") throw new Error(`unsupported PEM block "${b[1]}" in the JWT key file`);
        const der = new Uint8Array(Buffer.from(b[2]!.replace(/\s+/g, ""), "base64"));
        return crypto.subtle.importKey("spki", der, ED25519, false, ["verify"]);
      }),
    );
  }
  const raw = base64urlBytes(trimmed.replace(/=+$/, "")) ?? new Uint8Array(Buffer.from(trimmed, "base64"));
  if (raw.length !== 32) throw new Error(`an Ed25519 public key has 32 bytes, this one has ${raw.length}`);
  return [await crypto.subtle.importKey("raw", raw, ED25519, false, ["verify"])];
}

const invalid: JwtResult = { ok: false, code: "AUTH_JWT_INVALID", message: "The JWT is invalid" };

export async function verifyEdDsaJwt(token: string, keys: readonly CryptoKey[], nowSeconds: number): Promise<JwtResult> {
  const parts = token.split(".");
  if (parts.length !== 3) return invalid;
  const [h, p, s] = parts as [string, string, string];
  const sig = base64urlBytes(s);
  const headerBytes = base64urlBytes(h);
  const payloadBytes = base64urlBytes(p);
  if (sig === null || headerBytes === null || payloadBytes === null) return invalid;
  let header: unknown;
  let claims: unknown;
  try {
    header = JSON.parse(Buffer.from(headerBytes).toString("utf8"));
    claims = JSON.parse(Buffer.from(payloadBytes).toString("utf8"));
  } catch {
    return invalid;
  }
  if (typeof header !== "object" || header === null || (header as Record<string, unknown>)["alg"] !== "EdDSA") return invalid;
  if (typeof claims !== "object" || claims === null || Array.isArray(claims)) return invalid;
  const signed = new TextEncoder().encode(`${h}.${p}`);
  let verified = false;
  for (const key of keys) {
    if (await crypto.subtle.verify(ED25519, key, sig, signed)) {
      verified = true;
      break;
    }
  }
  if (!verified) return invalid;
  const c = claims as Record<string, unknown>;
  const exp = c["exp"];
  const nbf = c["nbf"];
  if (exp !== undefined && exp !== null && (typeof exp !== "number" || nowSeconds >= exp)) {
    return typeof exp === "number" ? { ok: false, code: "AUTH_JWT_EXPIRED", message: "The JWT has expired" } : invalid;
  }
  if (nbf !== undefined && nbf !== null && (typeof nbf !== "number" || nowSeconds < nbf)) {
    return typeof nbf === "number" ? { ok: false, code: "AUTH_JWT_IMMATURE", message: "The JWT is immature (not valid yet)" } : invalid;
  }
  return { ok: true, claims: c };
}
