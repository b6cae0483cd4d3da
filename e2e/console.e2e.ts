import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { buildConsole } from "../scripts/build-console";
import { ADMIN_KEY, launchChromium, makePdf, makePng, screenshotDir, startServer } from "./server";

/**
 * The admin console in a real browser (Debian's chromium driven by playwright-core) against a
 * real server: every step a new operator takes, and proof that the page talks to no other host.
 */
let server: Awaited<ReturnType<typeof startServer>>;
let browser: Browser;
let hookStatus = 500;
const hookHits: string[] = [];
const receiver = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  async fetch(req) {
    hookHits.push(await req.text());
    return new Response(hookStatus === 200 ? "ok" : "receiver is down", { status: hookStatus });
  },
});
/** Every URL any page of the tests requested (checked at the end against the server's origin). */
const requested: string[] = [];

beforeAll(async () => {
  await buildConsole();
  server = await startServer({ WEBHOOK_ALLOW_PRIVATE_NETWORKS: true, WEBHOOK_MAX_ATTEMPTS: 1, WEBHOOK_BACKOFF_MS: 0 });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
  receiver.stop(true);
});

async function newContext(opts: { colorScheme?: "light" | "dark"; phone?: boolean } = {}): Promise<BrowserContext> {
  const ctx = await browser.newContext({
    colorScheme: opts.colorScheme ?? "light",
    viewport: opts.phone ? { width: 390, height: 844 } : { width: 1280, height: 820 },
    isMobile: opts.phone,
    hasTouch: opts.phone,
    acceptDownloads: true,
  });
  ctx.on("request", (r) => requested.push(r.url()));
  return ctx;
}

async function signIn(page: Page) {
  await page.goto(`${server.url}/console`);
  await page.getByLabel("Admin key").fill(ADMIN_KEY);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("navigation", { name: "Main" }).waitFor();
}

const png = makePng(100, 100); // ~30 KB
const pdf = makePdf(22_000); // together ~83 % of the quota: amber

/** Drops files on the drop zone the way a desktop drag does: a DataTransfer holding Files. */
async function dropFiles(page: Page, files: { name: string; type: string; bytes: Uint8Array }[]) {
  const payload = files.map((f) => ({ name: f.name, type: f.type, data: Array.from(f.bytes) }));
  const dt = await page.evaluateHandle((list) => {
    const d = new DataTransfer();
    for (const f of list) d.items.add(new File([new Uint8Array(f.data)], f.name, { type: f.type }));
    return d;
  }, payload);
  await page.getByTestId("dropzone").dispatchEvent("drop", { dataTransfer: dt });
}

let tenantId = "";
let tenantKey = "";

