// A small chat dataset for tests: customer messages routed to a team (the answer), in several wordings each, so
// held-out messages can be answered by a tiny model after a few dozen steps. Same shape as the web page's example.

const problems: Record<string, string[]> = {
  billing: ["I was charged twice", "my payment failed", "the invoice is wrong", "there is an extra fee on my bill"],
  shipping: [
    "my parcel has not arrived",
    "the tracking number does not work",
    "my order is stuck in transit",
    "the courier lost my package",
  ],
  returns: ["the shoes are too small", "I received a broken lamp", "I want to send back the jacket", "the item does not match the photo"],
  account: ["I forgot my password", "I cannot log in", "my account was locked", "the verification code never arrives"],
};
const frames = [
  (p: string) => `Hello, ${p}.`,
  (p: string) => `${p}, what should I do?`,
  (p: string) => `Quick question: ${p}.`,
  (p: string) => `Urgent: ${p}!`,
  (p: string) => `Support team, ${p}. Please advise.`,
];

export function routingRecords(): { messages: { role: string; content: string }[]; category: string }[] {
  const rows: { messages: { role: string; content: string }[]; category: string }[] = [];
  frames.forEach((frame) => {
    for (const [team, list] of Object.entries(problems)) {
      for (const problem of list)
        rows.push({
          messages: [
            { role: "user", content: frame(problem) },
            { role: "assistant", content: team },
          ],
          category: team,
        });
    }
  });
  return rows;
}

/** The dataset as JSONL bytes. */
export function routingDataset(): Uint8Array {
  return new TextEncoder().encode(
    routingRecords()
      .map((r) => JSON.stringify(r))
      .join("\n") + "\n",
  );
}
