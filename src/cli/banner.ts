/**
 * What `npm start` (scripts/start.mjs) and `edgefs serve` print once the
 * gateway answers. Written with erasable types only: start.mjs runs before
 * any build and imports this file as TypeScript (Node 22 strips the types).
 *
 * A root token the operator supplied (EDGEFS_ROOT_TOKEN) is theirs already:
 * it is not echoed into terminals and logs. A generated one is printed: this
 * is how its user learns it (it is also in <data dir>/root-token).
 */
export function banner(url: string, dataDir: string, token: string, from: string): string {
  const supplied = from === "EDGEFS_ROOT_TOKEN";
  return `
edgefs is running at ${url}
  data:       ${dataDir}
  root token: ${supplied ? "from EDGEFS_ROOT_TOKEN" : `${token}   (from ${from})`}

Try it:
  export EDGEFS_URL=${url} EDGEFS_TOKEN=${supplied ? '"$EDGEFS_ROOT_TOKEN"' : token}
  curl -H "Authorization: Bearer $EDGEFS_TOKEN" -X PUT $EDGEFS_URL/v1/shares/demo
`;
}
