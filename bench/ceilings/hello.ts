/** Ceiling for API routes: a bare Bun.serve answering a small JSON document. */
const server = Bun.serve({
  port: Number(process.env.PORT),
  hostname: "127.0.0.1",
  fetch: () => Response.json({ hello: "world" }),
});
console.log(`hello ceiling on ${server.port}`);
