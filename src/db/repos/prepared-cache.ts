/** The value under `key`, built and kept on first use (prepared statements per query shape). */
export function cached<V>(map: Map<string, V>, key: string, build: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = build();
    map.set(key, value);
  }
  return value;
}
