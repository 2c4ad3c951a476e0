#!/usr/bin/env python3
"""Helpers for bench/run: the generated model set, the nginx CDN tree, URL lists, the local
copy-and-hash baseline, and the RESULTS.md table. Standard library only.

  benchlib.py world OUT_DIR                 world.json + manifests all.yaml, big.yaml, small.yaml
  benchlib.py cdn HUB_URL DATA_DIR CDN_ROOT  symlink every LFS blob where nginx serves it
  benchlib.py lists HUB_URL OUT_DIR          per set: URL lists for curl, aria2c and the JS client
  benchlib.py copyhash SRC DST               read SRC, sha256 it, write DST (one pass, 128 KiB blocks)
  benchlib.py check LIST ROOT [--sha256] [--hf]  the files a tool wrote are there (size, hash)
  benchlib.py report RESULTS.jsonl META.json write the Markdown report to stdout
"""

from __future__ import annotations

import glob
import hashlib
import http.client
import json
import os
import statistics
import sys
import urllib.parse
import urllib.request
from pathlib import Path

GIB = 1 << 30
# Block size of the local baselines (copy+hash, and dd in bench/run). On this kind of VM, writes
# of 512 KiB and more land in large page-cache folios whose memory the host has reclaimed (virtio
# free page reporting), which makes them several times slower than 64-256 KiB writes.
BLOCK = 128 << 10

# The model set of issue #5: 3 models with one 1 GiB LFS file each, 20 models in all, 200
# regular (non-LFS) small files: 10 per model, the usual config and tokenizer files.
BIG_MODELS = 3
MODELS = 20
BIG_SIZE = GIB


def small_files(i: int) -> dict:
    """Ten small files for model i; sizes are those of a typical small LLM repo's side files."""
    name = f"model-{i:02d}"
    return {
        ".gitattributes": "*.safetensors filter=lfs diff=lfs merge=lfs -text\n*.bin filter=lfs diff=lfs merge=lfs -text\n",
        "README.md": f"---\nlicense: apache-2.0\n---\n\n# {name}\n\n" + "A benchmark model of hfmodels.\n" * 100,
        "config.json": {"json": {"architectures": ["LlamaForCausalLM"], "model_type": "llama",
                                 "hidden_size": 2048, "num_hidden_layers": 22, "vocab_size": 32000,
                                 "name": name}},
        "generation_config.json": {"json": {"bos_token_id": 1, "eos_token_id": 2, "max_length": 2048}},
        "tokenizer_config.json": {"json": {"model_max_length": 2048, "padding_side": "right",
                                           "added_tokens_decoder": {str(k): {"content": f"<t{k}>"} for k in range(64)}}},
        "special_tokens_map.json": {"json": {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}},
        "preprocessor_config.json": {"json": {"do_normalize": True, "feature_size": 80}},
        "tokenizer.json": {"random": 900_000 + 1000 * i, "lfs": False},
        "merges.txt": {"random": 400_000 + 100 * i, "lfs": False},
        "vocab.txt": {"random": 200_000 + 10 * i, "lfs": False},
    }


def repo_id(i: int) -> str:
    return f"bench/llm-{i:02d}" if i < BIG_MODELS else f"bench/small-{i:02d}"


def cmd_world(out_dir: str) -> None:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    repos = []
    for i in range(MODELS):
        files = small_files(i)
        if i < BIG_MODELS:
            files["model.safetensors"] = {"random": BIG_SIZE, "lfs": True}
        repos.append({"id": repo_id(i), "type": "model", "files": files})
    (out / "world.json").write_text(json.dumps({"comment": "bench/run: generated model set", "repos": repos}, indent=1))

    def manifest(name: str, entries: list[str]) -> None:
        (out / f"{name}.yaml").write_text("models:\n" + "".join(entries))

    manifest("all", [f"  m{i:02d}:\n    repo: {repo_id(i)}\n" for i in range(MODELS)])
    manifest("big", [f"  m{i:02d}:\n    repo: {repo_id(i)}\n    files: [model.safetensors]\n"
                     for i in range(BIG_MODELS)])
    manifest("small", [f"  m{i:02d}:\n    repo: {repo_id(i)}\n    exclude: [\"*.safetensors\"]\n"
                       for i in range(MODELS)])


