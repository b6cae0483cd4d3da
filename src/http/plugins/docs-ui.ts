import { Elysia } from "elysia";
import cssPath from "swagger-ui-dist/swagger-ui.css" with { type: "file" };
// The UI's assets are files of a pinned npm package, embedded in the compiled binary by these
// imports (`bun build --compile` includes `type: "file"` imports); no page needs the internet.
import bundlePath from "swagger-ui-dist/swagger-ui-bundle.js" with { type: "file" };
import { VERSION } from "../../version";
import { pathOf } from "../request-path";

const INIT = `window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({ url: "/docs/json", dom_id: "#swagger-ui", deepLinking: true });
});
`;

const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Storage Brain ${VERSION} — API reference</title>
    <link rel="stylesheet" href="/docs/assets/swagger-ui.css" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/docs/assets/swagger-ui-bundle.js"></script>
    <script src="/docs/assets/init.js"></script>
  </body>
</html>
`;

const ASSETS: Record<string, { path?: string; text?: string; type: string }> = {
  "/docs/assets/swagger-ui-bundle.js": { path: bundlePath, type: "text/javascript; charset=utf-8" },
  "/docs/assets/swagger-ui.css": { path: cssPath, type: "text/css; charset=utf-8" },
  "/docs/assets/init.js": { text: INIT, type: "text/javascript; charset=utf-8" },
};

/**
 * The API reference page at /docs (Swagger UI from swagger-ui-dist, pinned in package.json) and
 * its assets under /docs/assets/, all served by this process; the OpenAPI document stays at
 * /docs/json (the swagger plugin generates it). Answered before routing, so the plugin's own
 * /docs page, which loads its UI from a public CDN, is never served.
 */
export function docsUi() {
  return new Elysia({ name: "docs-ui" }).onRequest(({ request }) => {
    if (request.method !== "GET" && request.method !== "HEAD") return;
    const path = pathOf(request.url);
    if (path === "/docs" || path === "/docs/") {
      return new Response(PAGE, {
        headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-cache" },
      });
    }
    const asset = ASSETS[path];
    if (!asset) return;
    const body = asset.path ? Bun.file(asset.path) : asset.text;
    const size = asset.path ? Bun.file(asset.path).size : Buffer.byteLength(asset.text ?? "");
    return new Response(body, {
      headers: { "content-type": asset.type, "content-length": String(size), "cache-control": "public, max-age=3600" },
    });
  });
}
