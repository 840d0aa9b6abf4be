/** Hrana routes on real sockets: one or more in-process nodes sharing a baton key. */
import { hranaRoutes, type HranaRoutesDeps } from "../../../src/api/hrana/routes.ts";
import type { SqlService } from "../../../src/node/sql-service.ts";

export const BATON_KEY = new Uint8Array(32).fill(7);

export interface TestNode {
  readonly id: string;
  readonly url: string;
  stop(): void;
}

type NodeOptions = Omit<HranaRoutesDeps, "service" | "selfId" | "batonKey" | "ownerUrl" | "defaultReadLevel"> &
  Partial<Pick<HranaRoutesDeps, "defaultReadLevel">>;

/** Starts one Bun.serve per service; `ownerUrl` resolves among the nodes started together. */
export function startNodes(nodes: readonly { id: string; service: SqlService; options?: NodeOptions }[]): TestNode[] {
  const urls = new Map<string, string>();
  const started = nodes.map(({ id, service, options }) => {
    const app = hranaRoutes({
      service,
      selfId: id,
      batonKey: BATON_KEY,
      ownerUrl: (node) => urls.get(node) ?? null,
      defaultReadLevel: "linearizable",
      ...options,
    });
    const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: app.fetch });
    const url = `http://127.0.0.1:${server.port}`;
    urls.set(id, url);
    return { id, url, stop: () => void server.stop(true) };
  });
  return started;
}

export function startNode(service: SqlService, options?: NodeOptions): TestNode {
  return startNodes([{ id: "n1", service, ...(options ? { options } : {}) }])[0]!;
}

/** POSTs a raw Hrana body and returns status, content-type and parsed JSON. */
export async function post(url: string, path: string, body: unknown, headers: Record<string, string> = {}) {
  const resp = await fetch(`${url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await resp.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: resp.status, contentType: resp.headers.get("content-type"), headers: resp.headers, json, text };
}
