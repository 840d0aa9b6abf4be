/** The example Hono app (quorumlite door) against the fake cluster: migrations, writes, bookmarked reads. */
import { afterEach, beforeEach, expect, test } from "bun:test";
import { createApp } from "../../examples/app.ts";
import { FakeCluster } from "./fake-cluster.ts";
import { waitUntil } from "./wait-until.ts";

let cluster: FakeCluster;
beforeEach(() => {
  cluster = FakeCluster.start(["n1", "n2", "n3"], "n1");
});
afterEach(() => cluster.stop());

test("the example app migrates, writes through the leader and reads its writes back at a lagging replica", async () => {
  const app = createApp({ nodes: [cluster.url("n2"), cluster.url("n3")] });
  expect((await app.request("/migrate", { method: "POST" })).status).toBe(200);

  cluster.freeze("n2");
  const created = await app.request("/users", { method: "POST", body: JSON.stringify({ name: "Alice", email: "a@example.com" }) });
  expect(created.status).toBe(201);
  const bookmark = created.headers.get("x-quorumlite-bookmark")!;
  expect(bookmark).toBe(String(cluster.commitIndex));
  expect(created.headers.get("set-cookie")).toContain(`x-quorumlite-bookmark=${bookmark}`);
  const { id } = (await created.json()) as { id: number };

  const post = await app.request(`/users/${id}/posts`, { method: "POST", headers: { "x-quorumlite-bookmark": bookmark }, body: JSON.stringify({ title: "hello" }) });
  expect(post.status).toBe(201);
  const afterPost = post.headers.get("x-quorumlite-bookmark")!;
  expect(BigInt(afterPost)).toBeGreaterThan(BigInt(bookmark));

  const readsAtN2 = cluster.node("n2").sqlRequests().length;
  const listing = app.request("/users", { headers: { "x-quorumlite-bookmark": afterPost } });
  await waitUntil(() => cluster.node("n2").sqlRequests().length > readsAtN2, "the read to reach n2");
  cluster.catchUp("n2");
  const list = await listing;
  expect(await list.json()).toMatchObject([{ id, name: "Alice", posts: [{ title: "hello" }] }]);
  expect(cluster.node("n2").sqlRequests().at(-1)!.headers["x-quorumlite-bookmark"]).toBe(afterPost);

  const missing = await app.request("/users/999/posts", { method: "POST", body: JSON.stringify({ title: "x" }) });
  expect(missing.status).toBe(404);
  const dup = await app.request("/users", { method: "POST", body: JSON.stringify({ name: "Again", email: "a@example.com" }) });
  expect(dup.status).toBe(409);
});
