import { hello } from "@neural/dataset";
console.log(hello());
