"""The CMake package end to end: install, move the prefix, and configure + build + run consumers
with find_package(HFModels) and as a subproject (FetchContent), for each FETCH mode; offline
behaviour; misuse messages; the packaging example's CPack archive.

Cost: the installed package comes from the build tree that built HFMODELS_BIN (`cmake --install`,
no compile); only if that tree cannot be found is the tool built here. The subproject test builds
the tool once (the nested configure-time build), for all three FETCH modes in one consumer.
Step timings are printed at the end (stderr).
"""

import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import textwrap
import time
import unittest
from pathlib import Path

from support import DEMO_WORLD, HubTestCase, hfmodels_binary, sha256_of

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
TIMINGS = []


def tearDownModule():
    if TIMINGS:
        print("\ncmake_package step timings:", file=sys.stderr)
        for label, seconds in TIMINGS:
            print(f"  {seconds:7.2f}s  {label}", file=sys.stderr)
        print(f"  {sum(s for _, s in TIMINGS):7.2f}s  total in cmake/ctest/cpack/tool runs",
              file=sys.stderr)


def outer_build_dir(binary):
    """The build tree that produced `binary`, if it is one of this repository's."""
    for folder in Path(binary).resolve().parents:
        cache = folder / "CMakeCache.txt"
        if cache.is_file():
            text = cache.read_text(errors="replace")
            match = re.search(r"^CMAKE_HOME_DIRECTORY:INTERNAL=(.*)$", text, re.M)
            if match and Path(match.group(1)).resolve() == REPO:
                return folder, text
            return None, ""
    return None, ""


def read_lock(path):
    """{model: {"commit": ..., "files": {path: sha256}}} from a models.lock (only what we need)."""
    models, current, file_path = {}, None, None
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if m := re.match(r"^  ([A-Za-z][A-Za-z0-9_]*):\s*$", line):
            current = models.setdefault(m.group(1), {"files": {}})
        elif current is not None and (m := re.match(r"^    commit: *([0-9a-f]{40})", line)):
            current["commit"] = m.group(1)
        elif current is not None and (m := re.match(r"^      - path: *(.+?)\s*$", line)):
            file_path = m.group(1).strip("'\"")
        elif current is not None and (m := re.match(r"^        sha256: *([0-9a-f]{64})", line)):
            current["files"][file_path] = m.group(1)
    return models


def flat(text):
    """`text` with CMake's line wrapping undone: whitespace runs become one space."""
    return " ".join(text.split())


def closed_port_endpoint():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def ninja_log(build_dir):
    """{output: (start_ms, end_ms)} from .ninja_log."""
    entries = {}
    for line in (Path(build_dir) / ".ninja_log").read_text().splitlines():
        if line.startswith("#"):
            continue
        start, end, _mtime, output, _hash = line.split("\t")
        entries[output] = (int(start), int(end))
    return entries


# A small consumer: two executables linking both models of the inference example's manifest,
# printing the compile definitions and the size of one file of each model.
PROBE_CMAKE = """
cmake_minimum_required(VERSION 3.25)
project(probe LANGUAGES CXX)
find_package(HFModels 0.1 REQUIRED)
set(PROBE_ARGS "" CACHE STRING "Arguments of hfmodels_add_models")
hfmodels_add_models(${PROBE_ARGS})
foreach(name IN ITEMS encoder chat)
  if(TARGET HFModels::${name})
    get_target_property(dir HFModels::${name} HFMODELS_DIR)
    get_target_property(commit HFModels::${name} HFMODELS_COMMIT)
    get_target_property(files HFModels::${name} HFMODELS_FILES)
    message(STATUS "probe ${name}|${dir}|${commit}|${files}|${HFModels_${name}_DIR}")
  endif()
endforeach()
foreach(app IN ITEMS app1 app2)
  add_executable(${app} main.cpp)
  target_compile_features(${app} PRIVATE cxx_std_17)
  target_link_libraries(${app} PRIVATE HFModels::encoder HFModels::chat)
endforeach()
"""

PROBE_MAIN = r"""
#include <cstdio>
#include <filesystem>
int main() {
  namespace fs = std::filesystem;
  const fs::path encoder = HFMODELS_ENCODER_DIR, chat = HFMODELS_CHAT_DIR;
  std::printf("encoder %s config.json %llu\n", encoder.c_str(),
              static_cast<unsigned long long>(fs::file_size(encoder / "config.json")));
  std::printf("chat %s gguf %llu\n", chat.c_str(),
              static_cast<unsigned long long>(fs::file_size(chat / "tiny-llama-Q4_K_M.gguf")));
}
"""


