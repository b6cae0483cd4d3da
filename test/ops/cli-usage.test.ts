import { describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../support/harness";
import { BUN, inheritedEnv } from "../support/spawn-server";

const MAIN = join(import.meta.dir, "../../src/main.ts");

describe("CLI usage errors exit 2 with the usage text", () => {
  const dir = tempDir();
  const cases = [
    ["frobnicate"],
    ["serve", "--bogus"],
    ["doctor", "extra-arg"],
    ["admin", "nope"],
    ["admin"],
    ["admin", "create-tenant", "--name", "x", "--colour", "red"],
    ["admin", "create-tenant"],
    ["admin", "regenerate-key"],
    ["admin", "regenerate-key", "id", "--grace-seconds", "-5"],
    ["admin", "rotate-master-key", "--batch-size", "many"],
  ];
  for (const args of cases) {
    test(args.join(" "), () => {
      const r = Bun.spawnSync([BUN, MAIN, ...args], { env: { ...inheritedEnv(), DATA_DIR: dir } });
      expect(r.exitCode).toBe(2);
      expect(r.stderr.toString()).toContain("Usage: storage-brain");
    });
  }
  test("cleanup", () => rmSync(dir, { recursive: true, force: true }));
});
