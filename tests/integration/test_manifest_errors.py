"""Bad manifests and hand-edited lockfiles: every rule of README.md "models.yaml", checked on the real binary.

Each error must exit 2 (4 for an integrity failure) with one message on stderr that begins
`hfmodels: error:` and names the file, the line, the model and the key where they apply, with a
"did you mean" for near-miss keys. Nothing may be written on any of these errors: no lockfile is
created or changed, the cache is not created, and a parse error sends no request to the Hub.
"""

import os
import re
import shutil
import subprocess
import tempfile
import textwrap
import time
import unittest
from pathlib import Path

from support import HubTestCase

PREFIX = "hfmodels: error: "


def files_under(folder):
    """Every path below `folder` (relative, sorted), symlinks not followed; [] if it is absent."""
    folder = Path(folder)
    if not folder.exists():
        return []
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


class ErrorAssertions:
    """Checks shared by the manifest and the lockfile cases."""

    def assert_error_message(self, result, file, line=None, model=None, needles=(), absent=()):
        stderr = result.stderr
        self.assertTrue(stderr.startswith(PREFIX), f"stderr does not begin with {PREFIX!r}:\n{stderr}")
        first = stderr.splitlines()[0]
        if file is not None:
            self.assertIn(file, first, f"the message does not name {file}:\n{stderr}")
            lines = [int(n) for n in re.findall(re.escape(file) + r":(\d+)", first)]
        if line is not None:
            self.assertEqual(lines, [line], f"expected {file}:{line} in:\n{stderr}")
        if model is not None:
            self.assertRegex(first, rf"\b{re.escape(model)}\b", f"the message does not name model {model}")
        for needle in needles:
            if isinstance(needle, re.Pattern):
                self.assertRegex(first, needle)
            else:
                self.assertIn(needle, first)
        for needle in absent:
            if isinstance(needle, re.Pattern):
                self.assertNotRegex(first, needle)
            else:
                self.assertNotIn(needle, first)
        self.assertEqual(result.stdout, "", "an error run printed to stdout")
        return first


def did_you_mean(key):
    return re.compile(rf"(?i)did you mean [`']?{re.escape(key)}[`']?\?")


