import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deflateSync } from "node:zlib";
import { type Browser, chromium } from "playwright-core";
import { createApp, createServices } from "../src/app";
import { parseConfig } from "../src/config/load";
import { startJobs } from "../src/jobs";
import { silentLogger } from "../src/logger";
import { openRuntime } from "../src/runtime";

export const ADMIN_KEY = "sk_admin_console_e2e_0123456789";
export const CHROMIUM = "/usr/bin/chromium";

/**
 * The real server for the browser tests: Bun.serve on 127.0.0.1 (free port) around createApp,
 * with the background jobs running (webhook deliveries), a temp data dir and PUBLIC_URL set to
 * its own address so signed links point back at it.
 */
export async function startServer(settings: Record<string, unknown> = {}) {
  const dir = mkdtempSync(join(tmpdir(), "sb-console-e2e-"));
  let handler: (r: Request) => Response | Promise<Response> = () => new Response("starting", { status: 503 });
  const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: (r) => handler(r), maxRequestBodySize: 110 << 20 });
  const url = `http://127.0.0.1:${server.port}`;
  const config = parseConfig({ DATA_DIR: dir, ADMIN_API_KEY: ADMIN_KEY, PUBLIC_URL: url, ...settings });
  const rt = await openRuntime(config, silentLogger, undefined, { generateAdminKey: true });
  const services = createServices(rt);
  const app = createApp(rt, services);
  handler = (r) => app.fetch(r);
  const jobs = await startJobs(rt, services);
  return {
    url,
    rt,
    async stop() {
      await server.stop(true);
      await jobs.stop();
      await rt.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Debian's chromium (Playwright's own browser download cannot work here), headless, quiet. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-dev-shm-usage",
    ],
  });
}

/** A tiny but real PNG (random pixels, so it neither compresses away nor looks like the other file). */
export function makePng(width: number, height: number): Uint8Array {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b: Uint8Array) => {
    let c = 0xffffffff;
    for (const x of b) c = crcTable[(c ^ x) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Uint8Array) => {
    const out = new Uint8Array(12 + data.length);
    const dv = new DataView(out.buffer);
    dv.setUint32(0, data.length);
    out.set(new TextEncoder().encode(type), 4);
    out.set(data, 8);
    dv.setUint32(8 + data.length, crc(out.subarray(4, 8 + data.length)));
    return out;
  };
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, width);
  dv.setUint32(4, height);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const raw = new Uint8Array((width * 3 + 1) * height);
  let seed = 42;
  for (let i = 0; i < raw.length; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    raw[i] = i % (width * 3 + 1) === 0 ? 0 : seed >> 16;
  }
  const parts = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(raw, { level: 0 })),
    chunk("IEND", new Uint8Array()),
  ];
  return Buffer.concat(parts);
}

/** A one-page PDF padded with a comment to `size` bytes. */
export function makePdf(size: number): Uint8Array {
  const head =
    "%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n";
  return new TextEncoder().encode(head + "%".repeat(Math.max(0, size - head.length - 1)) + "\n");
}

export function screenshotDir(): string {
  // Committed screenshots are refreshed only on request; otherwise they go to a temp dir.
  const dir = process.env.UPDATE_SCREENSHOTS
    ? join(import.meta.dir, "../docs/screenshots")
    : mkdtempSync(join(tmpdir(), "sb-shots-"));
  mkdirSync(dir, { recursive: true });
  return dir;
}
