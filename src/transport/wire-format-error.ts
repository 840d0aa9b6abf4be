/** Raised for any byte sequence that is not a well-formed peer message; servers answer it with 400. */
export class WireFormatError extends Error {
  override readonly name = "WireFormatError";
}
