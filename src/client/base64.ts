/**
 * Base64 with only `btoa`/`atob`, which every target runtime has (Bun, Node 20+,
 * Deno, Cloudflare Workers); `Buffer` is Node-only.
 */

/** Bytes per `String.fromCharCode` call: keeps the spread well under engines' argument limits. */
const CHUNK = 0x8000;

export function encodeBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += CHUNK) {
    binary += String.fromCharCode(...bytes.subarray(i, i + CHUNK));
  }
  return btoa(binary);
}

export function decodeBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
