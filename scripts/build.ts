/**
 * Compiles the single-file binary (`npm run build` → dist/storage-brain). The one place the build
 * flags live: tests that build their own copy call this too, so they test what ships.
 *
 * No identifier minification: Elysia's compiled handlers recognise TypeBox's decode failure by
 * class name (`error.constructor.name === 'TransformDecodeError'`) and silently swallow any other
 * error, so a renamed class let out-of-range query values (limit=0, expiresIn=59) through
 * unvalidated and un-coerced. Bun's --keep-names does not keep names yet (oven-sh/bun#25332).
 * Whitespace and syntax minification rename nothing. See docs/decisions.md.
 *
 * Usage: bun scripts/build.ts [outfile]
 */
import { join } from "node:path";

/**
 * `--bytecode` (ESM, which needs `--format=esm`): the bundle ships precompiled for JavaScriptCore,
 * so a start skips parsing ~1,100 modules. Measured: spawn → /health 200 on a fresh data dir
 * 317 → 157 ms, idle RSS unchanged (docs/decisions.md, "Bytecode in the binary").
 */
export const BUILD_FLAGS = [
  "--compile",
  "--bytecode",
  "--format=esm",
  "--minify-whitespace",
  "--minify-syntax",
  "--sourcemap",
];

const root = join(import.meta.dir, "..");

export function buildBinary(outfile = join(root, "dist/storage-brain")): { ok: boolean; output: string } {
  // The admin console first: the binary embeds its files (dist/console, see scripts/build-console.ts).
  const ui = Bun.spawnSync([process.execPath, join(root, "scripts/build-console.ts")], {
    cwd: root,
    stdout: "pipe",
    stderr: "pipe",
  });
  if (ui.exitCode !== 0) return { ok: false, output: ui.stdout.toString() + ui.stderr.toString() };
  const r = Bun.spawnSync(
    [process.execPath, "build", join(root, "src/main.ts"), ...BUILD_FLAGS, "--outfile", outfile],
    {
      cwd: root,
      stdout: "pipe",
      stderr: "pipe",
    },
  );
  return { ok: r.exitCode === 0, output: ui.stdout.toString() + r.stdout.toString() + r.stderr.toString() };
}

if (import.meta.main) {
  const r = buildBinary(process.argv[2]);
  process.stdout.write(r.output);
  process.exit(r.ok ? 0 : 1);
}
