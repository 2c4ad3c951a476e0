// Prints what the official JS client sees in a Hugging Face cache folder:
// `scanCacheDir(cacheDir)` of @huggingface/hub, as JSON on stdout.
//
//   node scan.mjs CACHE_DIR
//
// Dates become ISO strings; the `warnings` (Error objects, which JSON.stringify turns into {})
// become {name, message} so that a corrupted-repo warning is visible to the caller.
import { scanCacheDir } from "@huggingface/hub";

const [cacheDir] = process.argv.slice(2);
if (!cacheDir) {
  console.error("usage: node scan.mjs CACHE_DIR");
  process.exit(2);
}

const info = await scanCacheDir(cacheDir);
const warnings = info.warnings.map((error) => ({
  name: error?.name ?? "Error",
  message: String(error?.message ?? error),
}));
process.stdout.write(JSON.stringify({ ...info, warnings }, null, 2) + "\n");
