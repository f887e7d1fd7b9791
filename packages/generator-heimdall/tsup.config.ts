import { generatorBuild } from "../generators/tsup.generator.js";

export default generatorBuild();
