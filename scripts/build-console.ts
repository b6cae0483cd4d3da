#!/usr/bin/env bun
/**
 * Builds the admin web console (console/src, Preact) into dist/console/{index.html,app.js,app.css}.
 * The server imports those three files as text, so `bun build --compile` embeds them in the binary
 * (see src/http/routes/console.routes.ts). Run by `npm run build`, `npm start` and the console tests;
 * the output is generated, never committed.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
export const CONSOLE_OUT = join(root, "dist/console");

export async function buildConsole(): Promise<{ js: number; css: number; html: number }> {
  const result = await Bun.build({
    entrypoints: [join(root, "console/src/main.tsx")],
    target: "browser",
    minify: true,
    naming: { entry: "app.[ext]", asset: "[name].[ext]" },
    define: { "process.env.NODE_ENV": '"production"' },
  });
  if (!result.success) throw new AggregateError(result.logs, "console build failed");
  mkdirSync(CONSOLE_OUT, { recursive: true });
  const sizes = { js: 0, css: 0, html: 0 };
  for (const out of result.outputs) {
    const text = await out.text();
    const name = out.path.endsWith(".css") ? "app.css" : out.path.endsWith(".js") ? "app.js" : null;
    if (!name) continue;
    writeFileSync(join(CONSOLE_OUT, name), text);
    sizes[name === "app.css" ? "css" : "js"] = text.length;
  }
  const html = readFileSync(join(root, "console/index.html"), "utf8");
  writeFileSync(join(CONSOLE_OUT, "index.html"), html);
  sizes.html = html.length;
  return sizes;
}

if (import.meta.main) {
  const s = await buildConsole();
  console.log(`console built: app.js ${s.js} B, app.css ${s.css} B, index.html ${s.html} B → dist/console/`);
}
