/** What every scenario gets from the runner, and what it gives back for the summary table. */
import type { Api } from "./client";
import type { Server } from "./proc";

export interface Ctx {
  quick: boolean;
  tmp: string;
  /** command that runs the real server (bun src/main.ts serve, or dist/storage-brain serve) */
  serverCmd: string[];
  log(msg: string): void;
  /** starts the real server on `dataDir` (ADMIN_API_KEY set, default log level), with extra env */
  startStorageBrain(dataDir: string, name: string, env?: Record<string, string>): Promise<Server>;
  /** creates a big-quota tenant on `server` through the admin API */
  createTenant(server: Server): Promise<{ apiKey: string }>;
  /** starts bench/ceilings/<file> with extra env */
  startCeiling(file: string, env?: Record<string, string>): Promise<Server>;
  /** the real server on a fresh data dir, with a big-quota tenant */
  server: Server;
  api: Api;
  /** bench/ceilings/bytes.ts */
  bytes: Server;
  /** client body files */
  files: { big: string; mid: string };
}

/** One line of the summary table. `target` is text; `met` is undefined when there is no target. */
export interface Row {
  scenario: string;
  metric: string;
  value: string;
  ceiling?: string;
  ratio?: number;
  target?: string;
  met?: boolean;
}

export interface ScenarioResult {
  json: Record<string, unknown>;
  rows: Row[];
}