test("an operator signs in, creates a tenant, uploads, finds, previews, downloads, links, deletes, retries a webhook and signs out", async () => {
  const ctx = await newContext();
  await ctx.grantPermissions(["clipboard-read", "clipboard-write"], { origin: server.url });
  const page = await ctx.newPage();
  const pageErrors: string[] = [];
  page.on("pageerror", (e) => pageErrors.push(String(e)));

  // Sign in: a wrong key is refused, the right one opens a session cookie that JS cannot read.
  await page.goto(`${server.url}/console`);
  await page.getByLabel("Admin key").fill("sk_admin_not_the_key_at_all");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByText("That is not the admin key.").waitFor();
  await signIn(page);
  const [cookie] = await ctx.cookies();
  expect(cookie).toMatchObject({ name: "sb_console", httpOnly: true, sameSite: "Strict" });
  expect(cookie!.value).not.toContain(ADMIN_KEY);
  expect(await page.evaluate(() => document.cookie)).toBe("");
  expect(await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }))).not.toContain(
    ADMIN_KEY,
  );
  await page.getByText("No tenants yet.").waitFor(); // the overview's empty state points to the next step

  // Create a tenant; its key is shown once, and the copy button puts exactly that key on the clipboard.
  await page.getByRole("link", { name: "Tenants" }).click();
  await page.getByText("No tenants yet — create one").waitFor();
  await page.getByRole("button", { name: "New tenant" }).click();
  await page.getByLabel("Name").fill("Acme Photos");
  await page.getByLabel("Quota (MB)").fill("0.06"); // ~63 KB, so two uploads move the bar visibly
  await page.getByRole("button", { name: "Create tenant" }).click();
  await page.getByText("It is shown only once").waitFor();
  tenantKey = await page.getByTestId("secret").inputValue();
  expect(tenantKey).toMatch(/^sk_live_/);
  await page.getByRole("button", { name: "Copy" }).click();
  await page.getByRole("button", { name: "Copied ✓" }).waitFor();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(tenantKey);
  const own = await fetch(`${server.url}/api/v1/tenant/info`, { headers: { authorization: `Bearer ${tenantKey}` } });
  expect(((await own.json()) as { name: string }).name).toBe("Acme Photos");
  tenantId = ((await (await fetch(`${server.url}/api/v1/tenant/info`, { headers: { authorization: `Bearer ${tenantKey}` } })).json()) as { id: string }).id;
  await page.keyboard.press("Escape");
  await page.getByTestId("tenant-row").getByRole("link", { name: "Acme Photos" }).click();

  // Drag and drop two files: each gets a progress bar that reaches its full size, then "completed".
  await page.getByRole("link", { name: "Upload" }).click();
  await dropFiles(page, [
    { name: "holiday-photo.png", type: "image/png", bytes: png },
    { name: "contract.pdf", type: "application/pdf", bytes: pdf },
  ]);
  const items = page.getByTestId("upload-item");
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="upload-item"]').length === 2);
  for (const [i, size] of [
    [0, png.length],
    [1, pdf.length],
  ] as const) {
    const item = items.nth(i);
    await page.waitForFunction(
      (n) => (document.querySelectorAll('[data-testid="upload-item"]')[n] as HTMLElement | undefined)?.dataset.state !== "requesting" &&
        !["uploading", "requesting"].includes((document.querySelectorAll('[data-testid="upload-item"]')[n] as HTMLElement).dataset.state!),
      i,
    );
    expect(await item.getByTestId("upload-state").textContent()).toBe("completed");
    const bar = item.getByRole("progressbar");
    expect(Number(await bar.getAttribute("value"))).toBe(size);
    expect(Number(await bar.getAttribute("max"))).toBe(size);
  }
  expect(await server.rt.repos.files.total({ tenantId })).toBe(2);

  // Find them by search; preview the image.
  await page.getByRole("link", { name: "Files" }).click();
  await page.getByTestId("file-row").nth(1).waitFor();
  await page.getByLabel("Search").fill("holiday");
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="file-row"]').length === 1);
  expect(await page.getByTestId("file-name").textContent()).toBe("holiday-photo.png");
  await page.getByLabel("Search").fill("contract");
  await page.waitForFunction(
    () => document.querySelector('[data-testid="file-name"]')?.textContent === "contract.pdf",
  );
  await page.getByLabel("Search").fill("holiday");
  await page.waitForFunction(
    () => document.querySelector('[data-testid="file-name"]')?.textContent === "holiday-photo.png",
  );
  const row = page.getByTestId("file-row").first();
  await row.getByRole("button", { name: "Preview" }).click();
  const img = page.getByTestId("preview-image");
  await img.waitFor();
  await page.waitForFunction(() => (document.querySelector('[data-testid="preview-image"]') as HTMLImageElement)?.naturalWidth === 100);
  await page.keyboard.press("Escape");

  // Download and compare bytes.
  const [download] = await Promise.all([page.waitForEvent("download"), row.getByRole("button", { name: "Download" }).click()]);
  expect(download.suggestedFilename()).toBe("holiday-photo.png");
  expect(new Uint8Array(readFileSync((await download.path())!))).toEqual(new Uint8Array(png));

  // A signed link with a chosen expiry, opened in a fresh context that has no session cookie.
  await row.getByRole("button", { name: "Signed link" }).click();
  await page.getByLabel("Expires after").selectOption("300");
  await page.getByRole("button", { name: "Create link" }).click();
  const link = await page.getByTestId("signed-link").inputValue();
  expect(link.startsWith(`${server.url}/api/v1/files/`)).toBe(true);
  await page.getByRole("button", { name: "Copy" }).click();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(link);
  const expires = Number(new URL(link).searchParams.get("expires"));
  expect(expires - Date.now()).toBeGreaterThan(200_000);
  expect(expires - Date.now()).toBeLessThanOrEqual(300_000);
  const stranger = await newContext();
  expect(await stranger.cookies()).toEqual([]);
  const res = await stranger.request.get(link);
  expect(res.status()).toBe(200);
  expect(new Uint8Array(await res.body())).toEqual(new Uint8Array(png));
  // Opened as a page, the link downloads the file (attachment is the default disposition).
  const strangerPage = await stranger.newPage();
  const [viaPage] = await Promise.all([strangerPage.waitForEvent("download"), strangerPage.goto(link).catch(() => null)]);
  expect(new Uint8Array(readFileSync((await viaPage.path())!))).toEqual(new Uint8Array(png));
  expect((await stranger.request.get(`${server.url}/api/v1/admin/tenants`)).status()).toBe(401);
  await stranger.close();
  await page.keyboard.press("Escape");

  // Delete one and see the quota bar move.
  await page.getByLabel("Search").fill("");
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="file-row"]').length === 2);
  const meter = page.getByTestId("tenant-quota").getByRole("meter");
  const before = Number(await meter.getAttribute("aria-valuenow"));
  expect(before).toBe(Math.round(((png.length + pdf.length) / (0.06 * 1024 * 1024)) * 100));
  expect(await page.getByTestId("tenant-quota").locator(".quota").getAttribute("data-level")).toBe("amber");
  const pdfRow = page.getByTestId("file-row").filter({ hasText: "contract.pdf" });
  await pdfRow.getByRole("button", { name: "Delete" }).click();
  await page.getByRole("button", { name: "Delete file" }).click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="file-row"]').length === 1);
  const expected = Math.round((png.length / (0.06 * 1024 * 1024)) * 100);
  await page.waitForFunction(
    (v) => document.querySelector('[data-testid="tenant-quota"] [role="meter"]')?.getAttribute("aria-valuenow") === String(v),
    expected,
  );
  expect(expected).toBeLessThan(before);
  expect((await server.rt.repos.tenants.byId(tenantId))!.usedBytes).toBe(png.length);

  // Edit the tenant: a quota just above what is stored turns the bar red (≥ 95 %).
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Tenants" }).click();
  await page.getByTestId("tenant-row").getByRole("button", { name: "Edit" }).click();
  await page.getByLabel("Quota (MB)").fill("0.03"); // 31 457 B for the ~30.3 KB PNG: 96 %
  await page.getByRole("button", { name: "Save" }).click();
  await page.waitForFunction(
    () => document.querySelector('[data-testid="tenant-row"] .quota')?.getAttribute("data-level") === "red",
  );
  expect((await server.rt.repos.tenants.byId(tenantId))!.quotaBytes).toBe(Math.round(0.03 * 1024 * 1024));
  await page.getByTestId("tenant-row").getByRole("button", { name: "Edit" }).click();
  await page.getByLabel("Quota (MB)").fill("0.06");
  await page.getByRole("button", { name: "Save" }).click();
  await page.waitForFunction(
    () => document.querySelector('[data-testid="tenant-row"] .quota')?.getAttribute("data-level") === "ok",
  );
  await page.getByTestId("tenant-row").getByRole("link", { name: "Acme Photos" }).click();

  // A workspace with its own quota.
  await page.getByRole("link", { name: "Workspaces" }).click();
  await page.getByText("No workspaces").waitFor();
  await page.getByRole("button", { name: "New workspace" }).click();
  await page.getByLabel("Name").fill("Invoices");
  await page.getByLabel(/Slug/).fill("invoices");
  await page.getByLabel(/Quota \(MB\)/).fill("1");
  await page.getByRole("button", { name: "Create workspace" }).click();
  await page.getByRole("list", { name: "Workspaces" }).getByText("Invoices", { exact: true }).waitFor();
  expect((await server.rt.repos.workspaces.list(tenantId)).map((w) => [w.slug, w.quotaBytes])).toEqual([["invoices", 1048576]]);

  // A failing webhook delivery is visible with its response code and can be retried.
  await page.getByRole("link", { name: "Webhooks" }).click();
  await page.getByText("No webhook endpoints").waitFor();
  await page.getByLabel(/Endpoint URL/).fill(`http://127.0.0.1:${receiver.port}/hook`);
  await page.getByRole("button", { name: "Add endpoint" }).click();
  await page.getByText(`http://127.0.0.1:${receiver.port}/hook`).first().waitFor();
  await page.getByRole("button", { name: "Send test event" }).click();
  const delivery = page.getByTestId("delivery-row").first();
  for (let i = 0; i < 100 && (await delivery.getAttribute("data-status").catch(() => null)) !== "dead"; i++) {
    await Bun.sleep(100);
    await page.getByRole("button", { name: "Refresh" }).click();
  }
  expect(await delivery.getAttribute("data-status")).toBe("dead");
  expect(await delivery.locator("td").nth(4).textContent()).toBe("500");
  expect(hookHits.length).toBe(1);
  expect(JSON.parse(hookHits[0]!).event).toBe("webhook.test");
  hookStatus = 200;
  await delivery.getByRole("button", { name: "Retry" }).click();
  for (let i = 0; i < 100 && (await delivery.getAttribute("data-status")) !== "delivered"; i++) {
    await Bun.sleep(100);
    await page.getByRole("button", { name: "Refresh" }).click();
  }
  expect(await delivery.getAttribute("data-status")).toBe("delivered");
  expect(hookHits.length).toBe(2);

  // Sign out: the console shows the sign-in form and the API refuses the old session cookie.
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByLabel("Admin key").waitFor();
  const old = await fetch(`${server.url}/api/v1/admin/overview`, { headers: { cookie: `sb_console=${cookie!.value}` } });
  expect(old.status).toBe(401);
  expect(await ctx.cookies()).toEqual([]);
  expect(pageErrors).toEqual([]);
  await ctx.close();
});

