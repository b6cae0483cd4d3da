import type { Config } from "../config/schema";
import { createLogger } from "../logger";
import { openRuntime, type Runtime } from "../runtime";

/** Runs a CLI command against an opened runtime (database, keys, storage) and closes it after. */
export async function withRuntime<T>(config: Config, fn: (rt: Runtime) => Promise<T> | T): Promise<T> {
  const rt = await openRuntime(config, createLogger("warn"));
  try {
    return await fn(rt);
  } finally {
    await rt.close();
  }
}
