import { parseArgs } from "node:util";

/** A command line the CLI doesn't accept: printed with the usage text, exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

type OptionSpec = Record<string, { type: "string" | "boolean" }>;

/**
 * Strict parsing of one command's arguments (node:util parseArgs): an unknown flag, a missing
 * flag value or too many positionals is a UsageError, never silently ignored.
 */
export function parseCommandArgs(
  args: string[],
  spec: { options?: OptionSpec; positionals?: { min?: number; max: number; names?: string } },
) {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args, options: spec.options ?? {}, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const pos = parsed.positionals;
  const p = spec.positionals ?? { max: 0 };
  if (pos.length > p.max || pos.length < (p.min ?? 0))
    throw new UsageError(
      p.max === 0 ? `unexpected argument: ${pos[0]}` : `expected ${p.names ?? `${p.max} argument(s)`}`,
    );
  return { values: parsed.values as Record<string, string | boolean | undefined>, positionals: pos };
}

/** A non-negative integer flag value, or the default. */
export function intFlag(v: string | boolean | undefined, name: string, def: number, max = Number.MAX_SAFE_INTEGER) {
  if (v === undefined) return def;
  const n = Number(v);
  if (typeof v !== "string" || !/^\d+$/.test(v) || !Number.isSafeInteger(n) || n > max)
    throw new UsageError(`${name} must be an integer from 0 to ${max}`);
  return n;
}
