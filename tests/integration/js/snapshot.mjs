// Downloads a repo into a Hugging Face cache folder with the official JS client:
// `snapshotDownload({repo, cacheDir, hubUrl, revision})` of @huggingface/hub.
//
//   node snapshot.mjs CACHE_DIR HUB_URL REPO [REVISION]
//
// REPO is `org/name` for a model, `datasets/org/name` for a dataset. Prints
// {"snapshot": "<folder>"} as the last line of stdout; the client's own debug lines go to stderr.
// No token is used: the test world's public repos need none.
import { snapshotDownload } from "@huggingface/hub";

const [cacheDir, hubUrl, repo, revision] = process.argv.slice(2);
if (!cacheDir || !hubUrl || !repo) {
  console.error("usage: node snapshot.mjs CACHE_DIR HUB_URL REPO [REVISION]");
  process.exit(2);
}

// downloadFileToCacheDir logs "Downloading <path> to <blob>.incomplete" with console.debug.
console.debug = (...args) => console.error(...args);

const snapshot = await snapshotDownload({ repo, cacheDir, hubUrl, revision });
process.stdout.write(JSON.stringify({ snapshot }) + "\n");
