// Parse an AsyncAPI document with the official parser and print its diagnostics as JSON:
// [{"severity": 0, "code": "...", "message": "...", "path": [...]}, ...] (0 error, 1 warning,
// 2 information, 3 hint). Usage: node check.mjs <document.json>
import { readFile } from "node:fs/promises";
import { Parser } from "@asyncapi/parser";

const text = await readFile(process.argv[2], "utf8");
const { diagnostics } = await new Parser().parse(text);
process.stdout.write(
  JSON.stringify(
    diagnostics.map(({ severity, code, message, path }) => ({ severity, code, message, path })),
  ),
);
