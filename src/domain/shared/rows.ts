/**
 * The row shapes routes may name. They are the database's rows, re-exported as types only so the
 * HTTP layer never imports `src/db`: a route handles what a service returns, never a repo.
 */
export type { KeyScope, TenantRow } from "../../db/schema";
