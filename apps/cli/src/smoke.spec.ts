import { expect, test } from "vitest";
import { hello } from "@neural/dataset";
test("resolves workspace sources", () => { expect(hello()).toBe("dataset"); });
