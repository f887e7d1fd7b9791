#!/usr/bin/env node
// Writes public/examples/support-routing.jsonl, the page's bundled example: customer messages in ChatML-style chat
// records, each answered with the team that handles it. The team follows from the problem described, so held-out
// messages (a problem seen in other wordings) can be answered by a model trained for a minute.
// Deterministic: `node apps/web/scripts/make-example.mjs` rewrites the same file.
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const problems = {
  billing: [
    "I was charged twice this month",
    "my credit card payment failed",
    "the invoice shows the wrong amount",
    "there is an extra fee on my bill",
    "I want to change my payment method",
    "my subscription price went up",
    "I need a copy of last month's invoice",
    "the discount code was not applied to my bill",
  ],
  shipping: [
    "my parcel has not arrived yet",
    "the tracking number does not work",
    "the courier left my package at the wrong door",
    "my order is stuck in transit",
    "I need to change the delivery address",
    "the package arrived two weeks late",
    "the delivery driver never came",
    "shipping to my country seems to be blocked",
  ],
  returns: [
    "the shoes I bought are too small",
    "I received a broken lamp",
    "I want to send back the jacket",
    "the item does not match the photo",
    "I ordered the wrong color and want to exchange it",
    "the blender stopped working after a day",
    "I need a return label for my order",
    "the box was missing two pieces",
  ],
  account: [
    "I forgot my password",
    "I cannot log in to my account",
    "I want to change the email on my profile",
    "my account was locked after too many attempts",
    "the verification code never reaches my phone",
    "I would like to delete my account",
    "someone else may be using my login",
    "the app keeps signing me out",
  ],
};

const frames = [
  (p) => `Hello, ${p}.`,
  (p) => `Hi there. ${cap(p)}. Can you help?`,
  (p) => `${cap(p)}, what should I do?`,
  (p) => `Quick question: ${p}.`,
  (p) => `Good morning! ${cap(p)} and I am not happy about it.`,
  (p) => `Support team, ${p}. Please advise.`,
  (p) => `${cap(p)}. Thanks in advance.`,
  (p) => `Urgent: ${p}!`,
];
const cap = (s) => s[0].toUpperCase() + s.slice(1);

const rows = [];
for (const [team, list] of Object.entries(problems)) {
  list.forEach((problem, i) => {
    frames.forEach((frame, j) => {
      rows.push({
        key: `${team}-${i}-${j}`,
        record: {
          messages: [
            { role: "user", content: frame(problem) },
            { role: "assistant", content: team },
          ],
          category: team,
        },
      });
    });
  });
}
// A fixed interleaving (no randomness), so teams alternate through the file.
rows.sort((a, b) => {
  const [ta, ia, ja] = a.key.split("-");
  const [tb, ib, jb] = b.key.split("-");
  return Number(ja) - Number(jb) || Number(ia) - Number(ib) || ta.localeCompare(tb);
});
const out = join(dirname(fileURLToPath(import.meta.url)), "..", "public", "examples", "support-routing.jsonl");
writeFileSync(out, rows.map((r) => JSON.stringify(r.record)).join("\n") + "\n");
console.log(`${out}: ${rows.length} records`);
