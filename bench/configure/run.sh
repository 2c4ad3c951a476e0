#!/usr/bin/env bash
# Benchmark: what does hfmodels add to a CMake configure once every model is locked and cached?
#
# Times `cmake -S <project> -B <build>` for the same small project three ways: without hfmodels
# ("empty"), with find_package(HFModels) + hfmodels_add_models() over 1 locked, cached model,
# and over 20. Each is timed as a re-configure of an existing build folder (what an edit of a
# CMakeLists.txt or an IDE triggers) and as a fresh configure (compiler detection included).
# Medians of N runs, with hyperfine (installed from Debian if missing) or a plain bash loop.
# The models come from the project's fake Hub (tests/fakehub) on 127.0.0.1, with a generated
# world of 20 models; the Hub's request log must stay empty while timing.
#
# Usage: bench/configure/run.sh            (RUNS=40 FRESH_RUNS=30 by default)
#        RUNS=50 HFMODELS_PREFIX=/opt/hfmodels bench/configure/run.sh
# Writes bench/configure/RESULTS.md; scratch files go to build/bench-configure.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
runs=${RUNS:-40}
fresh_runs=${FRESH_RUNS:-30}
models=20
work=${BENCH_WORK:-$top/build/bench-configure}
generator=${CMAKE_GENERATOR:-Ninja}

say() { printf '==> %s\n' "$*" >&2; }

# hyperfine if it can be had, else a bash loop.
if ! command -v hyperfine >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  say "installing hyperfine (Debian)"
  apt-get install -y -qq hyperfine >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq hyperfine >/dev/null 2>&1; } || true
fi
have_hyperfine=0
command -v hyperfine >/dev/null && have_hyperfine=1

mkdir -p "$work"
# hfmodels: an existing install, or build and install it (Release; incremental on re-runs).
if [ -n "${HFMODELS_PREFIX:-}" ]; then
  prefix=$HFMODELS_PREFIX
else
  prefix=$work/install
  say "building and installing hfmodels into $prefix"
  cmake -S "$top" -B "$work/hfmodels-build" -G "$generator" -DCMAKE_BUILD_TYPE=Release \
    -DHFMODELS_BUILD_TESTS=OFF >"$work/hfmodels-build.log"
  cmake --build "$work/hfmodels-build" >>"$work/hfmodels-build.log"
  cmake --install "$work/hfmodels-build" --prefix "$prefix" >>"$work/hfmodels-build.log"
fi
tool=$prefix/bin/hfmodels

# Everything below is made anew each run: world, Hub, cache, projects.
rm -rf "$work/world.json" "$work/hf-home" "$work/projects" "$work/hub.url"
export HF_HOME=$work/hf-home
unset HF_HUB_CACHE HUGGINGFACE_HUB_CACHE HF_TOKEN HUGGING_FACE_HUB_TOKEN HF_HUB_OFFLINE \
  HFMODELS_OFFLINE HFMODELS_CACHE_DIR

# The world: 20 models, each a config, a tokenizer, a generation config and a 256 KiB
# safetensors file (LFS), like a small real checkpoint.
python3 - "$work/world.json" "$models" <<'PY'
import json, sys
path, count = sys.argv[1], int(sys.argv[2])
repos = [{
    "id": f"bench-org/model-{i:02d}",
    "files": {
        "config.json": {"json": {"model_type": "llama", "hidden_size": 64, "index": i}},
        "generation_config.json": {"json": {"max_new_tokens": 16}},
        "tokenizer.json": {"json": {"version": "1.0", "model": {"type": "BPE", "vocab": {"a": 0}}}},
        "model.safetensors": {"safetensors": {"pad_to": 262144}},
    },
} for i in range(1, count + 1)]
json.dump({"repos": repos}, open(path, "w"), indent=1)
PY

say "starting the fake Hub"
python3 "$top/tests/fakehub/fakehub.py" --world "$work/world.json" --port-file "$work/hub.url" \
  --data-dir "$work/hub-data" >"$work/hub.log" 2>&1 &
hub_pid=$!
trap 'kill "$hub_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$work/hub.url" ] && break; sleep 0.1; done
[ -s "$work/hub.url" ] || { cat "$work/hub.log" >&2; exit 1; }
export HF_ENDPOINT
HF_ENDPOINT=$(tr -d '\n' <"$work/hub.url")

# The projects: one source file, one executable; the model projects link every model target.
make_project() { # name model-count
  local dir=$work/projects/$1 n=$2
  mkdir -p "$dir"
  printf 'int main() { return 0; }\n' >"$dir/main.cpp"
  {
    echo "cmake_minimum_required(VERSION 3.25)"
    echo "project(bench_$1 LANGUAGES CXX)"
    echo "add_executable(app main.cpp)"
    if [ "$n" -gt 0 ]; then
      echo "find_package(HFModels 0.1 REQUIRED)"
      echo "hfmodels_add_models()"
      for i in $(seq -f '%02g' 1 "$n"); do echo "target_link_libraries(app PRIVATE HFModels::m$i)"; done
    fi
  } >"$dir/CMakeLists.txt"
  if [ "$n" -gt 0 ]; then
    {
      echo "models:"
      for i in $(seq -f '%02g' 1 "$n"); do printf '  m%s:\n    repo: bench-org/model-%s\n' "$i" "$i"; done
    } >"$dir/models.yaml"
    (cd "$dir" && "$tool" -q lock && "$tool" -q fetch)
  fi
}
make_project empty 0
make_project one 1
make_project twenty "$models"
for p in empty one twenty; do
  cmake -S "$work/projects/$p" -B "$work/projects/$p/build" -G "$generator" \
    -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