class CMakeTestCase(HubTestCase):
    world = DEMO_WORLD

    def run_step(self, label, args, env=None, cwd=None, expect=0, timeout=900):
        """Runs a command, records its wall time; `expect` is the exit code (None: any)."""
        started = time.monotonic()
        result = subprocess.run(
            [str(a) for a in args], cwd=cwd or self.root, env=env or self.env(),
            capture_output=True, text=True, timeout=timeout)
        TIMINGS.append((f"{type(self).__name__}.{self._testMethodName}: {label}",
                        time.monotonic() - started))
        if expect is not None and (result.returncode == 0) != (expect == 0):
            self.fail(f"{label}: {' '.join(map(str, args))} exited {result.returncode}\n"
                      f"stdout:\n{result.stdout[-6000:]}\nstderr:\n{result.stderr[-6000:]}")
        return result

    def assertCommandLine(self, stderr, command):
        """`command` stands alone on one line of `stderr`, ready to copy."""
        lines = [line.strip() for line in stderr.splitlines()]
        self.assertIn(command, lines, stderr)

    def lock(self, project, tool=None):
        """Locks `project` with a cache of its own, so the test's cache starts empty."""
        env = self.env(HF_HOME=str(self.root / "lock-home"))
        subprocess.run([tool or self.binary, "-q", "lock"], cwd=project, env=env, check=True,
                       capture_output=True, timeout=120)
        self.hub.reset_requests()
        return read_lock(project / "models.lock")

    def copy_example(self, name):
        project = self.root / name
        shutil.copytree(EXAMPLES / name, project)
        return project

    def cached_files(self):
        """Paths under snapshots/ of the test's cache, as 'repo-folder/path'."""
        found = set()
        if self.cache.is_dir():
            for repo in self.cache.glob("models--*"):
                for f in repo.glob("snapshots/*/**/*"):
                    if f.is_file():
                        found.add(f"{repo.name}/{f.relative_to(next(repo.glob('snapshots/*')))}")
        return found


