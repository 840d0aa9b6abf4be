/** A load generator process: reads a LoadSpec as JSON on stdin, prints its LoadResult as JSON. */
import { runLoad, type LoadSpec } from "./load-generator.ts";

const spec = JSON.parse(await Bun.stdin.text()) as LoadSpec;
const result = await runLoad(spec);
process.stdout.write(JSON.stringify(result));