done
curl -fsS -X POST "$HF_ENDPOINT/_fake/reset" >/dev/null

configure() { echo "cmake -S $work/projects/$1 -B $work/projects/$1/build -G $generator -DCMAKE_PREFIX_PATH=$prefix"; }
results=$work/results
rm -rf "$results" && mkdir -p "$results"

# Median seconds of `runs` runs of a command (fallback without hyperfine).
loop_median() { # runs prepare command
  python3 - "$@" <<'PY'
import statistics, subprocess, sys, time
runs, prepare, command = int(sys.argv[1]), sys.argv[2], sys.argv[3]
subprocess.run(command, shell=True, check=True, stdout=subprocess.DEVNULL)  # warm-up
times = []
for _ in range(runs):
    if prepare:
        subprocess.run(prepare, shell=True, check=True)
    start = time.perf_counter()
    subprocess.run(command, shell=True, check=True, stdout=subprocess.DEVNULL)
    times.append(time.perf_counter() - start)
print(statistics.median(times), statistics.stdev(times))
PY
}

measure() { # kind runs prepare-or-empty
  local kind=$1 n=$2 prepare=$3
  for p in empty one twenty; do
    local prep=""
    [ -n "$prepare" ] && prep="rm -rf $work/projects/$p/build"
    if [ "$have_hyperfine" = 1 ]; then
      local args=(--runs "$n" --warmup 2 --style basic --export-json "$results/$kind-$p.json")
      [ -n "$prep" ] && args+=(--prepare "$prep")
      hyperfine "${args[@]}" -n "$kind $p" "$(configure $p) >/dev/null" >&2
      python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['results'][0]; print(r['median'], r['stddev'])" \
        "$results/$kind-$p.json" >"$results/$kind-$p.median"
    else
      loop_median "$n" "$prep" "$(configure $p)" >"$results/$kind-$p.median"
    fi
  done
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
say "timing re-configures ($runs runs each)"
measure reconfigure "$runs" ""
say "timing fresh configures ($fresh_runs runs each)"
measure fresh "$fresh_runs" yes

requests=$(curl -fsS "$HF_ENDPOINT/_fake/requests" |
  python3 -c "import json,sys; print(json.load(sys.stdin)['total'])")

python3 - "$results" "$here/RESULTS.md" "$models" "$runs" "$fresh_runs" "$requests" \
  "$([ "$have_hyperfine" = 1 ] && hyperfine --version || echo 'bash loop (no hyperfine)')" \
  "$(cmake --version | head -1)" "$generator" "$("$tool" --version)" \
  "$(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)" \
  "$load_before / $(cut -d' ' -f1-3 /proc/loadavg)" <<'PY'
import sys
from pathlib import Path
results, out, models, runs, fresh_runs, requests, timer, cmake, generator, tool, cpu, load = \
    sys.argv[1:]
models = int(models)
m, sd = {}, {}
for k in ("reconfigure", "fresh"):
    for p in ("empty", "one", "twenty"):
        median, stddev = (Path(results) / f"{k}-{p}.median").read_text().split()
        m[(k, p)], sd[(k, p)] = float(median) * 1000, float(stddev) * 1000
rows = []
for kind, label, n in (("reconfigure", "re-configure (build folder exists)", runs),
                       ("fresh", "fresh configure (empty build folder)", fresh_runs)):
    e, o, t = m[(kind, "empty")], m[(kind, "one")], m[(kind, "twenty")]
    s = [sd[(kind, p)] for p in ("empty", "one", "twenty")]
    rows.append(f"| {label} | {n} | {e:.1f} ± {s[0]:.1f} | {o:.1f} ± {s[1]:.1f} "
                f"| {t:.1f} ± {s[2]:.1f} | {t / e:.2f}x "
                f"| {(t - e) / models:.2f} | {(t - o) / (models - 1):.2f} |")
text = f"""# Configure cost of hfmodels with everything cached

Produced by `bench/configure/run.sh` (one command; re-run it to refresh this file).

The same one-file CMake project configured three ways: **empty** (no hfmodels), **1 model** and
**{models} models** (`find_package(HFModels)`, `hfmodels_add_models()` with the default
`FETCH CONFIGURE`, every model locked and already in the cache, the executable linking every
`HFModels::` target). Each model of the generated world has 4 files (config, generation
config, tokenizer, a 256 KiB safetensors). Times are medians ± standard deviation, in
milliseconds.

| configure | runs | empty | 1 model | {models} models | ratio {models} / empty | ms per model vs empty | ms per extra model (1 → {models}) |
|---|---|---|---|---|---|---|---|
""" + "\n".join(rows) + f"""

- "ms per model vs empty" is ({models} models − empty) / {models}: it charges the fixed cost of
  `find_package(HFModels)` and of starting the tool once to the models. "ms per extra model" is
  ({models} models − 1 model) / {models - 1}: the cost that grows with the number of models.
- Fake Hub requests while timing: **{requests}** (everything cached: the configure checks presence
  and size, sends nothing and hashes nothing).
- Machine: {cpu}; load average before / after timing: {load} (other work on the machine
  widens the spread: a difference smaller than the standard deviations is noise).
  {cmake}, generator {generator}, {tool}. Timer: {timer}.
"""
Path(out).write_text(text)
print(text)
PY
