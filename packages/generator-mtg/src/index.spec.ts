import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { validateFile } from "@neural/dataset";
import { planGeneration, runGenerator } from "@neural/generators";
import { distributionGap, independentChecks, packInstallAndRun } from "@neural/generators/testing";
import { afterAll, describe, expect, it } from "vitest";
import {
  canBlock,
  computeAbilities,
  computePt,
  judgeBlock,
  judgeSba,
  judgeTarget,
  mtgGenerator,
  mtgSpaces,
  resolveCombat,
  resolveStack,
  simulatePriority,
  SBA_CONDITIONS,
  RULE,
} from "./index.js";

let dir: string | undefined;
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});
async function out(name: string): Promise<string> {
  dir ??= await mkdtemp(join(tmpdir(), "mtg-"));
  return join(dir, name);
}
const P = ["Ana", "Ben"] as const;
const cond = (id: string) => SBA_CONDITIONS.find((c) => c.id === id)!;

describe("rules model (hand-checked rulings)", () => {
  it("stack: last in first out, a counterspell countered, a spell fizzles when its target dies", () => {
    // 1. Ana: 3 damage to Ben's 2/2.  2. Ben: +2/+2 to his 2/2.  3. Ana: counter spell 2.
    const r = resolveStack(
      {
        creatures: [
          { power: 2, toughness: 2 },
          { power: 2, toughness: 2 },
        ],
        spells: [
          { kind: "damage", n: 3, target: 1 },
          { kind: "pump", n: 2, target: 1 },
          { kind: "counter", n: 0, target: 0 },
        ],
      },
      P,
      ["Ana's 2/2", "Ben's 2/2"],
    );
    expect(r.steps[0]).toMatch(/Spell 3 .* counters spell 2/);
    expect(r.steps[1]).toMatch(/Spell 1 .* dealt 3 damage/);
    expect(r.steps[2]).toMatch(/destroyed \(rule 704\.5g\)/);
    expect(r.final).toMatch(/Ben's 2\/2 ends up in the graveyard/);
    // 1. Ana: destroy Ben's creature. 2. Ben: +1/+1 on his creature. 3. Ana: 4 damage to Ben's creature -> dies, spell 2 fizzles, spell 1 fizzles.
    const f = resolveStack(
      {
        creatures: [
          { power: 1, toughness: 1 },
          { power: 3, toughness: 3 },
        ],
        spells: [
          { kind: "destroy", n: 0, target: 1 },
          { kind: "pump", n: 1, target: 1 },
          { kind: "damage", n: 4, target: 1 },
        ],
      },
      P,
      ["A", "B"],
    );
    expect(f.steps.filter((s) => /does not resolve \(rule 608\.2b\)/.test(s))).toHaveLength(2);
  });

  it("combat: first strike kills before damage back; double strike hits twice; trample with deathtouch; indestructible survives", () => {
    const fs = resolveCombat(
      {
        attacker: { power: 2, toughness: 2, keywords: ["first strike"] },
        blocker: { power: 5, toughness: 2, keywords: [] },
        defenderLife: 20,
        attackerLife: 20,
      },
      P,
    );
    expect(fs.summary).toBe("The attacker survives; the blocker dies; Ben ends at 20 life.");
    const ds = resolveCombat(
      { attacker: { power: 3, toughness: 3, keywords: ["double strike"] }, blocker: null, defenderLife: 7, attackerLife: 20 },
      P,
    );
    expect(ds.summary).toBe("The attacker survives; Ben ends at 1 life.");
    const tdt = resolveCombat(
      {
        attacker: { power: 6, toughness: 6, keywords: ["deathtouch", "trample"] },
        blocker: { power: 1, toughness: 1, keywords: ["indestructible"] },
        defenderLife: 20,
        attackerLife: 20,
      },
      P,
    );
    // Deathtouch: 1 damage is lethal for assignment, 5 tramples over; the blocker is indestructible and survives.
    expect(tdt.summary).toBe("The attacker survives; the blocker survives; Ben ends at 15 life.");
    const life = resolveCombat(
      {
        attacker: { power: 4, toughness: 4, keywords: ["lifelink", "trample"] },
        blocker: { power: 1, toughness: 2, keywords: [] },
        defenderLife: 2,
        attackerLife: 20,
      },
      P,
    );
    expect(life.summary).toBe("The attacker survives; the blocker dies; Ben ends at 0 life and loses; Ana ends at 24 life.");
    expect(canBlock({ power: 1, toughness: 1, keywords: ["flying"] }, { power: 1, toughness: 1, keywords: [] })).toBe(false);
    expect(canBlock({ power: 1, toughness: 1, keywords: ["flying"] }, { power: 1, toughness: 1, keywords: ["reach"] })).toBe(true);
  });

  it("state-based actions happen together; two losers draw", () => {
    const both = judgeSba(
      {
        conditions: [
          [cond("life"), 0],
          [cond("poison"), 10],
          [cond("token"), 1],
        ],
      },
      P,
    );
    expect(both.verdict).toMatch(/draw \(rule 104\.4a\)/);
    const shrunk = judgeSba(
      {
        conditions: [
          [cond("counters"), 13],
          [cond("indestructible"), 10],
          [cond("indestructible-shrunk"), 4],
        ],
      },
      P,
    );
    expect(shrunk.lines[0]).toMatch(/toughness 0 .* graveyard/);
    expect(shrunk.lines[1]).toMatch(/^Does not apply: the indestructible 4\/4 is not destroyed/);
    expect(shrunk.lines[2]).toMatch(/even though it is indestructible/);
  });

  it("layers: 7b then 7c then 7d, timestamps only within a sublayer", () => {
    expect(
      computePt({
        base: [2, 3],
        effects: [
          { kind: "counters", n: 2 },
          { kind: "set", p: 0, t: 1 },
        ],
      }).result,
    ).toEqual([2, 3]);
    expect(computePt({ base: [4, 5], effects: [{ kind: "switch" }, { kind: "mod", p: 3, t: 0, source: "spell" }] }).result).toEqual([5, 7]);
    expect(
      computePt({
        base: [1, 1],
        effects: [
          { kind: "set", p: 4, t: 4 },
          { kind: "set", p: 0, t: 1 },
          { kind: "counters", n: -1 },
        ],
      }).result,
    ).toEqual([-1, 0]);
    expect(
      computeAbilities({
        printed: ["flying"],
        effects: [{ kind: "gain", ability: "trample" }, { kind: "lose-all" }, { kind: "gain", ability: "lifelink" }],
      }).result,
    ).toEqual(["lifelink"]);
  });

  it("priority: casting keeps priority, two passes resolve the top object, two passes on an empty stack end the step", () => {
    const s = simulatePriority(
      [{ kind: "cast", spell: 0 }, { kind: "pass" }, { kind: "cast", spell: 1 }, { kind: "pass" }, { kind: "pass" }],
      P,
      0,
    );
    expect(s.actors).toEqual(["Ana", "Ana", "Ben", "Ben", "Ana"]);
    expect(s.next).toMatch(/^Ana holds priority\. The stack holds 1 object/);
    expect(simulatePriority([{ kind: "pass" }, { kind: "pass" }], P, 0).stepEnded).toBe(true);
  });

  it("keywords: blocking and targeting legality", () => {
    expect(judgeBlock({ kind: "block", attacker: [2, 2], evasion: "menace", blocker: [1, 1], trait: "none", blockers: 1 }).legal).toBe(
      false,
    );
    expect(
      judgeBlock({ kind: "block", attacker: [2, 2], evasion: "flying", blocker: [1, 1], trait: "defender and reach", blockers: 1 }).legal,
    ).toBe(true);
    expect(judgeTarget({ kind: "target", creature: [2, 2], protection: "hexproof", spell: 0, caster: "controller" }).legal).toBe(true);
    expect(judgeTarget({ kind: "target", creature: [2, 2], protection: "shroud", spell: 1, caster: "controller" }).legal).toBe(false);
    expect(judgeTarget({ kind: "target", creature: [2, 2], protection: "protection from red", spell: 2, caster: "opponent" }).legal).toBe(
      true,
    );
  });

  it("cites only rule numbers it knows, and copies no rules text (answers are built from our own phrases)", () => {
    for (const [number, summary] of Object.values(RULE)) {
      expect(number).toMatch(/^\d{3}(\.\d+[a-z]?)?$/);
      expect(summary.length).toBeLessThan(200);
    }
  });
});

describe("mtg generation", () => {
  const equal = Object.fromEntries(mtgSpaces().map((s) => [s.name, 1]));

  it("claims more than 10,000 unique rows", () => {
    expect(planGeneration("mtg", mtgSpaces(), { count: 0 }).maxCount).toBeGreaterThan(10_000);
  });

  it.each([1000, 10_000])(
    "--count %i: exact, valid, no duplicates, balanced",
    async (count) => {
      const path = await out(`mtg-${count}.jsonl`);
      const summary = await runGenerator(mtgGenerator, { count, seed: 42, output: path });
      expect(summary).toMatchObject({ count, rejected: 0, duplicates: 0 });
      const text = await readFile(path, "utf8");
      expect(independentChecks(text)).toMatchObject({ rows: count, formatErrors: [], duplicates: 0 });
      const report = await validateFile(path);
      expect(report.records).toBe(count);
      expect(report.errors.total).toBe(0);
      expect(report.duplicates.normalized.rows).toBe(0);
      expect(distributionGap(report.categories, equal)).toBeLessThanOrEqual(2);
      expect(text).not.toMatch(/undefined|NaN|\{[a-z]\w*\}/);
    },
    60_000,
  );

  it("same seed is byte-identical, another seed differs", async () => {
    const [a, b, c] = await Promise.all(["a", "b", "c"].map((n) => out(`${n}.jsonl`)));
    await runGenerator(mtgGenerator, { count: 300, seed: 5, output: a! });
    await runGenerator(mtgGenerator, { count: 300, seed: 5, output: b! });
    await runGenerator(mtgGenerator, { count: 300, seed: 6, output: c! });
    const [ta, tb, tc] = await Promise.all([a!, b!, c!].map((p) => readFile(p, "utf8")));
    expect(ta).toBe(tb);
    expect(ta).not.toBe(tc);
  });

  it("packs into a self-contained tarball whose bin runs offline", async () => {
    const packageDir = fileURLToPath(new URL("..", import.meta.url));
    const result = await packInstallAndRun(packageDir, "neural-generate-mtg", [
      "--count",
      "150",
      "--output",
      "out/m.jsonl",
      "--format",
      "chat",
    ]);
    expect(result.stdout).toMatch(/mtg: 150 rows/);
    expect(independentChecks(await readFile(join(result.dir, "out/m.jsonl"), "utf8"))).toMatchObject({
      rows: 150,
      formatErrors: [],
      duplicates: 0,
    });
    await rm(join(result.dir, ".."), { recursive: true, force: true });
  }, 120_000);
});
