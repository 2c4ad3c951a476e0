// bench/run: download a set of repos with @huggingface/hub into an empty cache, the way a user of
// the JS client would: `snapshotDownload` per repo, one repo after the other.
//
//   node fetch.mjs --hub URL --cache DIR --set SET.repos.json [--concurrent]
//
// With "only_regular" in the set file (the small-file set), the large LFS files are skipped:
// the script runs snapshotDownload's own loop (modelInfo for the commit, listFiles, then
// downloadFileToCacheDir per file with the commit as revision) minus the *.safetensors files,
// which sends the same requests per file as snapshotDownload does.
// --concurrent starts every repo at once (Promise.all) instead of one after the other.
import { readFileSync } from "node:fs";
import { snapshotDownload, modelInfo, listFiles, downloadFileToCacheDir } from "@huggingface/hub";

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const hubUrl = opt("--hub");
const cacheDir = opt("--cache");
const set = JSON.parse(readFileSync(opt("--set"), "utf8"));
const concurrent = args.includes("--concurrent");
console.debug = () => {}; // the client logs every download with console.debug

async function one(name) {
  const repo = { type: "model", name };
  if (!set.only_regular) {
    await snapshotDownload({ repo, cacheDir, hubUrl });
    return;
  }
  const info = await modelInfo({ name, hubUrl, additionalFields: ["sha"] });
  for await (const entry of listFiles({ repo, hubUrl, recursive: true, revision: info.sha })) {
    if (entry.type !== "file" || entry.path.endsWith(".safetensors")) continue;
    await downloadFileToCacheDir({ repo, hubUrl, path: entry.path, revision: info.sha, cacheDir });
  }
}

if (concurrent) {
  await Promise.all(set.repos.map(one));
} else {
  for (const name of set.repos) await one(name);
}
