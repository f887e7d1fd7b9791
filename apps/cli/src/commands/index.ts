import type { Command } from "../command.js";
import { downloadCommand } from "./download.js";
import { evalCommand } from "./eval.js";
import { exportCommand } from "./export.js";
import { generateCommands } from "./generate.js";
import { inspect } from "./inspect.js";
import { mergeCommand } from "./merge.js";
import { prepare } from "./prepare.js";
import { quickstart } from "./quickstart.js";
import { runCommand } from "./run.js";
import { tokenizerTrain } from "./tokenizer.js";
import { trainCommand } from "./train.js";
import { validate } from "./validate.js";

// One line per command; each lives in its own file in this folder.
export const commands: Command[] = [quickstart, validate, tokenizerTrain, prepare, downloadCommand, trainCommand, mergeCommand, exportCommand, inspect, runCommand, evalCommand, ...generateCommands];
