import { generatorBuild } from "../generators/tsup.generator.js";

export default generatorBuild({ languages: ["python", "go", "javascript", "java", "typescript", "tsx"] });