def describe(hub_url: str) -> list[dict]:
    """Every file of the world: repo, commit, path, size, sha256, lfs."""
    with urllib.request.urlopen(f"{hub_url}/_fake/world") as r:
        world = json.load(r)
    files = []
    for repo in world["repos"]:
        main = repo["branches"]["main"]
        # The branch names a commit by id (or by its world name).
        commit = next((c for c in repo["commits"].values() if c["id"] == main), None) or repo["commits"][main]
        for path, f in sorted(commit["files"].items()):
            files.append({"repo": repo["id"], "commit": commit["id"], "path": path, "size": f["size"],
                          "sha256": f["sha256"], "lfs": f["lfs"]})
    return files


def resolve_url(hub_url: str, f: dict) -> str:
    return f"{hub_url}/{f['repo']}/resolve/{f['commit']}/{urllib.parse.quote(f['path'])}"


def cmd_cdn(hub_url: str, data_dir: str, cdn_root: str) -> None:
    """For each LFS file, ask the fake Hub where it redirects and put a symlink to the generated
    bytes at that path under the nginx root, so nginx answers the redirect target from disk."""
    by_sha = {}
    for meta in glob.glob(os.path.join(data_dir, "gen-*.json")):
        m = json.loads(Path(meta).read_text())
        by_sha[m["sha256"]] = os.path.abspath(meta[:-len(".json")] + ".bin")
    u = urllib.parse.urlsplit(hub_url)
    n = 0
    for f in describe(hub_url):
        if not f["lfs"]:
            continue
        conn = http.client.HTTPConnection(u.hostname, u.port)
        conn.request("HEAD", urllib.parse.urlsplit(resolve_url(hub_url, f)).path)
        r = conn.getresponse()
        loc = r.getheader("Location")
        conn.close()
        if r.status != 302 or not loc:
            sys.exit(f"cdn: {f['repo']}/{f['path']}: expected a 302 to the CDN, got {r.status}")
        target = Path(cdn_root) / urllib.parse.urlsplit(loc).path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink() or target.exists():
            target.unlink()
        target.symlink_to(by_sha[f["sha256"]])
        n += 1
    print(f"cdn: {n} LFS files under {cdn_root}")


SETS = {"all": lambda f: True, "big": lambda f: f["lfs"], "small": lambda f: not f["lfs"]}


def cmd_lists(hub_url: str, out_dir: str) -> None:
    """Per set: <set>.tsv (url, relative output path, size, sha256) for the curl loop and the
    checks, <set>.aria2 (aria2c input file), <set>.repos.json (for the JS client)."""
    files = describe(hub_url)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, keep in SETS.items():
        chosen = [f for f in files if keep(f)]
        with open(out / f"{name}.tsv", "w") as tsv, open(out / f"{name}.aria2", "w") as aria:
            for f in chosen:
                url = resolve_url(hub_url, f)
                rel = f"{f['repo']}/{f['path']}"
                tsv.write(f"{url}\t{rel}\t{f['size']}\t{f['sha256']}\n")
                aria.write(f"{url}\n  out={rel}\n")
        repos = sorted({f["repo"] for f in chosen})
        (out / f"{name}.repos.json").write_text(json.dumps(
            {"repos": repos, "only_regular": name == "small", "files": len(chosen),
             "bytes": sum(f["size"] for f in chosen)}))


def cmd_copyhash(src: str, dst: str) -> None:
    """The local baseline a downloader cannot beat: one pass that reads the bytes (from the page
    cache), sha256es them with OpenSSL (Python's hashlib) and writes them to the same disk, in
    BLOCK-sized pieces."""
    h = hashlib.sha256()
    buf = bytearray(BLOCK)
    view = memoryview(buf)
    with open(src, "rb", buffering=0) as fin, open(dst, "wb", buffering=0) as fout:
        while True:
            n = fin.readinto(buf)
            if not n:
                break
            h.update(view[:n])
            fout.write(view[:n])
    print(h.hexdigest())


