"""The run-time library from outside the tree (README.md, "Using hfmodels from a program").

The package is installed from the build tree that built HFMODELS_BIN, then moved to another
prefix; a consumer (tests/integration/runtime_probe, the README's example plus what this test
drives) is built against it, shared and static, with CMake and with a plain compiler command
from pkg-config, and run against the fake Hub: events, offline `path`, cancellation and resume,
two fetches at once, Hub::resolve, and Project::embedded() once the lockfile is gone.
"""

import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

from support import DEMO_WORLD, HubTestCase, hfmodels_binary, sha256_of
from test_cmake_package import outer_build_dir

REPO = Path(__file__).resolve().parents[2]
PROBE = Path(__file__).resolve().parent / "runtime_probe"
GGUF = "tiny-llama-Q4_K_M.gguf"


class RuntimeLibraryTest(HubTestCase):
    world = DEMO_WORLD

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.work = Path(tempfile.mkdtemp(prefix="hfmodels-runtime-"))
        build, cache = outer_build_dir(hfmodels_binary())
        if build is None:
            raise unittest.SkipTest("HFMODELS_BIN is not in a build tree of this repository")
        # A library built with ASan and UBSan (scripts/test asan) needs consumers built so too.
        sanitized = re.search(r"^HFMODELS_ENABLE_SANITIZERS:BOOL=ON$", cache, re.M) is not None
        cls.sanitizer_flags = ["-fsanitize=address,undefined"] if sanitized else []
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(cls.work)}
        first = cls.work / "prefix"
        subprocess.run(["cmake", "--install", str(build), "--prefix", str(first)], env=env,
                       check=True, capture_output=True, timeout=300)
        cls.installed_from = first
        cls.prefix = cls.work / "moved" / "elsewhere"
        cls.prefix.parent.mkdir()
        first.rename(cls.prefix)
        cls.libdir = next(p.parent for p in cls.prefix.rglob("libhfmodels.a"))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work, ignore_errors=True)
        super().tearDownClass()

    # --- helpers --------------------------------------------------------------------------------

    def lock_demo(self, folder):
        shutil.copy(REPO / "examples" / "inference" / "models.yaml", folder / "models.yaml")
        self.run_tool("lock", "-q", cwd=folder, check=0)
        return folder / "models.lock"

    def build_probe(self, static=False):
        """The probe built by CMake against the moved prefix; returns the executable."""
        source = self.root / "probe-src"
        shutil.copytree(PROBE, source)
        self.lock_demo(source)
        build = self.root / ("build-static" if static else "build-shared")
        env = self.env()
        for args in (["cmake", "-S", source, "-B", build, "-G", "Ninja",
                      f"-DCMAKE_PREFIX_PATH={self.prefix}",
                      f"-DHFModels_USE_STATIC_LIBS={'ON' if static else 'OFF'}",
                      f"-DCMAKE_CXX_FLAGS={' '.join(self.sanitizer_flags)}",
                      f"-DCMAKE_EXE_LINKER_FLAGS={' '.join(self.sanitizer_flags)}"],
                     ["cmake", "--build", build]):
            result = subprocess.run([str(a) for a in args], env=env, capture_output=True,
                                    text=True, timeout=600)
            self.assertEqual(result.returncode, 0, f"{args}\n{result.stdout}\n{result.stderr}")
        probe = self.root / ("probe-static" if static else "probe-shared")
        shutil.copy(build / "probe", probe)
        # Project::embedded() must not need the sources or the lockfile.
        shutil.rmtree(source)
        shutil.rmtree(build)
        return probe

    def probe(self, probe, *args, env=None, expect=0, timeout=120):
        result = subprocess.run([str(probe), *map(str, args)], env=env or self.env(),
                                capture_output=True, text=True, timeout=timeout, cwd=self.root)
        if expect is not None:
            self.assertEqual(result.returncode, expect,
                             f"probe {args}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}")
        return result.stdout

    def needed(self, probe):
        return subprocess.run(["ldd", str(probe)], capture_output=True, text=True).stdout

    def gguf_sha(self):
        return self.hub.file("hfmodels-demo/tiny-llama-GGUF", GGUF).sha256

    def gguf_url_slow(self, bytes_per_sec):
        # The CDN serves LFS bytes under their sha256.
        self.hub.add_fault({"action": "bandwidth", "bytes_per_sec": bytes_per_sec,
                            "listener": "cdn", "match": self.gguf_sha()})

    # --- the tests ------------------------------------------------------------------------------

    def test_installed_layout_and_exported_symbols(self):
        shared = sorted(self.libdir.glob("libhfmodels.so*"))
        names = [p.name for p in shared]
        self.assertIn("libhfmodels.so", names)
        self.assertIn("libhfmodels.so.0.2", names)
        soname = subprocess.run(["objdump", "-p", str(self.libdir / "libhfmodels.so")],
                                capture_output=True, text=True, check=True).stdout
        self.assertRegex(soname, r"SONAME\s+libhfmodels\.so\.0\.2")
        for header in ("hfmodels.hpp", "error.hpp", "export.hpp"):
            self.assertTrue((self.prefix / "include" / "hfmodels" / header).is_file(), header)
        symbols = subprocess.run(["nm", "-D", "--defined-only", "-C",
                                  str(self.libdir / "libhfmodels.so")],
                                 capture_output=True, text=True, check=True).stdout
        defined = [line.split(" ", 2)[2] for line in symbols.splitlines()
                   if len(line.split(" ", 2)) == 3]
        public = [s for s in defined if s.startswith("hfmodels::") or "hfmodels::" in s]
        others = [s for s in defined if s not in public]
        self.assertEqual(others, [], "symbols outside the public API are exported")
        internal = [s for s in public
                    if re.search(r"hfmodels::(ops|cache|hub|http|transfer|manifest|util|api)::", s)]
        self.assertEqual(internal, [], "internal namespaces are exported")
        print(f"\nexported symbols: {len(public)}")

    def test_cmake_consumer_shared_fetches_finds_and_cancels(self):
        probe = self.build_probe(static=False)
        self.assertIn(str(self.prefix), self.needed(probe))
        # The README's example: fetch with events, then path.
        out = self.probe(probe, "example")
        events = [line.split() for line in out.splitlines() if line.startswith("event ")]
        kinds = {e[1] for e in events}
        self.assertTrue({"started", "finished"} <= kinds, out)
        self.assertTrue(all(e[2] == "chat" for e in events), out)
        # The totals of the whole fetch grow with every event and end at the total.
        done = [int(e[8]) for e in events]
        self.assertEqual(done, sorted(done), out)
        self.assertEqual(done[-1], int(events[-1][9]), out)
        self.assertEqual(int(events[-1][9]), sum(int(e[5]) for e in events if e[1] == "finished"))
        gguf = Path(re.search(r"^gguf (.+)$", out, re.M).group(1))
        self.assertTrue(gguf.is_file())
        lock = {}
        # `path` works offline, with the Hub unreachable.
        offline = self.env(HF_HUB_OFFLINE="1", HF_ENDPOINT="http://127.0.0.1:9")
        self.assertIn(str(gguf.parent), self.probe(probe, "path", "chat", env=offline))
        # Not fetched: offline_missing (5), not a download.
        out = self.probe(probe, "path", "encoder", env=offline, expect=5)
        self.assertIn("not in the cache", out)

    def test_cancel_returns_within_a_second_and_the_next_fetch_resumes(self):
        probe = self.build_probe(static=True)
        self.gguf_url_slow(200_000)
        out = self.probe(probe, "cancel", "chat")
        match = re.search(r"^error (\d+) (\d+)$", out, re.M)
        self.assertIsNotNone(match, out)
        self.assertEqual(int(match.group(1)), 130, "kind() == cancelled")
        self.assertLess(int(match.group(2)), 1000, "returned within a second of the request")
        partials = list(self.cache.rglob("*.incomplete"))
        self.assertTrue(partials, "the partial download is kept")
        kept = partials[0].stat().st_size
        self.hub.clear_faults()
        self.hub.reset_requests()
        out = self.probe(probe, "example")
        gguf = Path(re.search(r"^gguf (.+)$", out, re.M).group(1))
        self.assertEqual(sha256_of(gguf), self.gguf_sha())
        gets = [r for r in self.hub.requests()["requests"] if r["listener"] == "cdn"
                and r["method"] == "GET" and r["path"].endswith(self.gguf_sha())]
        self.assertTrue(gets, "the GGUF came from the CDN")
        if kept > 0:
            self.assertTrue(all((r["range"] or "").startswith("bytes=") for r in gets),
                            f"the next fetch resumed with a Range request: {gets}")

    def test_a_program_fetches_from_a_mirror_without_the_hub(self):
        probe = self.build_probe(static=False)
        self.probe(probe, "example")  # fills the test's cache
        project = self.root / "bundled"
        project.mkdir()
        self.lock_demo(project)
        bundle = self.root / "bundle"
        self.run_tool("bundle", "chat", "--to", bundle, cwd=project, check=0)
        fresh = self.root / "fresh"
        env = self.env(HOME=str(fresh), HF_HOME=str(fresh / "hf"), HF_ENDPOINT="http://127.0.0.1:9")
        out = self.probe(probe, "mirror", f"file://{bundle}", env=env)
        self.assertIn(f"mirrors 1 file://{bundle}", out)
        path = Path(re.search(r"^path (.+)$", out, re.M).group(1))
        self.assertTrue(str(path).startswith(str(fresh)), out)
        self.assertTrue((path / GGUF).is_file())
        self.assertEqual(sha256_of(path / GGUF), self.gguf_sha())

    def test_a_failed_fetch_says_why(self):
        # The reasons of the files that failed reach the program in the Error it catches, not
        # a "see the errors above" that only the command line prints.
        probe = self.build_probe(static=False)
        self.hub.add_fault({"action": "status", "status": 404, "listener": "cdn",
                            "match": self.gguf_sha(), "times": -1})
        out = self.probe(probe, "example", expect=3)
        self.assertRegex(out, r"(?m)^error 3 ")
        self.assertIn("404", out)
        self.assertNotIn("See the errors above", out)

    def test_static_consumer_needs_no_libhfmodels_so(self):
        probe = self.build_probe(static=True)
        self.assertNotIn("libhfmodels", self.needed(probe))
        out = self.probe(probe, "example")
        self.assertIn("event finished chat", out)

    def test_two_fetches_at_once_are_cancelled_independently(self):
        probe = self.build_probe(static=False)
        self.gguf_url_slow(300_000)
        out = self.probe(probe, "two")
        self.assertIn("a error 130", out)
        self.assertIn("b finished", out)
        self.assertGreater(int(re.search(r"^overlap (\d+)", out, re.M).group(1)), 0,
                           "the two fetches ran at the same time")
        # The encoder is complete and verified; the chat model is not.
        offline = self.env(HF_HUB_OFFLINE="1")
        self.probe(probe, "path", "encoder", env=offline)
        self.probe(probe, "path", "chat", env=offline, expect=5)

    def test_hub_resolve_pins_a_commit_with_sizes_and_sha256(self):
        probe = self.build_probe(static=False)
        out = self.probe(probe, "resolve", "hfmodels-demo/tiny-llama-GGUF:Q4_K_M")
        resolved = re.search(r"^resolved (\S+) (\S+) ([0-9a-f]{40})$", out, re.M)
        self.assertIsNotNone(resolved, out)
        self.assertEqual(resolved.group(2), "hfmodels-demo/tiny-llama-GGUF")
        files = re.findall(r"^file (\S+) (\d+) ([0-9a-f]{64})$", out, re.M)
        self.assertEqual([f[0] for f in files], [GGUF], "only the quantization asked for")
        directory = Path(re.search(r"^dir (.+)$", out, re.M).group(1))
        self.assertEqual(directory.name, resolved.group(3))
        for path, size, sha in files:
            self.assertEqual((directory / path).stat().st_size, int(size))
            self.assertEqual(sha256_of(directory / path), sha)
        out = self.probe(probe, "resolve", "not-an/existing-repo", expect=None)
        self.assertRegex(out, r"^error [23] ")

    def test_a_failed_resolve_says_why_and_never_shows_the_token(self):
        # Resolving downloads the regular files to hash them; when one fails, the program's
        # Error names the file and the reason. A server echoing the Authorization header it was
        # sent must not put the token into that Error: the library never prints, so nothing
        # else would mask it. (A fresh cache: locking the probe's lockfile fetched those files.)
        probe = self.build_probe(static=False)
        token = "hf_probe_secret_token_123"
        self.hub.add_fault({"action": "replace_body", "status": 400, "match": "config.json",
                            "body": '{"error": "bad auth {authorization}"}',
                            "headers": {"X-Error-Message": "echo {authorization}"},
                            "times": -1})
        out = self.probe(probe, "resolve", "hfmodels-demo/tiny-llama",
                         env=self.env(HF_TOKEN=token, HF_HOME=str(self.root / "fresh")),
                         expect=None)
        self.assertRegex(out, r"(?m)^error 3 ")
        self.assertIn("config.json", out)
        self.assertIn("400", out)
        self.assertNotIn("See the errors above", out)
        self.assertNotIn(token, out)
        self.assertIn("***", out)

    def test_model_manager_example(self):
        # examples/model-manager, built as its README says, with a lockfile of this Hub.
        source = self.root / "model-manager"
        shutil.copytree(REPO / "examples" / "model-manager", source)
        lock_dir = self.root / "locked"
        lock_dir.mkdir()
        lockfile = self.lock_demo(lock_dir)
        build = self.root / "mm-build"
        for args in (["cmake", "-S", source, "-B", build, "-G", "Ninja",
                      f"-DCMAKE_PREFIX_PATH={self.prefix}", f"-DMODEL_MANAGER_LOCKFILE={lockfile}",
                      f"-DCMAKE_CXX_FLAGS={' '.join(self.sanitizer_flags)}",
                      f"-DCMAKE_EXE_LINKER_FLAGS={' '.join(self.sanitizer_flags)}"],
                     ["cmake", "--build", build]):
            result = subprocess.run([str(a) for a in args], env=self.env(), capture_output=True,
                                    text=True, timeout=600)
            self.assertEqual(result.returncode, 0, f"{args}\n{result.stdout}\n{result.stderr}")
        manager = build / "model-manager"
        shutil.rmtree(self.cache, ignore_errors=True)  # what `lock` hashed
        self.assertRegex(self.probe(manager, "list"), r"(?m)^chat .* not downloaded$")
        out = self.probe(manager)
        self.assertIn("file(s) downloaded", out)
        self.assertRegex(self.probe(manager, "list"), r"(?m)^chat .* ready$")
        offline = self.env(HF_HUB_OFFLINE="1", HF_ENDPOINT="http://127.0.0.1:9")
        self.assertIn("snapshots", self.probe(manager, "path", "chat", env=offline))
        picked = self.probe(manager, "--pick", "hfmodels-demo/tiny-llama-GGUF:Q4_K_M")
        self.assertIn("1 file(s)", picked)

    def test_pkg_config_with_a_plain_compiler_command(self):
        source = self.root / "pc"
        source.mkdir()
        lockfile = self.lock_demo(source)
        # The embedded lockfile, as hfmodels_embed_lockfile generates it, from the installed
        # script.
        script = self.prefix / "lib" / "cmake" / "HFModels" / "HFModelsEmbedLockfile.cmake"
        if not script.is_file():
            script = next(self.prefix.rglob("HFModelsEmbedLockfile.cmake"))
        subprocess.run(["cmake", f"-DHFMODELS_LOCKFILE={lockfile}",
                        f"-DHFMODELS_OUTPUT={source / 'lock.cpp'}", "-P", str(script)], check=True)
        pc_env = dict(os.environ, PKG_CONFIG_PATH=str(self.libdir / "pkgconfig"))
        for static in (False, True):
            with self.subTest(static=static):
                flags = subprocess.run(
                    ["pkg-config", "--cflags", "--libs", *(["--static"] if static else []),
                     "hfmodels"], env=pc_env, capture_output=True, text=True, check=True
                ).stdout.split()
                self.assertIn(f"-I{self.prefix}/include", [f.replace("//", "/") for f in flags]
                              + [os.path.normpath(f[2:]).join(["-I", ""]) for f in flags
                                 if f.startswith("-I")])
                program = self.root / f"pc-probe-{'static' if static else 'shared'}"
                if static:
                    # A plain Makefile names the archive itself; --static adds what it needs.
                    flags = [str(self.libdir / "libhfmodels.a") if f == "-lhfmodels" else f
                             for f in flags]
                command = ["g++", *self.sanitizer_flags, str(PROBE / "main.cpp"),
                           str(source / "lock.cpp"), "-o", str(program), *flags,
                           *([] if static else [f"-Wl,-rpath,{self.libdir}"])]
                result = subprocess.run(command, capture_output=True, text=True, timeout=600)
                self.assertEqual(result.returncode, 0, f"{command}\n{result.stderr}")
                out = self.probe(program, "example")
                self.assertIn("event finished chat", out)
                shutil.rmtree(self.cache, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
