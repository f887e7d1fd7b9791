import { checkCypher } from "@neural/cypher";
import { CATEGORIES, SCHEMAS } from "./src/index.js";
const t = performance.now();
let n = 0, bad = 0;
for (const cat of CATEGORIES) for (const schema of SCHEMAS) cat.families(schema).forEach((fam, i) => {
  if (fam.size === 0) return;
  for (const k of [1, 2, 3, 4]) {
  const built = fam.at((i * 7919 + k * 104729 + 13) % fam.size);
  n++;
  const r = checkCypher(built.cypher, { semantic: true });
  if (r.diagnostics.length) { bad++; console.log(cat.name, schema.name, i, built.cypher, JSON.stringify(r.diagnostics.map(d => d.severity + ": " + d.message.slice(0, 120)))); }
  }
});
console.log(n, "checked", bad, "with diagnostics", ((performance.now() - t) / 1000).toFixed(1), "s");
