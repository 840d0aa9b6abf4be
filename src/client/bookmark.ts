/**
 * Bookmarks are the server's Raft index as decimal text (header
 * `x-quorumlite-bookmark`). The client treats them as opaque except for
 * ordering, so a session only ever moves forward.
 */

export type Bookmark = string;

const DIGITS = /^\d+$/;

/** The later of two bookmarks; a non-numeric bookmark (a future format) wins when it is the newer observation. */
export function laterBookmark(current: Bookmark | null, observed: Bookmark | null): Bookmark | null {
  if (observed === null) return current;
  if (current === null) return observed;
  if (!DIGITS.test(current) || !DIGITS.test(observed)) return observed;
  const a = current.replace(/^0+(?=\d)/, "");
  const b = observed.replace(/^0+(?=\d)/, "");
  if (a.length !== b.length) return a.length > b.length ? current : observed;
  return a >= b ? current : observed;
}
