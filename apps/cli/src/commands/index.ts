import type { Command } from "../command.js";

// One line per command; each lives in its own file in this folder.
export const commands: Command[] = [];
