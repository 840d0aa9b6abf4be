/**
 * The trivial server for the load generator's ceiling: answers POST /sql with
 * the write-up's INSERT response after reading the body, doing nothing else.
 *
 *   bun bench/echo-server.ts PORT
 */
const RESPONSE = '{"success":true,"result":{"rows":null,"rows_affected":1,"last_insert_id":1}}';
const port = Number(process.argv[2]);

const server = Bun.serve({
  hostname: "127.0.0.1",
  port,
  async fetch(req) {
    await req.text();
    return new Response(RESPONSE, { headers: { "content-type": "application/json" } });
  },
});
console.log(`echo server on ${server.url}`);
process.on("SIGTERM", () => {
  void server.stop(true);
  process.exit(0);
});
