/** Routes and headers of the peer protocol (served on the raft port, HTTP/2 h2c or HTTP/1.1). */
/** One long-lived request per sender→receiver link whose body is a sequence of message frames. */
export const ROUTE_STREAM = "/raft/stream";
/** One message batch per request: what older nodes send, and the fallback when a peer has no stream route. */
export const ROUTE_MESSAGES = "/raft/messages";
export const ROUTE_RPC_PREFIX = "/raft/rpc/";
export const ROUTE_SNAPSHOT = "/raft/snapshot";

/** The cluster secret, when one is configured. Sent as an HPACK never-indexed header. */
export const HEADER_SECRET = "x-quorumlite-secret";
/** Sender's node id. */
export const HEADER_FROM = "x-quorumlite-from";
/** Intended receiver's node id: a node answers 421 if an address now belongs to someone else. */
export const HEADER_TO = "x-quorumlite-to";

export const CONTENT_TYPE_MESSAGES = "application/x-quorumlite-messages";
export const CONTENT_TYPE_STREAM = "application/x-quorumlite-message-stream";
export const CONTENT_TYPE_SNAPSHOT = "application/x-quorumlite-snapshot";

/** RPC paths: URL path/query characters only, so they can be put on `:path` verbatim. */
export const RPC_PATH_PATTERN = /^[A-Za-z0-9\-._~!$&'()*+,;=:@%/?]+$/;