def cmd_check(list_path: str, root: str, full: bool, hf_layout: bool) -> None:
    """Every file of the list is under `root` (as <repo>/<path>, or with --hf in the Hugging Face
    cache layout models--org--name/snapshots/<commit>/<path>) with its size (and sha256)."""
    bad = 0
    for line in Path(list_path).read_text().splitlines():
        url, rel, size, sha = line.split("\t")
        p = Path(root) / rel
        if hf_layout:
            repo, path = rel.split("/", 2)[:2], rel.split("/", 2)[2]
            commit = urllib.parse.urlsplit(url).path.split("/resolve/", 1)[1].split("/", 1)[0]
            p = Path(root) / f"models--{repo[0]}--{repo[1]}" / "snapshots" / commit / path
        try:
            st = p.stat()
        except OSError:
            print(f"check: missing {p}", file=sys.stderr)
            bad += 1
            continue
        if st.st_size != int(size):
            print(f"check: {p}: {st.st_size} bytes, expected {size}", file=sys.stderr)
            bad += 1
        elif full:
            h = hashlib.sha256()
            with open(p, "rb") as fh:
                while chunk := fh.read(1 << 20):
                    h.update(chunk)
            if h.hexdigest() != sha:
                print(f"check: {p}: sha256 mismatch", file=sys.stderr)
                bad += 1
    if bad:
        sys.exit(f"check: {bad} bad file(s) under {root}")


# --- report --------------------------------------------------------------------------------------

LABELS = {
    "hfmodels": "hfmodels fetch (default -j16)",
    "hfmodels-j32": "hfmodels fetch -j32",
    "curl": "curl -L, one file at a time",
    "aria2c": "aria2c -x16 -s16 -j16",
    "js": "@huggingface/hub snapshotDownload, repo after repo",
    "js-concurrent": "@huggingface/hub snapshotDownload, all repos at once",
    "verify/hfmodels": "hfmodels verify",
    "sha256sum": "xargs -P$(nproc) -n1 sha256sum",
    "openssl": "xargs -P$(nproc) -n16 openssl dgst -sha256",
    "noop/hfmodels": "hfmodels fetch",
    "hash-read": "hash-read: 3 × `openssl dgst -sha256` at once",
    "write": "write: 3 × `dd if=/dev/zero bs=128K count=8192` at once, no fsync",
    "copy+hash": "copy+hash: 3 × (read → SHA-256 → write, 128 KiB blocks) at once",
    "receive": "receive only: 3 × `curl -o /dev/null` at once from nginx (no hash, no write)",
}
CASES = [
    ("whole", "Cold fetch, whole set (203 files, 3.03 GiB)", "all"),
    ("big", "Cold fetch, the 3 × 1 GiB files alone", "big"),
    ("limit", "Machine's limit, 3 × 1 GiB, no network", "big"),
    ("capped", "Cold fetch, 3 × 1 GiB, CDN capped at 50 MiB/s per connection", "big"),
    ("latency", "Cold fetch, 200 small files, +50 ms per Hub request", "small"),
    ("noop", "No-op fetch, all 203 files cached", None),
    ("verify", "Verify (re-hash) the whole set", "all"),
]


def fmt_s(x: float) -> str:
    return f"{x * 1000:.1f} ms" if x < 0.1 else f"{x:.2f} s"