class ManifestErrorTest(ErrorAssertions, HubTestCase):
    """`hfmodels lock` on a bad models.yaml: exit 2, a located message, nothing written."""

    def lock_fails(self, manifest, line=None, model=None, needles=(), absent=(), raw=None,
                   expect_requests=0, file="models.yaml"):
        """Writes the manifest (text, dedented; or `raw` bytes), runs `lock` and checks the error."""
        path = self.project / "models.yaml"
        if raw is not None:
            path.write_bytes(raw)
        else:
            self.write_manifest(manifest)
        before = files_under(self.project)
        self.hub.reset_requests()
        result = self.run_tool("lock", check=2)
        first = self.assert_error_message(result, file, line, model, needles, absent)
        self.assertFalse(self.lockfile().exists(), "a failed lock created models.lock")
        self.assertEqual(files_under(self.project), before, "a failed lock wrote into the project")
        self.assertFalse(self.cache.exists(), f"a failed lock created the cache: {files_under(self.cache)}")
        if expect_requests is not None:
            self.assertEqual(self.request_count(), expect_requests,
                             f"a manifest error sent requests: {self.requests()['counts']}")
        return first

    # ---- unknown keys ------------------------------------------------------------------------

    def test_unknown_key_near_miss_suggests_the_key(self):
        for typo, key in [("inclde", "include"), ("revison", "revision"), ("exlude", "exclude"),
                          ("fils", "files"), ("rpo", "repo"), ("typ", "type"), ("quants", "quant"),
                          ("includes", "include")]:
            with self.subTest(typo=typo):
                self.lock_fails(f"""
                    models:
                      tiny:
                        repo: test-org/tiny-model
                        {typo}: x
                    """, line=4, model="tiny", needles=[f"`{typo}`", did_you_mean(key)])

    def test_unknown_key_far_from_any_is_named_without_a_suggestion(self):
        self.lock_fails("""
            models:
              tiny:
                repo: test-org/tiny-model
                colour: red
            """, line=4, model="tiny", needles=["`colour`"], absent=[re.compile("(?i)did you mean")])

    def test_unknown_key_in_a_later_model_names_that_model_and_its_line(self):
        self.lock_fails("""
            # a comment, so that line numbers are not just entry offsets
            models:
              tiny:
                repo: test-org/tiny-model
                include: ["*.json"]

              gguf:
                repo: test-org/tiny-gguf
                quant: Q4_K_M
                revison: main
            """, line=10, model="gguf", needles=["`revison`", did_you_mean("revision")],
                        absent=[re.compile(r"\btiny\b")])

    def test_unknown_top_level_key(self):
        self.lock_fails("""
            modles:
              tiny:
                repo: test-org/tiny-model
            """, line=1, needles=["`modles`", did_you_mean("models")])
        self.lock_fails("""
            models:
              tiny:
                repo: test-org/tiny-model
            settings:
              jobs: 4
            """, line=4, needles=["`settings`"])

    def test_repeated_key_in_a_model(self):
        self.lock_fails("""
            models:
              tiny:
                repo: test-org/tiny-model
                include: ["*.json"]
                repo: test-org/tiny-gguf
            """, line=5, model="tiny", needles=["`repo`", re.compile(r"\bline 3\b")])

    # ---- repo ----------------------------------------------------------------------------------

    def test_missing_repo(self):
        self.lock_fails("""
            models:
              tiny:
                revision: main
                include: ["*.json"]
            """, line=2, model="tiny", needles=["`repo`"])

    def test_invalid_repo_ids(self):
        for repo in ["a--b", "../x", "org/na me", "a/b/c", "-org/name", "org/name.", "org/", ""]:
            with self.subTest(repo=repo):
                self.lock_fails(f"""
                    models:
                      tiny:
                        repo: "{repo}"
                    """, line=3, model="tiny", needles=["repo", f"'{repo}'"])

    def test_pasted_url_as_repo_points_at_the_id(self):
        self.lock_fails("""
            models:
              squad:
                repo: https://huggingface.co/datasets/test-datasets/tiny-dataset/tree/main
            """, line=3, model="squad", needles=["`test-datasets/tiny-dataset`", "type: dataset"])

    # ---- model names -------------------------------------------------------------------------

    def test_bad_model_names(self):
        for name in ["1abc", "a-b", "a.b", "_a", "\"a b\"", "\"\""]:
            with self.subTest(name=name):
                shown = name.strip('"')
                self.lock_fails(f"""
                    models:
                      {name}:
                        repo: test-org/tiny-model
                    """, line=2, needles=[f"`{shown}`", re.compile("(?i)model name")])

    def test_bad_model_name_gets_a_valid_suggestion(self):
        first = self.lock_fails("""
            models:
              tiny-llama:
                repo: test-org/tiny-model
            """, line=2, needles=["`tiny-llama`"])
        self.assertIn("`tiny_llama`", first)

    def test_duplicate_model_names(self):
        self.lock_fails("""
            models:
              tiny:
                repo: test-org/tiny-model
              gguf:
                repo: test-org/tiny-gguf
                quant: Q4_K_M
              tiny:
                repo: test-org/tiny-model
                include: ["*.json"]
            """, line=7, model="tiny", needles=[re.compile(r"\bline 2\b"), "twice"])

    def test_model_names_differing_only_in_case(self):
        self.lock_fails("""
            models:
              tiny:
                repo: test-org/tiny-model
              Tiny:
                repo: test-org/tiny-model
            """, line=4, model="Tiny", needles=["`tiny`", re.compile(r"\bline 2\b")])

    # ---- files vs include / exclude / quant ------------------------------------------------

    def test_files_cannot_be_combined_with_selectors(self):
        for other in ['include: ["*.json"]', 'exclude: ["*.md"]', "quant: Q4_K_M"]:
            key = other.split(":")[0]
            with self.subTest(key=key):
                self.lock_fails(f"""
                    models:
                      tiny:
                        repo: test-org/tiny-model
                        files: [config.json]
                        {other}
                    """, line=4, model="tiny", needles=["`files`", f"`{key}`"])

    def test_files_combined_with_a_selector_written_first(self):
        self.lock_fails("""
            models:
              tiny:
                repo: test-org/tiny-model
                quant: Q4_K_M
                files: [config.json]
            """, line=5, model="tiny", needles=["`files`", "`quant`"])

    # ---- types -------------------------------------------------------------------------------

    def test_wrong_value_types(self):
        cases = [
            ("include: 5", "include", "a number"),
            ("include: [5]", "include", "a number"),
            ("include: {a: b}", "include", "a map"),
            ("include: true", "include", "a boolean"),
            ("exclude: [[a]]", "exclude", "a list"),
            ("repo: {id: test-org/tiny-model}", "repo", "a map"),
            ("repo: [test-org/tiny-model]", "repo", "a list"),
            ("repo: 123", "repo", "a number"),
            ("revision: [main]", "revision", "a list"),
            ("revision: {branch: main}", "revision", "a map"),
            ("revision: 1.0", "revision", "a number"),
            ("files: {config.json: 1}", "files", "a map"),
            ("quant: 4", "quant", "a number"),
            ("type: [model]", "type", "a list"),
        ]
        for entry, key, found in cases:
            with self.subTest(entry=entry):
                # `repo:` itself is the case under test for repo types; otherwise a valid repo.
                repo_line = "" if key == "repo" else "    repo: test-org/tiny-model\n"
                text = "models:\n  tiny:\n" + repo_line + "    " + entry + "\n"
                line = 3 if key == "repo" else 4
                self.lock_fails(text, line=line, model="tiny", needles=[f"`{key}`", found])

    def test_key_without_a_value(self):
        self.lock_fails("""
            models:
              tiny:
                repo: test-org/tiny-model
                include:
            """, line=4, model="tiny", needles=["`include`"])

    def test_bad_type_value(self):
        self.lock_fails("""
            models:
              tiny:
                repo: test-org/tiny-model
                type: modle
            """, line=4, model="tiny", needles=["`modle`", "`type`", did_you_mean("model")])
        self.lock_fails("""
            models:
              tiny:
                repo: test-org/tiny-model
                type: space
            """, line=4, model="tiny", needles=["`space`", "`type`"])

    def test_bad_revision_values(self):
        for revision in ["main branch", "a..b", "refs/pr/x", "-main", "main.lock", "x~1"]:
            with self.subTest(revision=revision):
                self.lock_fails(f"""
                    models:
                      tiny:
                        repo: test-org/tiny-model
                        revision: "{revision}"
                    """, line=4, model="tiny", needles=[f"`{revision}`", "revision"])

    def test_bad_glob_and_quant(self):
        self.lock_fails("""
            models:
              tiny:
                repo: test-org/tiny-model
                include: ["config.json", "/abs/*.json"]
            """, line=4, model="tiny", needles=["`/abs/*.json`", "include", "starts with `/`"])
        self.lock_fails("""
            models:
              gguf:
                repo: test-org/tiny-gguf
                quant: "Q4 K M"
            """, line=4, model="gguf", needles=["`Q4 K M`", "quant"])

    # ---- unsafe files --------------------------------------------------------------------------

    def test_unsafe_file_paths(self):
        # Single-quoted YAML: the backslash is a literal backslash.
        for path, why in [("../x", ".."), ("a/../b", ".."), ("/abs", "absolute"),
                          ("a\\b", "backslash"), ("./a", "."), ("", "empty")]:
            with self.subTest(path=path):
                self.lock_fails(f"""
                    models:
                      tiny:
                        repo: test-org/tiny-model
                        files: [config.json, '{path}']
                    """, line=4, model="tiny", needles=[f"'{path}'", why])

    def test_unsafe_file_path_on_its_own_line(self):
        self.lock_fails("""
            models:
              tiny:
                repo: test-org/tiny-model
                files:
                  - config.json
                  - ../../etc/passwd
            """, line=6, model="tiny", needles=["'../../etc/passwd'"])

    def test_duplicate_file_in_files(self):
        self.lock_fails("""
            models:
              tiny:
                repo: test-org/tiny-model
                files:
                  - config.json
                  - README.md
                  - config.json
            """, line=7, model="tiny", needles=["`config.json`", re.compile(r"\bline 5\b")])

    # ---- file-level problems -------------------------------------------------------------------

    def test_empty_manifest(self):
        for text in ["", "\n\n", "# only a comment\n"]:
            with self.subTest(text=text):
                self.lock_fails(text, needles=["empty"])

    def test_no_models_key(self):
        self.lock_fails("{}\n", needles=["`models`"])
        self.lock_fails("models: [tiny]\n", line=1, needles=["`models`", "a list"])
        self.lock_fails("models: 5\n", line=1, needles=["`models`", "a number"])
        self.lock_fails("- models\n- tiny\n", line=1, needles=["`models`", "a list"])

    def test_model_entry_that_is_not_a_map(self):
        self.lock_fails("""
            models:
              tiny: test-org/tiny-model
            """, line=2, model="tiny", needles=["`repo: test-org/tiny-model`"])
        self.lock_fails("""
            models:
              tiny:
              other:
                repo: test-org/tiny-model
            """, line=2, model="tiny", needles=["`tiny`"])

    def test_yaml_syntax_errors_report_the_line(self):
        cases = [
            # A tab where YAML wants indentation.
            ("models:\n  tiny:\n    repo: test-org/tiny-model\n\tinclude: x\n", 4),
            # An indentation that matches no level.
            ("models:\n  tiny:\n    repo: test-org/tiny-model\n   include: x\n", 4),
            # A stray closing bracket.
            ("models:\n  tiny:\n    repo: test-org/tiny-model\n    include: [\"a\", \"b\"]]\n", 4),
            # A second error-free model first, then an unterminated quote on line 7.
            ("models:\n  a:\n    repo: test-org/tiny-model\n\n  b:\n    repo: test-org/tiny-gguf\n"
             "    quant: 'Q4_K_M\n", 7),
        ]
        for text, line in cases:
            with self.subTest(text=text):
                self.lock_fails(None, raw=text.encode(), line=line,
                                needles=[re.compile("(?i)yaml")])

    def test_multiple_documents(self):
        self.lock_fails("""
            models:
              tiny:
                repo: test-org/tiny-model
            ---
            models:
              gguf:
                repo: test-org/tiny-gguf
            """, needles=[re.compile("(?i)document")])

    def test_invalid_utf8(self):
        # Latin-1 "é" in a comment on line 3, and a lone continuation byte in a value on line 4.
        self.lock_fails(None, raw=b"models:\n  tiny:\n    # caf\xe9\n    repo: test-org/tiny-model\n",
                        line=3, needles=["UTF-8"])
        self.lock_fails(None, raw=b"models:\n  tiny:\n    repo: test-org/tiny-model\n    include: \x80x\n",
                        line=4, needles=["UTF-8"])
        # UTF-16 (what some editors save) is not UTF-8 either.
        self.lock_fails(None, raw="models:\n  tiny:\n    repo: x/y\n".encode("utf-16"),
                        needles=["UTF-8"])

    def test_alias_bomb_fails_fast_with_bounded_memory(self):
        """A "billion laughs" manifest: 9^10 strings if expanded. It must fail fast (or parse
        without expanding), in under 2 s and without eating memory."""
        lists = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
        for i in range(1, 10):
            lists.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
        merge_bomb = ["x0: &x0 {k0: v, k1: v}"]
        for i in range(1, 20):
            merge_bomb.append(f"x{i}: &x{i} {{a: *x{i - 1}, b: *x{i - 1}, c: *x{i - 1}}}")
        variants = {
            "top-level lists": "\n".join(lists)
            + "\nmodels:\n  tiny:\n    repo: test-org/tiny-model\n    include: *a9\n",
            "inside a model": "models:\n  tiny:\n    repo: test-org/tiny-model\n    extra:\n"
            + "\n".join("      " + line for line in lists)
            + "\n    include: *a9\n",
            "nested maps": "\n".join(merge_bomb)
            + "\nmodels:\n  tiny:\n    repo: test-org/tiny-model\n    <<: *x19\n",
        }
        for name, text in variants.items():
            with self.subTest(variant=name):
                (self.project / "models.yaml").write_text(text)
                started = time.monotonic()
                code, stderr, max_rss_kib = self.run_measured("lock")
                elapsed = time.monotonic() - started
                self.assertEqual(code, 2, stderr)
                self.assertTrue(stderr.startswith(PREFIX), stderr)
                self.assertIn("models.yaml", stderr)
                self.assertLess(elapsed, 2.0, f"the alias bomb took {elapsed:.2f} s")
                self.assertLess(max_rss_kib, 256 * 1024, f"the alias bomb used {max_rss_kib} KiB")
                self.assertFalse(self.lockfile().exists())
                self.assertFalse(self.cache.exists())

    def run_measured(self, *args):
        """Runs hfmodels and returns (exit code, stderr, peak RSS in KiB) of that one process."""
        with tempfile.TemporaryFile() as err:
            process = subprocess.Popen([self.binary, *args], cwd=self.project, env=self.env(),
                                       stdout=subprocess.DEVNULL, stderr=err)
            deadline = time.monotonic() + 60
            while True:
                pid, status, usage = os.wait4(process.pid, os.WNOHANG)
                if pid:
                    break
                if time.monotonic() > deadline:
                    process.kill()
                    os.wait4(process.pid, 0)
                    self.fail("hfmodels did not finish within 60 s on an alias bomb")
                time.sleep(0.01)
            process.returncode = os.waitstatus_to_exitcode(status)
            err.seek(0)
            return process.returncode, err.read().decode(errors="replace"), usage.ru_maxrss

    def test_manifest_named_with_the_manifest_option(self):
        folder = self.project / "conf"
        folder.mkdir()
        (folder / "models.yaml").write_text("models:\n  tiny:\n    repo: test-org/tiny-model\n    inclde: x\n")
        result = self.run_tool("lock", "-m", "conf/models.yaml", check=2)
        self.assert_error_message(result, "conf/models.yaml", 4, "tiny", [did_you_mean("include")])
        self.assertFalse(self.lockfile().exists())
        self.assertFalse((folder / "models.lock").exists())

    def test_missing_manifest(self):
        result = self.run_tool("lock", check=2)
        self.assert_error_message(result, "models.yaml")
        self.assertFalse(self.lockfile().exists())
        self.assertFalse(self.cache.exists())

    # ---- lock time: selectors that match nothing ---------------------------------------------

    def test_selector_matching_nothing(self):
        cases = [
            ('include: ["*.nothing"]', "tiny", "test-org/tiny-model", ["`*.nothing`", "include"]),
            ('include: ["*.json", "*.nothing"]', "tiny", "test-org/tiny-model", ["`*.nothing`"]),
            ('exclude: ["**"]', "tiny", "test-org/tiny-model", ["exclude"]),
            ("quant: Q3_K_S", "gguf", "test-org/tiny-gguf", ["`Q3_K_S`", "Q4_K_M"]),
            ("files: [config.json, nope.bin]", "tiny", "test-org/tiny-model", ["nope.bin"]),
            ('include: ["data/*.json"]\n    type: dataset', "squad", "test-datasets/tiny-dataset",
             ["`data/*.json`"]),
        ]
        for entry, name, repo, needles in cases:
            with self.subTest(entry=entry):
                text = f"models:\n  {name}:\n    repo: {repo}\n    {entry}\n"
                # Resolving needs the Hub, so requests are expected; nothing may be written.
                # The message names the model and the selector (not a line: it is not a
                # syntax problem of the file).
                self.lock_fails(text, model=name, needles=needles, expect_requests=None, file=None)

    def test_selector_matching_nothing_in_one_model_writes_nothing_for_the_others(self):
        self.write_manifest("""
            models:
              ds:
                repo: test-datasets/tiny-dataset
                type: dataset
              tiny:
                repo: test-org/tiny-model
                include: ["weights/*.safetensors"]
            """)
        result = self.run_tool("lock", check=2)
        self.assert_error_message(result, None, model="tiny", needles=["`weights/*.safetensors`"])
        self.assertFalse(self.lockfile().exists())
        self.assertFalse(self.cache.exists(), f"the cache was written: {files_under(self.cache)}")
        downloads = [r for r in self.requests()["requests"] if "/resolve" in r["path"]]
        self.assertEqual(downloads, [], "a failed lock downloaded files")

    def test_errors_leave_an_existing_lockfile_untouched(self):
        self.write_manifest("""
            models:
              tiny:
                repo: test-org/tiny-model
                include: ["*.json"]
            """)
        self.run_tool("lock", check=0)
        locked = self.lockfile().read_bytes()
        stamp = self.lockfile().stat().st_mtime_ns
        cache_before = files_under(self.cache)
        bad = {
            "parse error": "models:\n  tiny:\n    repo: test-org/tiny-model\n    inclde: ['*.json']\n",
            "selector": "models:\n  tiny:\n    repo: test-org/tiny-model\n    include: ['*.nothing']\n",
            "new bad model": "models:\n  tiny:\n    repo: test-org/tiny-model\n    include: ['*.json']\n"
            "  gguf:\n    repo: test-org/tiny-gguf\n    quant: Q9_X\n",
        }
        for name, text in bad.items():
            with self.subTest(case=name):
                (self.project / "models.yaml").write_text(text)
                result = self.run_tool("lock", check=2)
                self.assertTrue(result.stderr.startswith(PREFIX), result.stderr)
                self.assertEqual(self.lockfile().read_bytes(), locked)
                self.assertEqual(self.lockfile().stat().st_mtime_ns, stamp)
                self.assertEqual(files_under(self.cache), cache_before)


