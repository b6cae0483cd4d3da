import { expect, test } from "bun:test";
import { existsSync, mkdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LocalBackend } from "../../src/storage/local.backend";
import { tempDir } from "../support/harness";

test("opening the local backend (any CLI command) sweeps only stale temp files, never an upload in flight", async () => {
  const root = tempDir();
  try {
    mkdirSync(join(root, ".tmp"), { recursive: true });
    const fresh = join(root, ".tmp", "in-flight");
    const stale = join(root, ".tmp", "left-by-a-crash");
    writeFileSync(fresh, "x");
    writeFileSync(stale, "y");
    const twoHoursAgo = (Date.now() - 2 * 3600_000) / 1000;
    utimesSync(stale, twoHoursAgo, twoHoursAgo);
    await new LocalBackend(root).init();
    expect(existsSync(fresh)).toBe(true);
    expect(existsSync(stale)).toBe(false);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
