import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A real, small filesystem the test owns: writes past its size fail with ENOSPC like a full disk. */
export interface SmallFs {
  dir: string;
  kind: "tmpfs" | "loop";
  unmount(): void;
}

const run = (cmd: string, args: string[]) => spawnSync(cmd, args, { stdio: "ignore" }).status === 0;

/**
 * Mounts a tmpfs of `mib` MiB, or else an ext4 image on a loop device; null when the machine allows
 * neither (not root, no mount namespace). Both need root; CI here runs as root.
 */
export function mountSmallFs(mib: number): SmallFs | null {
  const dir = mkdtempSync(join(tmpdir(), "sb-smallfs-"));
  if (run("mount", ["-t", "tmpfs", "-o", `size=${mib}m,mode=0700`, "tmpfs", dir])) {
    return { dir, kind: "tmpfs", unmount: () => cleanup(dir) };
  }
  const image = `${dir}.img`;
  if (
    run("truncate", ["-s", `${mib}M`, image]) &&
    run("mkfs.ext4", ["-q", "-F", image]) &&
    run("mount", ["-o", "loop", image, dir])
  ) {
    return {
      dir,
      kind: "loop",
      unmount: () => {
        cleanup(dir);
        rmSync(image, { force: true });
      },
    };
  }
  rmSync(image, { force: true });
  rmSync(dir, { recursive: true, force: true });
  return null;
}

function cleanup(dir: string) {
  run("umount", ["-l", dir]);
  rmSync(dir, { recursive: true, force: true });
}