class InstalledPackageTest(CMakeTestCase):
    """find_package(HFModels) from an installed, then moved, prefix."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.work = Path(tempfile.mkdtemp(prefix="hfmodels-cmake-"))
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(cls.work)}
        build, cls.outer_cache = outer_build_dir(cls.binary)
        cls.outer_build = build
        first_prefix = cls.work / "prefix"
        started = time.monotonic()
        if build is None:
            # Not run from a build tree of this repository: build the tool (Release, no tests).
            build = cls.work / "build"
            for args in (["cmake", "-S", REPO, "-B", build, "-DCMAKE_BUILD_TYPE=Release",
                          "-DHFMODELS_BUILD_TESTS=OFF"],
                         ["cmake", "--build", build]):
                subprocess.run([str(a) for a in args], env=env, check=True,
                               capture_output=True, timeout=1800)
        result = subprocess.run(["cmake", "--install", str(build), "--prefix", str(first_prefix)],
                                env=env, capture_output=True, text=True, timeout=300)
        if result.returncode != 0:
            raise RuntimeError(f"cmake --install failed:\n{result.stdout}\n{result.stderr}")
        TIMINGS.append(("InstalledPackageTest: install into a prefix", time.monotonic() - started))
        cls.installed_from = first_prefix
        # Relocation: nothing may remember where it was installed.
        cls.prefix = cls.work / "moved" / "somewhere-else"
        cls.prefix.parent.mkdir()
        first_prefix.rename(cls.prefix)
        cls.tool = cls.prefix / "bin" / "hfmodels"

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work, ignore_errors=True)
        super().tearDownClass()

    def configure(self, project, build, *args, env=None, expect=0, generator="Ninja", label=None):
        return self.run_step(label or f"configure {project.name} {' '.join(map(str, args))}",
                             ["cmake", "-S", project, "-B", build, "-G", generator,
                              f"-DCMAKE_PREFIX_PATH={self.prefix}", *args],
                             env=env, expect=expect)

    def build(self, build, *args, env=None, expect=0, label=None):
        return self.run_step(label or f"build {build.name}", ["cmake", "--build", build, *args],
                             env=env, expect=expect)

    def probe(self):
        project = self.root / "probe"
        project.mkdir()
        (project / "CMakeLists.txt").write_text(PROBE_CMAKE)
        (project / "main.cpp").write_text(PROBE_MAIN)
        shutil.copy(EXAMPLES / "inference" / "models.yaml", project)
        return project, self.lock(project)

    # --- the package itself -------------------------------------------------------------------

    def test_installed_layout_is_relocatable(self):
        cmakedir = self.prefix / "lib" / "cmake" / "HFModels"
        for name in ("HFModelsConfig.cmake", "HFModelsConfigVersion.cmake", "HFModels.cmake",
                     "HFModelsTargets.cmake"):
            self.assertTrue((cmakedir / name).is_file(), name)
        self.assertTrue(os.access(self.tool, os.X_OK))
        for f in cmakedir.iterdir():
            self.assertNotIn(str(self.installed_from), f.read_text(), f"{f.name} names the old prefix")
        version = subprocess.run([str(self.tool), "--version"], capture_output=True, text=True,
                                 env=self.env(), check=True)
        self.assertRegex(version.stdout, r"^hfmodels \d+\.\d+\.\d+")
        # The imported executable resolves inside the moved prefix.
        project = self.root / "where"
        project.mkdir()
        (project / "CMakeLists.txt").write_text(textwrap.dedent("""
            cmake_minimum_required(VERSION 3.25)
            project(where NONE)
            find_package(HFModels 0.1 REQUIRED)
            get_target_property(imported HFModels::hfmodels IMPORTED)
            get_target_property(location HFModels::hfmodels LOCATION)
            message(STATUS "tool: ${imported} ${location} ${HFModels_VERSION}")
            """))
        result = self.configure(project, self.root / "where-build")
        self.assertIn(f"tool: TRUE {self.tool} ", result.stdout)

    def test_build_tree_package(self):
        if self.outer_build is None:
            self.skipTest("not run from a build tree of this repository")
        project, _ = self.probe()
        result = self.run_step("configure against the build tree",
                               ["cmake", "-S", project, "-B", self.root / "b", "-G", "Ninja",
                                f"-DHFModels_DIR={self.outer_build}"])
        self.assertIn("probe encoder|", result.stdout)

    # --- FETCH modes, with the inference example ------------------------------------------------

    def inference_output_ok(self, output):
        self.assertIn("encoder: model.safetensors: 21 tensors, 920192 parameters", output)
        self.assertIn("chat: tiny-llama-Q4_K_M.gguf: GGUF v3, 21 tensors", output)
        self.assertIn("general.architecture = llama", output)

    def test_fetch_configure(self):
        project = self.copy_example("inference")
        self.lock(project)
        build = self.root / "b-configure"
        self.configure(project, build)  # FETCH defaults to CONFIGURE
        self.assertGreater(self.request_count(), 0)
        self.assertIn("models--hfmodels-demo--tiny-llama-GGUF/tiny-llama-Q4_K_M.gguf",
                      self.cached_files())
        self.hub.reset_requests()
        self.build(build)
        self.assertEqual(self.request_count(), 0)
        run = self.run_step("run inspect", [build / "inspect"])
        self.inference_output_ok(run.stdout)
        # Everything cached: a re-configure sends nothing and hashes nothing.
        self.configure(project, build, label="re-configure, cached")
        self.assertEqual(self.request_count(), 0)

    def test_fetch_build(self):
        project = self.copy_example("inference")
        self.lock(project)
        build = self.root / "b-build"
        self.configure(project, build, "-DHFMODELS_EXAMPLE_FETCH=BUILD")
        self.assertEqual(self.request_count(), 0, "FETCH BUILD must not download at configure")
        self.assertEqual(self.cached_files(), set())
        result = self.build(build, "-j2")
        self.assertGreater(self.request_count(), 0)
        self.assertIn("fetching model encoder", result.stdout)
        # The downloads finished before any compilation of the consumer started.
        log = ninja_log(build)
        fetch_end = max(end for out, (_, end) in log.items() if "hfmodels_fetch_" in out)
        compile_start = min(start for out, (start, _) in log.items() if out.endswith(".o"))
        self.assertLessEqual(fetch_end, compile_start, log)
        run = self.run_step("run inspect", [build / "inspect"])
        self.inference_output_ok(run.stdout)
        # A second build with everything cached does not touch the network.
        self.hub.reset_requests()
        self.build(build, label="re-build, cached")
        self.assertEqual(self.request_count(), 0)

    def test_fetch_install(self):
        project = self.copy_example("inference")
        self.lock(project)
        build = self.root / "b-install"
        self.configure(project, build, "-DHFMODELS_EXAMPLE_FETCH=INSTALL")
        self.build(build)
        self.assertEqual(self.request_count(), 0, "FETCH INSTALL must not download before install")
        self.assertEqual(self.cached_files(), set())
        self.run_step("install", ["cmake", "--install", build, "--prefix", self.root / "inst"])
        self.assertGreater(self.request_count(), 0)
        cached = self.cached_files()
        self.assertIn("models--hfmodels-demo--tiny-llama/model.safetensors", cached)
        self.assertIn("models--hfmodels-demo--tiny-llama-GGUF/tiny-llama-Q4_K_M.gguf", cached)
        run = self.run_step("run inspect", [build / "inspect"])
        self.inference_output_ok(run.stdout)

    def test_mirrors_variable_fetches_from_a_mirror_without_the_hub(self):
        project = self.copy_example("inference")
        self.lock(project)
        # A bundle made from another cache serves as the team's mirror.
        env = self.env(HF_HOME=str(self.root / "lock-home"))
        bundle = self.root / "bundle"
        for args in (["fetch"], ["bundle", "--to", str(bundle)]):
            subprocess.run([str(self.binary), "-q", *args], cwd=project, env=env, check=True,
                           capture_output=True, timeout=120)
        self.hub.reset_requests()
        build = self.root / "b-mirror"
        self.configure(project, build, f"-DHFMODELS_MIRRORS=file://{bundle}", "-DHFMODELS_NO_ORIGIN=ON")
        self.assertEqual(self.request_count(), 0)
        self.assertIn("models--hfmodels-demo--tiny-llama-GGUF/tiny-llama-Q4_K_M.gguf",
                      self.cached_files())
        self.build(build)
        run = self.run_step("run inspect", [build / "inspect"])
        self.inference_output_ok(run.stdout)

    # --- targets, properties, variables -----------------------------------------------------------

    def test_targets_properties_and_variables(self):
        project, lock = self.probe()
        build = self.root / "b"
        result = self.configure(project, build)
        probes = dict(re.findall(r"-- probe (\w+)\|(.*)", result.stdout))
        self.assertEqual(set(probes), {"encoder", "chat"})
        for name, repo in (("encoder", "hfmodels-demo/tiny-llama"),
                           ("chat", "hfmodels-demo/tiny-llama-GGUF")):
            folder, commit, files, variable = probes[name].split("|")
            self.assertEqual(commit, lock[name]["commit"])
            self.assertEqual(Path(folder), self.snapshot(repo))
            self.assertEqual(variable, folder)
            self.assertEqual(sorted(files.split(";")), sorted(lock[name]["files"]))
        self.build(build)
        run = self.run_step("run app1", [build / "app1"])
        self.assertIn(f"encoder {self.snapshot('hfmodels-demo/tiny-llama')} config.json ",
                      run.stdout)
        self.assertIn(f"chat {self.snapshot('hfmodels-demo/tiny-llama-GGUF')} gguf 1039296",
                      run.stdout)
        # MODELS selects: only the named model gets a target.
        result = self.configure(project, self.root / "b-one", "-DPROBE_ARGS=MODELS;chat",
                                expect=1)
        self.assertIn("probe chat|", result.stdout)
        self.assertNotIn("probe encoder|", result.stdout)
        self.assertIn("HFModels::encoder", result.stderr)  # app1 links a model not added

    def test_parallel_builds_download_each_model_once(self):
        project, lock = self.probe()
        for generator in ("Ninja", "Unix Makefiles"):
            with self.subTest(generator=generator):
                shutil.rmtree(self.cache, ignore_errors=True)
                build = self.root / f"b-{generator.split()[-1].lower()}"
                self.configure(project, build, "-DPROBE_ARGS=FETCH;BUILD", generator=generator)
                self.hub.reset_requests()
                result = self.build(build, "--parallel", "2", label=f"build -j2 ({generator})")
                # app1 and app2 both link both models: one fetch step per model, not per target.
                self.assertEqual(result.stdout.count("fetching model encoder"), 1, result.stdout)
                self.assertEqual(result.stdout.count("fetching model chat"), 1, result.stdout)
                requests = self.requests()["requests"]
                for name in lock:
                    for path in lock[name]["files"]:
                        first_hops = [r for r in requests if r["listener"] == "hub"
                                      and "/resolve/" in r["path"] and r["method"] == "GET"
                                      and r["path"].endswith("/" + path)]
                        self.assertEqual(len(first_hops), 1, f"{name}/{path}: {first_hops}")
                self.run_step("run app2", [build / "app2"])

    # --- offline ----------------------------------------------------------------------------------

    def test_offline_with_everything_cached(self):
        project, _ = self.probe()
        self.run_tool("fetch", cwd=project, check=0)
        closed = self.env(HF_ENDPOINT=closed_port_endpoint())
        cases = [
            ("closed port", "b-closed", [], closed),
            ("closed port, FETCH BUILD", "b-closed-build", ["-DPROBE_ARGS=FETCH;BUILD"], closed),
            ("HF_HUB_OFFLINE=1", "b-env", [], self.env(HF_ENDPOINT=closed_port_endpoint(),
                                                       HF_HUB_OFFLINE="1")),
            ("-DHFMODELS_OFFLINE=ON", "b-var", ["-DHFMODELS_OFFLINE=ON"], closed),
            ("OFFLINE keyword", "b-kw", ["-DPROBE_ARGS=OFFLINE"], closed),
        ]
        for label, folder, args, env in cases:
            with self.subTest(label):
                build = self.root / folder
                self.configure(project, build, *args, env=env, label=f"configure offline: {label}")
                self.build(build, env=env, label=f"build offline: {label}")
                self.run_step("run app1", [build / "app1"], env=env)

    def test_offline_missing_file_fails_naming_model_file_and_command(self):
        project, _ = self.probe()
        self.run_tool("fetch", cwd=project, check=0)
        gguf = self.snapshot("hfmodels-demo/tiny-llama-GGUF") / "tiny-llama-Q4_K_M.gguf"
        gguf.unlink()
        cases = [
            ("HF_HUB_OFFLINE=1", [], self.env(HF_HUB_OFFLINE="1")),
            ("-DHFMODELS_OFFLINE=ON, FETCH BUILD",
             ["-DHFMODELS_OFFLINE=ON", "-DPROBE_ARGS=FETCH;BUILD"], None),
            ("OFFLINE, FETCH INSTALL", ["-DPROBE_ARGS=OFFLINE;FETCH;INSTALL"], None),
        ]
        for label, args, env in cases:
            with self.subTest(label):
                self.hub.reset_requests()
                result = self.configure(project, self.root / "b-missing", *args, env=env,
                                        expect=1, label=f"configure offline, missing: {label}")
                self.assertIn("chat/tiny-llama-Q4_K_M.gguf", result.stderr)
                self.assertIn("Fetch them with network access: ", flat(result.stderr))
                self.assertCommandLine(result.stderr, f"cd {project} && {self.tool} fetch")
                self.assertNotIn("encoder/config.json", result.stderr)
                self.assertEqual(self.request_count(), 0, "offline must not connect")

    def test_the_printed_fetch_command_uses_the_configure_cache_and_mirrors(self):
        project, _ = self.probe()
        elsewhere = self.root / "elsewhere cache"
        result = self.configure(project, self.root / "b-cache", "-DHFMODELS_OFFLINE=ON",
                                f"-DHFMODELS_CACHE_DIR={elsewhere}", expect=1,
                                label="configure offline into an empty cache of its own")
        command = next(line.strip() for line in result.stderr.splitlines()
                       if line.strip().startswith(f"cd {project} && "))
        self.assertIn(f"--cache-dir '{elsewhere}'", command)
        self.assertNotIn("--offline", command)
        # Run as printed, it fills the cache the configure looks in.
        self.run_step("the printed command", ["bash", "-c", command], env=self.env())
        self.configure(project, self.root / "b-cache", label="configure again")
        # Mirrors only: the files are in no mirror, which is what the message says.
        empty = self.root / "empty-mirror"
        empty.mkdir()
        result = self.configure(project, self.root / "b-mirror", "-DHFMODELS_NO_ORIGIN=ON",
                                f"-DHFMODELS_MIRRORS=file://{empty}",
                                f"-DHFMODELS_CACHE_DIR={self.root / 'third cache'}", expect=1,
                                label="configure from an empty mirror only")
        self.assertIn("not in any mirror", flat(result.stderr))
        self.assertNotIn("network access", flat(result.stderr))
        self.assertIn("push", flat(result.stderr))

    def test_a_model_named_like_a_target_of_the_package_is_refused(self):
        project = self.root / "reserved"
        project.mkdir()
        (project / "CMakeLists.txt").write_text(
            "cmake_minimum_required(VERSION 3.25)\nproject(reserved LANGUAGES NONE)\n"
            "find_package(HFModels 0.2 REQUIRED)\nhfmodels_add_models()\n")
        (project / "models.yaml").write_text(
            "models:\n  runtime:\n    repo: hfmodels-demo/tiny-llama-GGUF\n    quant: Q4_K_M\n")
        self.lock(project)
        result = self.configure(project, self.root / "b-reserved", expect=1)
        self.assertIn("'runtime'", flat(result.stderr))
        self.assertIn("HFModels::runtime", flat(result.stderr))
        self.assertIn("rename", flat(result.stderr))
        self.assertNotIn("NOTFOUND", result.stderr)

    # --- misuse -----------------------------------------------------------------------------------

    def test_misuse_errors(self):
        project, _ = self.probe()
        build = self.root / "b"
        lockfile = project / "models.lock"
        cases = [
            ("unknown model", "MODELS;encoder;nope",
             ["'nope' is not in the lockfile", "Locked models: chat, encoder", str(lockfile)]),
            ("unknown option", "FETCH;BUILD;BOGUS",
             ["unknown argument(s) BOGUS", "FETCH CONFIGURE|BUILD|INSTALL"]),
            ("bad FETCH value", "FETCH;LATER", ["FETCH must be CONFIGURE, BUILD or INSTALL"]),
            ("missing value", "LOCKFILE", ["LOCKFILE needs a value"]),
            ("missing lockfile", f"LOCKFILE;{project / 'nowhere.lock'}",
             [f"the lockfile {project / 'nowhere.lock'} does not exist", "hfmodels lock"]),
        ]
        for label, args, messages in cases:
            with self.subTest(label):
                result = self.configure(project, build, f"-DPROBE_ARGS={args}", expect=1,
                                        label=f"configure misuse: {label}")
                for message in messages:
                    self.assertIn(message, flat(result.stderr))
        # A stale lockfile: models.yaml edited and not re-locked.
        manifest = project / "models.yaml"
        manifest.write_text(manifest.read_text().replace("Q4_K_M", "Q8_0"))
        result = self.configure(project, build, "-DPROBE_ARGS=", expect=1,
                                label="configure misuse: stale lockfile")
        stderr = flat(result.stderr)
        self.assertIn("the lockfile is stale", stderr)
        self.assertCommandLine(result.stderr, f"cd {project} && {self.tool} lock")

    def test_lockfile_and_manifest_are_configure_dependencies(self):
        project, _ = self.probe()
        build = self.root / "b"
        self.configure(project, build)
        self.build(build)
        # An edited manifest re-runs the configure at build time, which finds the lock stale.
        manifest = project / "models.yaml"
        manifest.write_text(manifest.read_text().replace("Q4_K_M", "Q8_0"))
        result = self.build(build, expect=1, label="build after editing models.yaml")
        self.assertIn("the lockfile is stale", flat(result.stderr))
        # Re-locking changes models.lock, which re-runs the configure again; now it passes and
        # the program sees the new file.
        self.lock(project)
        self.build(build, label="build after re-locking")
        gguf = self.snapshot("hfmodels-demo/tiny-llama-GGUF") / "tiny-llama-Q8_0.gguf"
        self.assertTrue(gguf.is_file())

    # --- packaging --------------------------------------------------------------------------------

    def test_packaging_example_archive(self):
        project = self.copy_example("packaging")
        lock = self.lock(project)
        build = self.root / "b"
        self.configure(project, build, "-DCMAKE_BUILD_TYPE=Release")
        self.build(build)
        run = self.run_step("run from the build tree", [build / "model-info"])
        self.assertIn("(build tree)", run.stdout)
        self.run_step("cpack", ["cpack", "-G", "TGZ"], cwd=build)
        archives = list(build.glob("model-info-*.tar.gz"))
        self.assertEqual(len(archives), 1, archives)
        locked = lock["chat"]["files"]
        with tarfile.open(archives[0]) as archive:
            members = {m.name.split("/", 1)[1]: m for m in archive.getmembers()}
            for path, sha256 in locked.items():
                member = members[f"share/model-info/models/chat/{path}"]
                self.assertTrue(member.isreg(), f"{path} is not a regular file in the archive")
                data = archive.extractfile(member).read()
                self.assertEqual(hashlib.sha256(data).hexdigest(), sha256, path)
            self.assertTrue(members["bin/model-info"].isreg())
            target = self.root / "unpacked"
            archive.extractall(target)
        # Elsewhere, without the Hugging Face cache: the program finds the model beside itself.
        top = next(target.iterdir())
        moved = self.root / "elsewhere" / "opt-app"
        moved.parent.mkdir()
        top.rename(moved)
        shutil.rmtree(self.hf_home)
        run = self.run_step("run the unpacked program", [moved / "bin" / "model-info"],
                            cwd=self.root)
        model_dir = moved / "share" / "model-info" / "models" / "chat"
        self.assertIn(f"model chat: {model_dir} (installed)", run.stdout)
        self.assertIn("tiny-llama-Q4_K_M.gguf: 1039296 bytes, regular file, GGUF v3, 21 tensors",
                      run.stdout)
        for path, sha256 in locked.items():
            self.assertEqual(sha256_of(model_dir / path), sha256)

    def test_install_copies_real_files_and_lists_them(self):
        project = self.copy_example("packaging")
        lock = self.lock(project)
        build = self.root / "b"
        self.configure(project, build)
        self.build(build)
        prefix = self.root / "p"
        self.run_step("install", ["cmake", "--install", build, "--prefix", prefix])
        installed = prefix / "share" / "model-info" / "models" / "chat"
        manifest = (build / "install_manifest.txt").read_text().splitlines()
        for path, sha256 in lock["chat"]["files"].items():
            self.assertFalse((installed / path).is_symlink())
            self.assertEqual(sha256_of(installed / path), sha256)
            self.assertIn(str(installed / path), manifest)
        # DESTDIR is honoured.
        destdir = self.root / "destdir"
        self.run_step("install with DESTDIR", ["cmake", "--install", build],
                      env=self.env(DESTDIR=str(destdir)))
        default_prefix = re.search(r"^CMAKE_INSTALL_PREFIX:PATH=(.*)$",
                                   (build / "CMakeCache.txt").read_text(), re.M).group(1)
        staged = Path(str(destdir) + default_prefix) / "share" / "model-info" / "models" / "chat"
        for path in lock["chat"]["files"]:
            self.assertTrue((staged / path).is_file(), staged / path)
        # Only the model's files: not the records `hf download --local-dir` keeps.
        for root in (installed, staged):
            self.assertEqual(sorted(str(p.relative_to(root)) for p in root.rglob("*")
                                    if p.is_file()), sorted(lock["chat"]["files"]))
        # The manifest names installed files as CMake does, without DESTDIR.
        manifest = (build / "install_manifest.txt").read_text().splitlines()
        self.assertEqual([line for line in manifest if str(destdir) in line], [])
        self.assertIn(str(Path(default_prefix) / "share" / "model-info" / "models" / "chat" /
                          next(iter(lock["chat"]["files"]))), manifest)


class SubprojectTest(CMakeTestCase):
    """hfmodels as a subproject (FetchContent of this source tree): the tool is built once, at
    the first configure, in a nested build; one consumer uses the three FETCH modes."""

    MODES = {
        # folder: (FETCH, model name, manifest entry, file the program reads, executables)
        "at_configure": ("CONFIGURE", "cfg",
                         "repo: hfmodels-demo/tiny-llama\n    files: [config.json, tokenizer.json]",
                         "config.json", ["app_configure"]),
        "at_build": ("BUILD", "weights",
                     "repo: hfmodels-demo/tiny-llama\n    include: ['*.safetensors']",
                     "model.safetensors", ["app_build_a", "app_build_b"]),
        "at_install": ("INSTALL", "gguf",
                       "repo: hfmodels-demo/tiny-llama-GGUF\n    quant: Q8_0",
                       "tiny-llama-Q8_0.gguf", ["app_install"]),
    }

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        build, cache = outer_build_dir(hfmodels_binary())
        if re.search(r"^HFMODELS_ENABLE_SANITIZERS:BOOL=ON$", cache, re.M):
            # The nested build is a plain Release build whatever the outer one is: under the
            # sanitizer run it would only repeat the other run's two-minute compile.
            raise unittest.SkipTest("the nested tool build is not sanitized; covered by the "
                                    "non-sanitizer run")

    def write_consumer(self):
        consumer = self.root / "consumer"
        consumer.mkdir()
        (consumer / "CMakeLists.txt").write_text(textwrap.dedent(f"""
            cmake_minimum_required(VERSION 3.25)
            project(consumer LANGUAGES CXX)
            include(FetchContent)
            FetchContent_Declare(hfmodels SOURCE_DIR "{REPO}")
            FetchContent_MakeAvailable(hfmodels)
            include(GNUInstallDirs)
            """) + "".join(f"add_subdirectory({folder})\n" for folder in self.MODES))
        (consumer / "main.cpp").write_text(textwrap.dedent(r"""
            #include <cstdio>
            #include <filesystem>
            int main() {
              const std::filesystem::path file = std::filesystem::path(MODEL_DIR) / MODEL_FILE;
              std::printf("%s: %llu bytes\n", file.c_str(),
                          static_cast<unsigned long long>(std::filesystem::file_size(file)));
            }
            """))
        for folder, (fetch, name, entry, file, apps) in self.MODES.items():
            sub = consumer / folder
            sub.mkdir()
            (sub / "models.yaml").write_text(f"models:\n  {name}:\n    {entry}\n")
            lines = [f"hfmodels_add_models(FETCH {fetch})"]
            for app in apps:
                lines += [f"add_executable({app} ../main.cpp)",
                          f"target_link_libraries({app} PRIVATE HFModels::{name})",
                          f"target_compile_definitions({app} PRIVATE "
                          f"MODEL_DIR=HFMODELS_{name.upper()}_DIR MODEL_FILE=\"{file}\")",
                          f"install(TARGETS {app})"]
            (sub / "CMakeLists.txt").write_text("\n".join(lines) + "\n")
            self.lock(sub)
        return consumer

    def cached(self, repo, path):
        return (self.snapshot(repo) / path).is_file()

    def test_subproject_all_fetch_modes(self):
        consumer = self.write_consumer()
        build = self.root / "build"
        result = self.run_step("configure (nested build of the tool)",
                               ["cmake", "-S", consumer, "-B", build, "-G", "Ninja"])
        self.assertIn("hfmodels: building the hfmodels tool", result.stdout)
        nested_tool = build / "_hfmodels_tool" / "bin" / "hfmodels"
        self.assertTrue(nested_tool.is_file())
        # CONFIGURE fetched at the configure; BUILD and INSTALL did not.
        self.assertTrue(self.cached("hfmodels-demo/tiny-llama", "config.json"))
        self.assertFalse(self.cached("hfmodels-demo/tiny-llama", "model.safetensors"))
        self.assertFalse(self.cached("hfmodels-demo/tiny-llama-GGUF", "tiny-llama-Q8_0.gguf"))

        self.hub.reset_requests()
        result = self.run_step("build", ["cmake", "--build", build, "--parallel", "2"])
        self.assertEqual(result.stdout.count("fetching model weights"), 1, result.stdout)
        self.assertNotIn("fetching model gguf", result.stdout)
        self.assertTrue(self.cached("hfmodels-demo/tiny-llama", "model.safetensors"))
        self.assertFalse(self.cached("hfmodels-demo/tiny-llama-GGUF", "tiny-llama-Q8_0.gguf"))
        # The consumer's build did not compile the tool a second time.
        self.assertFalse((build / "_deps" / "hfmodels-build" / "tool" / "hfmodels").exists())
        self.assertNotIn("hfmodels_core", result.stdout)
        log = ninja_log(build)
        fetch_end = max(end for out, (_, end) in log.items() if "hfmodels_fetch_weights" in out)
        for app in ("app_build_a", "app_build_b"):
            start = min(s for out, (s, _) in log.items() if f"{app}.dir" in out)
            self.assertLessEqual(fetch_end, start)
        for folder, app in (("at_configure", "app_configure"), ("at_build", "app_build_a"),
                            ("at_build", "app_build_b")):
            run = self.run_step(f"run {app}", [build / folder / app])
            self.assertIn(" bytes", run.stdout)

        prefix = self.root / "prefix"
        self.run_step("install", ["cmake", "--install", build, "--prefix", prefix])
        self.assertTrue(self.cached("hfmodels-demo/tiny-llama-GGUF", "tiny-llama-Q8_0.gguf"))
        run = self.run_step("run installed app_install", [prefix / "bin" / "app_install"])
        self.assertIn("tiny-llama-Q8_0.gguf: ", run.stdout)
        # As a subproject hfmodels installs nothing of its own.
        self.assertFalse((prefix / "bin" / "hfmodels").exists())
        self.assertFalse((prefix / "lib" / "cmake" / "HFModels").exists())

        # A later configure reuses the nested build.
        result = self.run_step("re-configure (nested tool up to date)", ["cmake", build])
        self.assertNotIn("building the hfmodels tool", result.stdout)


if __name__ == "__main__":
    unittest.main()
