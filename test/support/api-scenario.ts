import { describe, expect, test } from "bun:test";
import { ERROR_STATUS } from "../../src/domain/shared/errors";
import type { Harness } from "./harness";

/**
 * One row of a route-scenario table (in the spirit of pocketbase's ApiScenario): a request, the
 * status it must get and, for errors, the code; `expect` checks the effect in the body. `key`
 * names an entry of the table's key map (default "tenant"); `url` may be a function when it
 * needs ids made in beforeAll.
 */
export interface ApiScenario<K extends string = string> {
  name: string;
  method: string;
  url: string | (() => string);
  key?: K;
  /** JSON body (serialized by the harness). */
  body?: unknown;
  /** Sent as-is with content-type application/json (malformed JSON, odd shapes). */
  rawBody?: string;
  status: number;
  code?: keyof typeof ERROR_STATUS;
  expect?: (body: any) => void | Promise<void>;
}

/**
 * Runs each scenario as its own test against the harness. Every error answer is also checked for
 * the standard shape `{"error":{code,message,details}}` and for its code's status in the table.
 */
export function runApiScenarios<K extends string>(
  title: string,
  ctx: () => { h: Harness; keys: Record<K | "tenant", string | null> },
  scenarios: ApiScenario<K | "tenant">[],
) {
  describe(title, () => {
    for (const s of scenarios) {
      test(s.name, async () => {
        const { h, keys } = ctx();
        const key = keys[s.key ?? "tenant"];
        const url = typeof s.url === "function" ? s.url() : s.url;
        const res =
          s.rawBody !== undefined
            ? await h.req(s.method, url, { key, body: s.rawBody, headers: { "content-type": "application/json" } })
            : await h.req(s.method, url, { key, body: s.body });
        const body = (await res.json()) as any;
        expect(res.status).toBe(s.status);
        if (s.code) {
          expect(body.error.code).toBe(s.code);
          expect(typeof body.error.message).toBe("string");
          expect(body.error.details).toBeObject();
          expect(ERROR_STATUS[s.code] as number).toBe(s.status);
        }
        await s.expect?.(body);
      });
    }
  });
}