# A manifest and its lock, made once per class by the real `hfmodels lock`: two models, one a
# dataset, with sub-folders, regular and LFS files.
LOCK_MANIFEST = """\
models:
  tiny:
    repo: test-org/tiny-model
  ds:
    repo: test-datasets/tiny-dataset
    type: dataset
"""


class LockfileErrorTest(ErrorAssertions, HubTestCase):
    """`hfmodels fetch` on a hand-edited models.lock: exit 2 naming the line and `hfmodels lock`."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        folder = Path(tempfile.mkdtemp(prefix="hfmodels-lockgen-"))
        try:
            (folder / "models.yaml").write_text(LOCK_MANIFEST)
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(folder),
                   "HF_HOME": str(folder / "hf"), "HF_ENDPOINT": cls.hub.endpoint, "LC_ALL": "C.UTF-8"}
            for key in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
                if key in os.environ:
                    env[key] = os.environ[key]
            result = subprocess.run([cls.binary, "lock", "-q"], cwd=folder, env=env,
                                    capture_output=True, text=True, timeout=120)
            if result.returncode != 0:
                raise RuntimeError(f"hfmodels lock failed: {result.stderr}")
            cls.good_lock = (folder / "models.lock").read_text()
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def setUp(self):
        super().setUp()
        self.write_manifest(LOCK_MANIFEST)

    def line_of(self, text, needle, occurrence=1):
        """1-based line of the `occurrence`-th line containing `needle` in `text`."""
        hits = [n for n, line in enumerate(text.splitlines(), 1) if needle in line]
        self.assertGreaterEqual(len(hits), occurrence, f"{needle!r} not in the lockfile")
        return hits[occurrence - 1]

    def model_block(self, name):
        """(first, last) line numbers of a model's block in the good lockfile."""
        lines = self.good_lock.splitlines()
        start = self.line_of(self.good_lock, f"  {name}:")
        end = start
        while end < len(lines) and (lines[end].startswith("    ") or not lines[end].strip()):
            end += 1
        return start, end

    def line_in_model(self, name, needle):
        """The first line of model `name` whose text starts with `needle` (indentation aside)."""
        start, end = self.model_block(name)
        for number in range(start, end + 1):
            if self.good_lock.splitlines()[number - 1].strip().startswith(needle):
                return number
        self.fail(f"{needle!r} is not in model {name}")

    def edit_line(self, number, new_text):
        lines = self.good_lock.splitlines(keepends=True)
        lines[number - 1] = new_text + "\n"
        return "".join(lines)

    def replace_value(self, model, key_prefix, new_value):
        """The good lock with the first `key_prefix` line in `model` given `new_value`; its line."""
        number = self.line_in_model(model, key_prefix)
        old = self.good_lock.splitlines()[number - 1]
        indent = old[: len(old) - len(old.lstrip())]
        key = old.strip().split(":")[0]
        dash = "- " if old.strip().startswith("- ") else ""
        if dash:
            key = old.strip()[2:].split(":")[0]
        return self.edit_line(number, f"{indent}{dash}{key}: {new_value}"), number

    def fetch_fails(self, lock_text, line=None, model=None, needles=(), command=("fetch",), code=2):
        if isinstance(lock_text, bytes):
            self.lockfile().write_bytes(lock_text)
        else:
            self.lockfile().write_text(lock_text)
        before = self.lockfile().read_bytes()
        self.hub.reset_requests()
        result = self.run_tool(*command, check=code)
        first = self.assert_error_message(result, "models.lock", line, model, needles)
        if code == 2:
            self.assertIn("hfmodels lock", first, "the message does not say to re-run `hfmodels lock`")
        self.assertEqual(self.lockfile().read_bytes(), before, "the lockfile was changed")
        self.assertFalse(self.cache.exists(), f"the cache was written: {files_under(self.cache)}")
        self.assertEqual(self.request_count(), 0, f"requests were sent: {self.requests()['counts']}")
        return first

    def test_the_good_lockfile_fetches(self):
        self.lockfile().write_text(self.good_lock)
        self.run_tool("fetch", "-q", check=0)
        self.run_tool("verify", check=0)

    def test_sha256_not_hex(self):
        for value in ["zz" + "0" * 62, "a" * 63, "A" * 64, "sha256:" + "a" * 64, "0x" + "a" * 62]:
            with self.subTest(value=value):
                text, line = self.replace_value("tiny", "sha256:", value)
                self.fetch_fails(text, line, "tiny", ["sha256"])

    def test_commit_not_40_hex(self):
        for value in ["39e600a4", "g" * 40, "a" * 41, "A" * 40, "main"]:
            with self.subTest(value=value):
                text, line = self.replace_value("ds", "commit:", value)
                self.fetch_fails(text, line, "ds", ["commit"])

    def test_unsafe_paths(self):
        for value in ["../x", "data/../../x", "/etc/passwd", "'a\\b'", "./x", "''"]:
            with self.subTest(value=value):
                text, line = self.replace_value("ds", "- path: data/test.csv", value)
                self.fetch_fails(text, line, "ds", [value.strip("'")])

    def test_duplicate_file(self):
        # tiny's config.json entry renamed to the path of its README.md entry.
        first_line = self.line_in_model("tiny", "- path: README.md")
        text, line = self.replace_value("tiny", "- path: config.json", "README.md")
        self.fetch_fails(text, line, "tiny", ["`README.md`", re.compile(rf"\bline {first_line}\b")])

    def test_unknown_keys(self):
        with self.subTest(level="model"):
            line = self.line_in_model("tiny", "revision:")
            text = self.edit_line(line, "    revison: main")
            self.fetch_fails(text, line, "tiny", ["`revison`", did_you_mean("revision")])
        with self.subTest(level="file"):
            line = self.line_in_model("ds", "etag:")
            text = self.edit_line(line, self.good_lock.splitlines()[line - 1] + "\n        sizee: 3")
            self.fetch_fails(text, line + 1, "ds", ["`sizee`"])
        with self.subTest(level="top"):
            line = self.line_of(self.good_lock, "version:")
            text = self.edit_line(line, "version: 1\ngenerated: 2024-01-01")
            self.fetch_fails(text, line + 1, None, ["`generated`"])

    def test_other_bad_versions_and_missing_keys(self):
        line = self.line_of(self.good_lock, "version:")
        for value in ["0", "one", "1.0", "[1]"]:
            with self.subTest(version=value):
                self.fetch_fails(self.edit_line(line, f"version: {value}"), line, None, ["version"])
        with self.subTest(missing="commit"):
            line = self.line_in_model("tiny", "commit:")
            lines = self.good_lock.splitlines(keepends=True)
            del lines[line - 1]
            self.fetch_fails("".join(lines), None, "tiny", ["`commit`"])
        with self.subTest(missing="version"):
            lines = self.good_lock.splitlines(keepends=True)
            del lines[self.line_of(self.good_lock, "version:") - 1]
            self.fetch_fails("".join(lines), None, None, ["`version`"])

    def test_bad_size_and_etag(self):
        for value in ["-1", "12.5", "0x10", "big"]:
            with self.subTest(size=value):
                text, line = self.replace_value("tiny", "size:", value)
                self.fetch_fails(text, line, "tiny", ["size"])
        with self.subTest(etag="not hex"):
            text, line = self.replace_value("tiny", "etag:", "xyz")
            self.fetch_fails(text, line, "tiny", ["etag"])
        with self.subTest(etag="LFS etag differs from sha256"):
            # model.safetensors is LFS: its etag is its sha256.
            sha = self.hub.file("test-org/tiny-model", "model.safetensors").sha256
            line = self.line_of(self.good_lock, f"etag: {sha}")
            text = self.edit_line(line, "        etag: " + "0" * 64)
            self.fetch_fails(text, line, "tiny", ["etag"])

    def test_syntax_error_anchors_utf8_and_empty(self):
        with self.subTest(case="syntax"):
            line = self.line_in_model("ds", "repo:")
            self.fetch_fails(self.edit_line(line, "    repo: [test-datasets/tiny-dataset"), None, None,
                             [re.compile("(?i)yaml")])
        with self.subTest(case="anchor"):
            line = self.line_in_model("ds", "repo:")
            text = self.edit_line(line, "    repo: &r test-datasets/tiny-dataset")
            self.fetch_fails(text, line, None, ["anchor"])
        with self.subTest(case="utf-8"):
            line = self.line_in_model("ds", "repo:")
            raw = self.edit_line(line, "    repo: test-datasets/tiny-dataset # \udce9").encode(
                "utf-8", "surrogateescape")
            self.fetch_fails(raw, line, None, ["UTF-8"])
        with self.subTest(case="empty"):
            self.fetch_fails("", None, None, ["empty"])
        with self.subTest(case="merge conflict"):
            line = self.line_in_model("tiny", "commit:")
            text = self.edit_line(line, "<<<<<<< HEAD\n    commit: " + "1" * 40 + "\n=======\n"
                                  "    commit: " + "2" * 40 + "\n>>>>>>> other")
            self.fetch_fails(text, None, None, [])

    def test_other_commands_refuse_a_bad_lockfile_too(self):
        text, line = self.replace_value("tiny", "commit:", "39e600a4")
        for command in [("verify",), ("status",), ("path", "tiny"), ("fetch", "tiny"),
                        ("fetch", "ds"), ("export", "ds", "--to", str(self.root / "out"))]:
            with self.subTest(command=command):
                self.fetch_fails(text, line, "tiny", ["commit"], command=command)
                self.assertFalse((self.root / "out").exists())

    def test_lock_recreates_a_damaged_lockfile_as_the_message_says(self):
        text, _ = self.replace_value("tiny", "commit:", "39e600a4")
        for command in [("lock", "--update"), ("lock", "--update", "tiny")]:
            with self.subTest(command=command):
                self.lockfile().write_text(text)
                advice = self.run_tool("fetch", check=2).stderr
                self.assertIn("hfmodels lock --update", advice)
                # Plain `lock` would move every pin (branches to their current commit): it
                # refuses, as the other commands do, and leaves the file for the user to fix.
                refused = self.run_tool("lock", check=2)
                self.assertIn("hfmodels lock --update", refused.stderr)
                self.assertEqual(self.lockfile().read_text(), text)
                # `lock --update NAME` too must give a complete lockfile: no old entry survives
                # for `ds`.
                self.run_tool(*command, "-q", check=0)
                self.assertEqual(self.lockfile().read_text(), self.good_lock)
                self.run_tool("fetch", "-q", check=0)
                self.run_tool("verify", check=0)

    def test_a_lockfile_of_a_newer_format_is_never_rewritten(self):
        newer = self.good_lock.replace("version: 1\n", "version: 2\n", 1)
        self.assertNotEqual(newer, self.good_lock)
        self.lockfile().write_text(newer)
        for command in [("lock",), ("lock", "--update"), ("fetch",)]:
            with self.subTest(command=command):
                result = self.run_tool(*command, check=2)
                self.assertIn("format version 2", result.stderr)
                self.assertIn("Upgrade hfmodels", result.stderr)
                self.assertNotIn("re-create", result.stderr)
                self.assertEqual(self.lockfile().read_text(), newer)
                self.assertFalse(self.cache.exists(), files_under(self.cache))

    # ---- integrity: a valid-looking hash that is wrong -----------------------------------------

    def assert_not_in_snapshot(self, repo, path, etag, kind="model"):
        repo_dir = self.repo_dir(repo, kind)
        for snapshot in (repo_dir / "snapshots").glob("*"):
            self.assertFalse(os.path.lexists(snapshot / path), f"{path} appeared in {snapshot}")
        self.assertFalse((repo_dir / "blobs" / etag).exists(), f"blob {etag} of {path} was kept")
        leftovers = [p for p in files_under(self.cache) if p.endswith(".incomplete")]
        self.assertEqual(leftovers, [], "temporary files were left behind")

    def integrity_fails(self, text, model, path, expected, actual):
        self.lockfile().write_text(text)
        result = self.run_tool("fetch", check=4)
        message = next(line for line in result.stderr.splitlines() if f"{model}/{path}" in line)
        self.assertTrue(message.startswith(PREFIX), message)
        self.assertIn(expected, message, "the message does not show the expected hash")
        self.assertIn(actual, message, "the message does not show the actual hash")
        return result

    def test_changed_sha256_of_a_regular_file_is_an_integrity_error(self):
        real = self.hub.file("test-org/tiny-model", "config.json")
        wrong = ("0" if real.sha256[0] != "0" else "1") + real.sha256[1:]
        text = self.good_lock.replace(f"sha256: {real.sha256}", f"sha256: {wrong}")
        self.assertNotEqual(text, self.good_lock)
        self.integrity_fails(text, "tiny", "config.json", wrong, real.sha256)
        self.assert_not_in_snapshot("test-org/tiny-model", "config.json", real.etag)
        # Every other file was fetched; verify agrees that config.json is the one missing.
        snapshot = self.snapshot("test-org/tiny-model")
        self.assertTrue((snapshot / "model.safetensors").is_file())
        verify = self.run_tool("verify", "tiny")
        self.assertNotEqual(verify.returncode, 0)

    def test_changed_hash_of_an_lfs_file_is_an_integrity_error(self):
        real = self.hub.file("test-datasets/tiny-dataset", "data/train-00000-of-00001.parquet",
                             type="dataset")
        wrong = ("0" if real.sha256[0] != "0" else "1") + real.sha256[1:]
        # An LFS etag is the sha256, so both change together (or the parser refuses the file).
        text = self.good_lock.replace(real.sha256, wrong)
        self.assertEqual(text.count(wrong), 2)
        self.integrity_fails(text, "ds", "data/train-00000-of-00001.parquet", wrong, real.sha256)
        self.assert_not_in_snapshot("test-datasets/tiny-dataset", "data/train-00000-of-00001.parquet",
                                    wrong, kind="dataset")
        self.assertFalse((self.repo_dir("test-datasets/tiny-dataset", "dataset") / "blobs" / real.sha256).exists())

    def test_changed_size_is_an_integrity_error(self):
        real = self.hub.file("test-org/tiny-model", "config.json")
        line = self.line_of(self.good_lock, f"sha256: {real.sha256}") - 1
        self.assertIn(f"size: {real.size}", self.good_lock.splitlines()[line - 1])
        text = self.edit_line(line, f"        size: {real.size - 1}")
        self.lockfile().write_text(text)
        result = self.run_tool("fetch", check=4)
        self.assertIn("tiny/config.json", result.stderr)
        self.assert_not_in_snapshot("test-org/tiny-model", "config.json", real.etag)

    def test_changed_sha256_with_the_blob_already_cached_is_not_linked(self):
        """The blob is in the cache (another revision, another tool, an interrupted run) but
        not the snapshot link: fetch must check the blob against the lock before linking it."""
        real = self.hub.file("test-org/tiny-model", "config.json")
        self.lockfile().write_text(self.good_lock)
        self.run_tool("fetch", "-q", "tiny", check=0)
        link = self.snapshot("test-org/tiny-model") / "config.json"
        link.unlink()
        wrong = ("0" if real.sha256[0] != "0" else "1") + real.sha256[1:]
        self.lockfile().write_text(self.good_lock.replace(f"sha256: {real.sha256}", f"sha256: {wrong}"))
        self.hub.reset_requests()
        result = self.run_tool("fetch", "tiny", check=4)
        message = next(line for line in result.stderr.splitlines() if "tiny/config.json" in line)
        self.assertIn(wrong, message)
        self.assertIn(real.sha256, message)
        self.assertFalse(os.path.lexists(link), "an unverified blob was linked into the snapshot")

    # ---- names on the command line ---------------------------------------------------------------

    def test_unknown_model_name_on_the_command_line(self):
        self.lockfile().write_text(self.good_lock)
        for command in ["fetch", "verify", "path"]:
            with self.subTest(command=command):
                self.hub.reset_requests()
                result = self.run_tool(command, "tinny", check=2)
                self.assertTrue(result.stderr.startswith(PREFIX), result.stderr)
                self.assertIn("tinny", result.stderr)
                self.assertRegex(result.stderr, did_you_mean("tiny"))
                self.assertFalse(self.cache.exists())
                self.assertEqual(self.request_count(), 0)
        with self.subTest(command="fetch, nothing close"):
            result = self.run_tool("fetch", "zzzzzzzz", check=2)
            self.assertIn("zzzzzzzz", result.stderr)
            self.assertIn("ds", result.stderr)  # the locked models are listed instead
            self.assertIn("tiny", result.stderr)
        with self.subTest(command="lock"):
            result = self.run_tool("lock", "tinny", check=2)
            self.assertIn("models.yaml", result.stderr)
            self.assertRegex(result.stderr, did_you_mean("tiny"))
        self.assertEqual(self.lockfile().read_text(), self.good_lock)
        self.assertFalse(self.cache.exists())


if __name__ == "__main__":
    unittest.main()