def cmd_report(results_path: str, meta_path: str) -> None:
    meta = json.loads(Path(meta_path).read_text())
    rows: dict[tuple[str, str], list[dict]] = {}
    for line in Path(results_path).read_text().splitlines():
        r = json.loads(line)
        rows.setdefault((r["case"], r["tool"]), []).append(r)

    def med(case: str, tool: str, key: str = "seconds") -> float | None:
        vals = [r[key] for r in rows.get((case, tool), []) if r.get(key) is not None]
        return statistics.median(vals) if vals else None

    def peak(case: str, tool: str) -> int | None:
        vals = [r["rss_kib"] for r in rows.get((case, tool), []) if r.get("rss_kib")]
        return max(vals) if vals else None

    def runs(case: str, tool: str) -> str:
        rs = rows.get((case, tool), [])
        if len(rs) == 1 and rs[0].get("note"):
            return rs[0]["note"]
        return " / ".join(fmt_s(r["seconds"]) for r in rs)

    sets = meta["sets"]
    nbytes = {k: v["bytes"] for k, v in sets.items()}
    out: list[str] = []
    w = out.append
    w("# Benchmark results (issue #5)\n")
    w(f"One run of `bench/run` on {meta['date']}; the whole command took {meta['wall']}. "
      "`bench/README.md` says how to reproduce it and what each case measures; the raw timings are "
      "in `bench/results.jsonl`.\n")
    w("## Machine\n")
    for k, v in meta["machine"].items():
        w(f"- **{k}**: {v}")
    w("")
    w("## Model set\n")
    for name, st in sets.items():
        w(f"- `{name}`: {st['files']} files in {len(st['repos'])} repos, {st['bytes']:,} bytes")
    w("")
    w(f"Every figure is the median of {meta['runs']} runs (the no-op: of 100), each from an empty "
      "destination, with the tools interleaved round by round. Before every run of the large cases "
      "the script runs `sync` and waits 5 s (see README: this VM returns freed memory to its host, "
      "so every run starts with the same memory state). MB/s are 10^6 bytes/s. *CPU* is user + "
      "system time of the tool's own processes (not the servers'), a figure that other load on the "
      "machine disturbs much less than wall time.\n")

    # ---- limit
    h, wr, c = med("limit", "hash-read"), med("limit", "write"), med("limit", "copy+hash")
    limit = c
    w("## The machine's limit\n")
    w("Measured in the same run, on the same three 1 GiB files (see README). **The limit is the "
      "copy+hash time**: reading the 3 GiB once from memory, hashing it with OpenSSL's SHA-256 and "
      "writing it to the cache's file system, three files at once, with no network at all. Any "
      "verifying downloader has at least that work to do here.")
    if h and wr and c:
        w(f"Hash-read alone takes {fmt_s(h)} and write alone {fmt_s(wr)} (sum {fmt_s(h + wr)}); copy+hash "
          f"takes {fmt_s(c)}, i.e. {big_mb(nbytes['big'], c)} MB/s.")
    r, r_cpu, c_cpu = med("limit", "receive"), med("limit", "receive", "cpu"), med("limit", "copy+hash", "cpu")
    if r and r_cpu and c_cpu:
        w(f"The limit leaves out the network. Receiving the same bytes over loopback from nginx into "
          f"`/dev/null` (receive only, no hash, no write) takes {fmt_s(r)} and {fmt_s(r_cpu)} of CPU, "
          f"on the same two cores as nginx's sending; copy+hash takes {fmt_s(c_cpu)} of CPU. A "
          f"downloader here does both jobs.")
    w("")

    # ---- results
    w("## Results\n")
    w("| case | tool | median | MB/s | CPU | peak RSS | every run |")
    w("|---|---|---|---|---|---|---|")
    for case, title, set_name in CASES:
        for (c2, tool) in rows:
            if c2 != case:
                continue
            m = med(case, tool)
            cpu = med(case, tool, "cpu")
            rss = peak(case, tool)
            mbs = f"{nbytes[set_name] / m / 1e6:.0f}" if set_name and m else ""
            label = LABELS.get(f"{case}/{tool}", LABELS.get(tool, tool))
            w(f"| {title} | {label} | **{fmt_s(m)}** | {mbs} | {f'{cpu:.2f} s' if cpu is not None else ''} | "
              f"{f'{rss / 1024:.1f} MiB' if rss else ''} | {runs(case, tool)} |")
    w("")

    # ---- targets
    def ok_text(ok: bool) -> str:
        return "**met**" if ok else "**not met**"

    w("## Targets\n")
    w("| target (issue #5) | measured | |")
    w("|---|---|---|")
    hf_big = med("big", "hfmodels")
    if hf_big and limit:
        frac = limit / hf_big
        w(f"| 3 large files at ≥ 90% of the machine's limit | {big_mb(nbytes['big'], hf_big)} MB/s against "
          f"{big_mb(nbytes['big'], limit)} MB/s: **{frac:.0%}** | {ok_text(frac >= 0.9)} |")
    hf_whole, js_whole, aria_whole = med("whole", "hfmodels"), med("whole", "js"), med("whole", "aria2c")
    if hf_whole and js_whole:
        x = js_whole / hf_whole
        jsc = med("whole", "js-concurrent")
        extra = f" (all repos at once: {jsc / hf_whole:.2f}×)" if jsc else ""
        w(f"| whole set ≥ 2× faster than @huggingface/hub | {fmt_s(js_whole)} / {fmt_s(hf_whole)} = **{x:.2f}×**{extra} | {ok_text(x >= 2)} |")
    if hf_whole and aria_whole:
        x = aria_whole / hf_whole
        w(f"| whole set at least as fast as aria2c -x16 -s16 -j16 | {fmt_s(aria_whole)} / {fmt_s(hf_whole)} = **{x:.2f}×** | {ok_text(x >= 1)} |")
    hf_lat, curl_lat = med("latency", "hfmodels"), med("latency", "curl")
    if hf_lat and curl_lat:
        x = curl_lat / hf_lat
        j32 = med("latency", "hfmodels-j32")
        extra = f" (-j32: {curl_lat / j32:.1f}×)" if j32 else ""
        w(f"| small files, +50 ms per request, ≥ 8× faster than curl one at a time | {fmt_s(curl_lat)} / {fmt_s(hf_lat)} = **{x:.1f}×**{extra} | {ok_text(x >= 8)} |")
    noop = med("noop", "hfmodels")
    if noop:
        w(f"| no-op fetch of 20 models and 200 files ≤ 20 ms | **{fmt_s(noop)}** median ({runs('noop', 'hfmodels')}) | {ok_text(noop <= 0.020)} |")
    rss = max([x for x in (peak("big", "hfmodels"), peak("whole", "hfmodels")) if x] or [0])
    if rss:
        w(f"| peak RSS ≤ 64 MiB during the 1 GiB transfers | **{rss / 1024:.1f} MiB** (largest of all runs, whole set and large files) | {ok_text(rss <= 64 * 1024)} |")
    hv, sv = med("verify", "hfmodels"), med("verify", "sha256sum")
    if hv and sv:
        x = sv / hv
        ov = med("verify", "openssl")
        extra = f" (against openssl on all cores: {ov / hv:.2f}×)" if ov else ""
        w(f"| verify ≥ 0.9× the throughput of sha256sum on all cores | {fmt_s(sv)} / {fmt_s(hv)} = **{x:.2f}×**{extra} | {ok_text(x >= 0.9)} |")
    w("")
    analysis = Path(meta_path).resolve().parent / "ANALYSIS.md"  # hand-written, beside the results
    if analysis.exists():
        w(analysis.read_text())
    sys.stdout.write("\n".join(out) + "\n")


def big_mb(n: int, seconds: float) -> str:
    return f"{n / seconds / 1e6:.0f}"


def main() -> None:
    a = sys.argv[1:]
    if not a:
        sys.exit(__doc__)
    cmd = a[0]
    if cmd == "world":
        cmd_world(a[1])
    elif cmd == "cdn":
        cmd_cdn(a[1], a[2], a[3])
    elif cmd == "lists":
        cmd_lists(a[1], a[2])
    elif cmd == "copyhash":
        cmd_copyhash(a[1], a[2])
    elif cmd == "check":
        cmd_check(a[1], a[2], "--sha256" in a[3:], "--hf" in a[3:])
    elif cmd == "report":
        cmd_report(a[1], a[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
