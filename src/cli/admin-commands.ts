import { createServices } from "../app";
import type { Config } from "../config/schema";
import { intFlag, parseCommandArgs, UsageError } from "./args";
import { rotateMasterKey } from "./rotate-master-key";
import { withRuntime } from "./with-runtime";

const ADMIN_COMMANDS = new Set(["create-tenant", "regenerate-key", "recalculate-usage", "rotate-master-key"]);

/** `storage-brain admin <command>`: tenant and key administration from the shell, audited as `cli`. */
export async function admin(config: Config, args: string[]) {
  const [sub, ...rest] = args;
  if (!sub || !ADMIN_COMMANDS.has(sub)) throw new UsageError(`unknown admin command: ${sub ?? "(none)"}`);
  await withRuntime(config, async (rt) => {
    const services = createServices(rt);
    const cliAudit = (action: string, tenantId: string | null, details: Record<string, unknown> | null) =>
      services.audit.record({
        actor: { type: "cli" },
        action,
        target: tenantId ? `tenants/${tenantId}` : null,
        tenantId,
        details,
      });
    switch (sub) {
      case "create-tenant": {
        const { values } = parseCommandArgs(rest, {
          options: { name: { type: "string" }, "quota-bytes": { type: "string" } },
        });
        const name = values.name as string | undefined;
        if (!name) throw new UsageError("--name is required");
        const quota = values["quota-bytes"];
        const quotaBytes = quota === undefined ? undefined : intFlag(quota, "--quota-bytes", 0);
        const { tenant, apiKey } = await services.tenants.create({ name, quotaBytes });
        await cliAudit("tenant.create", tenant.id, { name, quotaBytes: tenant.quotaBytes });
        console.log(
          JSON.stringify({ id: tenant.id, name: tenant.name, apiKey, quotaBytes: tenant.quotaBytes }, null, 2),
        );
        return;
      }
      case "regenerate-key": {
        const { values, positionals } = parseCommandArgs(rest, {
          options: { "grace-seconds": { type: "string" } },
          positionals: { min: 1, max: 1, names: "<tenantId>" },
        });
        const id = String(positionals[0]);
        const grace = intFlag(values["grace-seconds"], "--grace-seconds", 0, 2_592_000);
        const out = await services.tenants.regenerateKey(id, grace);
        await cliAudit("tenant.key.regenerate", id, grace ? { graceSeconds: grace } : null);
        console.log(JSON.stringify(out, null, 2));
        return;
      }
      case "recalculate-usage": {
        const id = parseCommandArgs(rest, { positionals: { max: 1, names: "[tenantId]" } }).positionals[0];
        const drift = await services.tenants.recalculateUsage(id);
        await cliAudit("tenant.usage.recalculate", id ?? null, null);
        console.log(JSON.stringify({ fixed: drift.tenants.length + drift.workspaces.length, ...drift }, null, 2));
        return;
      }
      case "rotate-master-key": {
        const { values } = parseCommandArgs(rest, {
          options: { "batch-size": { type: "string" }, "pause-ms": { type: "string" } },
        });
        const ok = await rotateMasterKey(rt, services.audit, {
          batchSize: Math.max(1, intFlag(values["batch-size"], "--batch-size", 500, 100_000)),
          pauseMs: intFlag(values["pause-ms"], "--pause-ms", 0, 60_000),
        });
        if (!ok) process.exitCode = 1;
        return;
      }
      default:
        throw new UsageError(`unknown admin command: ${sub ?? "(none)"}`);
    }
  });
}
