/**
 * One keep-alive HTTP/1.1 connection over a raw Bun TCP socket, one request
 * at a time (a closed-loop client owns one). It exists because Bun's fetch
 * costs the generator about as much CPU per request as a trivial server does
 * to answer it, which would make the generator the bottleneck on 2 cores (see
 * bench/README.md for both ceilings). It speaks just enough HTTP/1.1 for
 * benchmark traffic: Content-Length request bodies; Content-Length or chunked
 * responses; reconnects when the server closes the connection.
 */
import type { Socket } from "bun";

export interface HttpResponse {
  readonly status: number;
  readonly body: string;
}

interface Pending {
  readonly resolve: (r: HttpResponse) => void;
  readonly reject: (e: Error) => void;
}

const CRLFCRLF = Buffer.from("\r\n\r\n");

export class Http1Connection {
  private socket: Socket<undefined> | null = null;
  private connecting: Promise<Socket<undefined>> | null = null;
  private buf: Buffer = Buffer.alloc(0);
  private pending: Pending | null = null;
  private unsent: Uint8Array | null = null;
  private closed = false;

  constructor(
    readonly hostname: string,
    readonly port: number,
  ) {}

  static forUrl(url: string): Http1Connection {
    const u = new URL(url);
    return new Http1Connection(u.hostname, Number(u.port || 80));
  }

  /** Sends `method path` with an optional body and resolves with the full response. */
  async request(method: string, path: string, body: string | null, headers: Readonly<Record<string, string>> = {}): Promise<HttpResponse> {
    if (this.pending) throw new Error("Http1Connection: one request at a time");
    const socket = this.socket ?? (await this.connect());
    let message = `${method} ${path} HTTP/1.1\r\nhost: ${this.hostname}:${this.port}\r\n`;
    for (const k in headers) message += `${k}: ${headers[k]}\r\n`;
    message += body === null ? "\r\n" : `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    return new Promise<HttpResponse>((resolve, reject) => {
      this.pending = { resolve, reject };
      this.write(socket, message);
    });
  }

  close(): void {
    this.closed = true;
    this.socket?.end();
    this.socket = null;
  }

  /** Writes a whole message; what the kernel does not take now goes out on `drain`. */
  private write(socket: Socket<undefined>, message: string | Uint8Array): void {
    const n = socket.write(message);
    const length = typeof message === "string" ? Buffer.byteLength(message) : message.length;
    if (n >= length) {
      this.unsent = null;
      return;
    }
    const bytes = typeof message === "string" ? Buffer.from(message) : message;
    this.unsent = bytes.subarray(Math.max(0, n));
  }

  private connect(): Promise<Socket<undefined>> {
    if (this.closed) return Promise.reject(new Error("connection closed"));
    this.connecting ??= Bun.connect<undefined>({
      hostname: this.hostname,
      port: this.port,
      socket: {
        data: (_s, chunk) => this.onData(chunk),
        drain: (s) => {
          if (this.unsent) this.write(s, this.unsent);
        },
        close: () => this.onClose(new Error("connection closed by server")),
        error: (_s, e) => this.onClose(e),
      },
    }).then(
      (s) => {
        s.setNoDelay(true);
        this.socket = s;
        this.connecting = null;
        return s;
      },
      (e: unknown) => {
        this.connecting = null;
        throw e;
      },
    );
    return this.connecting;
  }

  private onClose(e: Error): void {
    this.socket = null;
    this.buf = Buffer.alloc(0);
    const p = this.pending;
    this.pending = null;
    p?.reject(e);
  }

  private onData(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const parsed = parseResponse(this.buf);
    if (!parsed) {
      // Keep our own copy of a partial response rather than a view of the socket's chunk.
      if (this.buf === chunk) this.buf = Buffer.from(chunk);
      return;
    }
    this.buf = this.buf.subarray(parsed.consumed);
    const p = this.pending;
    this.pending = null;
    if (parsed.close) {
      this.socket?.end();
      this.socket = null;
    }
    p?.resolve(parsed.response);
  }
}

interface Parsed {
  readonly response: HttpResponse;
  readonly consumed: number;
  readonly close: boolean;
}

/** A complete response at the start of `buf`, or null if more bytes are needed. */
export function parseResponse(buf: Buffer): Parsed | null {
  const headEnd = buf.indexOf(CRLFCRLF);
  if (headEnd < 0) return null;
  const head = buf.toString("latin1", 0, headEnd).toLowerCase();
  const status = Number(head.slice(9, 12));
  const chunked = /\r\ntransfer-encoding:[^\r]*chunked/.test(head);
  const close = /\r\nconnection:\s*close/.test(head);
  const bodyStart = headEnd + 4;
  if (chunked) return parseChunked(buf, bodyStart, status, close);
  const cl = /\r\ncontent-length:\s*(\d+)/.exec(head);
  const length = cl ? Number(cl[1]) : 0;
  if (buf.length < bodyStart + length) return null;
  return { response: { status, body: buf.toString("utf8", bodyStart, bodyStart + length) }, consumed: bodyStart + length, close };
}

function parseChunked(buf: Buffer, start: number, status: number, close: boolean): Parsed | null {
  const parts: Buffer[] = [];
  let at = start;
  for (;;) {
    const lineEnd = buf.indexOf("\r\n", at, "latin1");
    if (lineEnd < 0) return null;
    const size = parseInt(buf.toString("latin1", at, lineEnd), 16);
    const dataStart = lineEnd + 2;
    if (size === 0) {
      // No trailers are expected from the peers measured here: the chunked body ends with "0\r\n\r\n".
      if (buf.length < dataStart + 2) return null;
      return { response: { status, body: Buffer.concat(parts).toString("utf8") }, consumed: dataStart + 2, close };
    }
    if (buf.length < dataStart + size + 2) return null;
    parts.push(buf.subarray(dataStart, dataStart + size));
    at = dataStart + size + 2;
  }
}
