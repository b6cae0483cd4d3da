/**
 * The path of a request URL without building a `URL` (the global hooks and the access log each
 * need it on every request). Taken the way Elysia's router takes it — the text between the origin
 * and `?` — so a hook and the route it guards always see the same path.
 */
export function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0) return "/";
  const q = url.indexOf("?", start);
  return q < 0 ? url.slice(start) : url.slice(start, q);
}