test("regenerating a key and deleting a tenant (typed confirmation) from the console", async () => {
  const ctx = await newContext();
  const page = await ctx.newPage();
  await signIn(page);
  await page.goto(`${server.url}/console/#/tenants`);
  await page.getByRole("button", { name: "New tenant" }).click();
  await page.getByLabel("Name").fill("Short-lived");
  await page.getByRole("button", { name: "Create tenant" }).click();
  const firstKey = await page.getByTestId("secret").inputValue();
  await page.keyboard.press("Escape");
  const row = page.getByTestId("tenant-row").filter({ hasText: "Short-lived" });

  await row.getByRole("button", { name: "Regenerate key" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Regenerate key" }).click();
  await page.getByText("It is shown only once").waitFor();
  const newKey = await page.getByTestId("secret").inputValue();
  expect(newKey).not.toBe(firstKey);
  const info = (key: string) => fetch(`${server.url}/api/v1/tenant/info`, { headers: { authorization: `Bearer ${key}` } });
  expect((await info(newKey)).status).toBe(200);
  expect((await info(firstKey)).status).toBe(401);
  await page.keyboard.press("Escape");

  await row.getByRole("button", { name: "Delete" }).click();
  const confirm = page.getByRole("dialog").getByRole("button", { name: "Delete tenant" });
  expect(await confirm.isDisabled()).toBe(true);
  await page.getByLabel("Type the tenant's name to confirm").fill("Short-live");
  expect(await confirm.isDisabled()).toBe(true);
  await page.getByLabel("Type the tenant's name to confirm").fill("Short-lived");
  await confirm.click();
  await page.waitForFunction(() => ![...document.querySelectorAll('[data-testid="tenant-row"]')].some((r) => r.textContent?.includes("Short-lived")));
  expect((await info(newKey)).status).toBe(401);
  await ctx.close();
});

test("screenshots of each main view: light and dark, desktop and phone width", async () => {
  expect(tenantId).not.toBe(""); // needs the data the first test created
  const dir = screenshotDir();
  // Each view with what shows it has loaded its data.
  const views = [
    ["overview", "#/overview", '[data-testid="stat-tenants"]'],
    ["tenants", "#/tenants", '[data-testid="tenant-row"]'],
    ["files", `#/tenants/${tenantId}/files`, '[data-testid="file-row"]'],
    ["upload", `#/tenants/${tenantId}/upload`, '[data-testid="dropzone"]'],
    ["webhooks", `#/tenants/${tenantId}/webhooks`, '[data-testid="delivery-row"]'],
    ["usage", "#/usage", "svg.chart"],
  ] as const;
  for (const colorScheme of ["light", "dark"] as const)
    for (const phone of [false, true]) {
      const ctx = await newContext({ colorScheme, phone });
      const page = await ctx.newPage();
      await signIn(page);
      for (const [name, hash, loaded] of views) {
        await page.goto(`${server.url}/console/${hash}`);
        await page.getByRole("heading", { level: 1 }).waitFor();
        await page.locator(loaded).first().waitFor();
        await page.waitForLoadState("networkidle");
        const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
        expect(bg).toBe(colorScheme === "dark" ? "rgb(17, 19, 23)" : "rgb(246, 247, 249)");
        // Phone width: nothing wider than the screen (no sideways scrolling).
        if (phone) expect({ name, width: await page.evaluate(() => document.documentElement.scrollWidth) }).toEqual({ name, width: 390 });
        const file = join(dir, `${name}-${colorScheme}-${phone ? "phone" : "desktop"}.png`);
        await page.screenshot({ path: file });
        expect(Bun.file(file).size).toBeGreaterThan(1000);
      }
      await ctx.close();
    }
});

test("the console made no request to any host other than the server", () => {
  expect(requested.length).toBeGreaterThan(20);
  const foreign = requested.filter((u) => !u.startsWith(`${server.url}/`) && !u.startsWith("data:") && !u.startsWith("blob:"));
  expect(foreign).toEqual([]);
});
