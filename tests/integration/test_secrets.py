"""Secrets (issue 4): the token is never sent over plain http to another machine (unless the user
opts in), never to another host on a redirect, and never appears in output (even `-v` under
faults and failures), in partial downloads, the lockfile or the CMake cache and build files.

test_auth.py covers where tokens are read from and the plain success paths.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import textwrap
import threading
import time
import unittest
from pathlib import Path

from fault_support import FaultTestCase, throttle
from support import walk_all

ALLOWED = "hf_test_allowed"
GATED = "test-org/gated-model"
GATED_MANIFEST = """
    models:
      gated:
        repo: test-org/gated-model
"""
REMOTE = "http://hub.example.invalid"
MB = 1 << 20


class ProxyTrap(threading.Thread):
    """A plain-HTTP proxy on 127.0.0.1 that records what reaches it and answers 404. With
    `http_proxy` pointing here, any connection hfmodels makes to a remote http:// endpoint
    arrives here instead of leaving the machine."""

    def __init__(self):
        super().__init__(daemon=True)
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(16)
        self.server.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}"
        self.requests = []
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set():
            try:
                connection, _ = self.server.accept()
            except socket.timeout:
                continue
            with connection:
                connection.settimeout(5)
                data = b""
                try:
                    while b"\r\n\r\n" not in data:
                        chunk = connection.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                    self.requests.append(data.decode("latin-1"))
                    body = b'{"error":"Repository not found"}'
                    connection.sendall(b"HTTP/1.1 404 Not Found\r\nX-Error-Code: RepoNotFound\r\n"
                                       b"Content-Type: application/json\r\nConnection: close\r\n"
                                       b"Content-Length: %d\r\n\r\n" % len(body) + body)
                except OSError:
                    pass

    def close(self):
        self.done.set()
        self.join()
        self.server.close()


class SecretsTestCase(FaultTestCase):

    def setUp(self):
        super().setUp()
        self.trap = ProxyTrap()
        self.trap.start()
        self.addCleanup(self.trap.close)

    def remote_env(self, **extra):
        return self.env(HF_ENDPOINT=REMOTE, http_proxy=self.trap.url, **extra)

    def assert_secret(self, *texts):
        for text in texts:
            self.assertNotIn(ALLOWED, text)

    def assert_cache_has_no_token(self):
        needle = ALLOWED.encode()
        for path in walk_all(self.root):
            self.assertNotIn(ALLOWED, str(path))
            if path.is_file() and not path.is_symlink():
                self.assertNotIn(needle, path.read_bytes(), path)


class TestPlainHttp(SecretsTestCase):

    def test_token_over_plain_http_to_another_host_is_refused_before_connecting(self):
        self.write_manifest(GATED_MANIFEST)
        for args in (["lock"], ["-v", "lock"]):
            result = self.run_tool(*args, env=self.remote_env(HF_TOKEN=ALLOWED), check=2)
            self.assertIn("refusing to send the token over plain http", result.stderr)
            self.assertIn("HFMODELS_ALLOW_HTTP_TOKEN", result.stderr)
            self.assert_secret(result.stdout, result.stderr)
        self.assertEqual(self.trap.requests, [], "a connection was made")

    def test_fetch_refuses_once_before_any_download(self):
        self.write_manifest(GATED_MANIFEST)
        self.run_tool("lock", env=self.env(HF_TOKEN=ALLOWED, HF_HUB_CACHE=str(self.root / "c")),
                      check=0)
        result = self.run_tool("fetch", env=self.remote_env(HF_TOKEN=ALLOWED), check=2)
        self.assertEqual(result.stderr.count("refusing to send the token"), 1, result.stderr)
        self.assertEqual(self.trap.requests, [])
        self.assertFalse(self.cache.exists() and any(self.cache.rglob("snapshots/*/*")))

    def test_the_user_may_opt_in(self):
        self.write_manifest(GATED_MANIFEST)
        result = self.run_tool("lock", env=self.remote_env(HF_TOKEN=ALLOWED,
                                                            HFMODELS_ALLOW_HTTP_TOKEN="1"), check=3)
        self.assertEqual(len(self.trap.requests), 1)
        self.assertIn(f"Authorization: Bearer {ALLOWED}", self.trap.requests[0])
        self.assertIn("GET http://hub.example.invalid/api/models/", self.trap.requests[0])
        self.assert_secret(result.stderr)

    def test_loopback_endpoint_through_a_proxy_is_not_this_machine(self):
        # The endpoint is on this machine, but http_proxy sends every request to the proxy, in
        # clear text: the token is refused unless no_proxy exempts the endpoint.
        self.write_manifest(GATED_MANIFEST)
        env = self.env(HF_TOKEN=ALLOWED, http_proxy=self.trap.url)
        for args in (["lock"], ["-v", "lock"]):
            result = self.run_tool(*args, env=env, check=2)
            self.assertIn("through a proxy", result.stderr)
            self.assertIn("no_proxy", result.stderr)
            self.assert_secret(result.stdout, result.stderr)
        self.assertEqual(self.trap.requests, [], "a connection was made")
        self.run_tool("lock", env=self.env(HF_TOKEN=ALLOWED, http_proxy=self.trap.url,
                                           no_proxy="127.0.0.1"), check=0)
        self.assertEqual(self.trap.requests, [])
        result = self.run_tool("lock", "--update", env=self.env(
            HF_TOKEN=ALLOWED, http_proxy=self.trap.url, HFMODELS_ALLOW_HTTP_TOKEN="1"), check=3)
        self.assertIn(f"Authorization: Bearer {ALLOWED}", self.trap.requests[0])
        self.assert_secret(result.stderr)

    def test_without_a_token_plain_http_mirrors_work(self):
        self.write_manifest(GATED_MANIFEST)
        self.run_tool("lock", env=self.remote_env(), check=3)
        self.assertEqual(len(self.trap.requests), 1)
        self.assertNotIn("Authorization", self.trap.requests[0])

    def test_offline_never_refuses(self):
        self.write_manifest(GATED_MANIFEST)
        self.run_tool("lock", env=self.env(HF_TOKEN=ALLOWED), check=0)
        self.run_tool("fetch", env=self.env(HF_TOKEN=ALLOWED), check=0)
        self.run_tool("fetch", env=self.remote_env(HF_TOKEN=ALLOWED, HF_HUB_OFFLINE="1"),
                      check=0)
        self.assertEqual(self.trap.requests, [])


class TestTokenNeverLeaks(SecretsTestCase):

    def test_verbose_output_under_faults_and_failures(self):
        self.write_manifest(GATED_MANIFEST)
        env = self.env(HF_TOKEN=ALLOWED)
        outputs = []
        # Retries (503 with Retry-After: 0), then a clean lock.
        self.hub.add_fault({"action": "status", "status": 503, "retry_after": 0,
                            "match": "/revision/", "times": 2})
        result = self.run_tool("-v", "lock", env=env, check=0)
        self.assertIn("Authorization: Bearer ***", result.stderr)
        outputs += [result.stdout, result.stderr]
        # A cut download that resumes, a corrupted one that is downloaded again.
        self.hub.add_fault({"action": "cut", "after": 100, "listener": "cdn"})
        result = self.run_tool("-v", "--json", "fetch", env=env, check=0)
        outputs += [result.stdout, result.stderr]
        # Failures: a retried-out 500, a rate limit, an integrity error, a bad token.
        shutil.rmtree(self.cache)
        self.hub.add_fault({"action": "status", "status": 500, "retry_after": 0,
                            "match": "/resolve/", "times": -1})
        result = self.run_tool("-v", "fetch", env=env, check=3)
        self.assertIn("tried 6 times", result.stderr)
        outputs += [result.stdout, result.stderr]
        self.hub.clear_faults()
        self.hub.add_fault({"action": "status", "status": 429, "retry_after": 900,
                            "match": "/resolve/", "times": -1})
        result = self.run_tool("-v", "fetch", env=env, check=3)
        outputs += [result.stdout, result.stderr]
        self.hub.clear_faults()
        self.hub.add_fault({"action": "corrupt", "listener": "cdn", "times": -1})
        result = self.run_tool("-v", "fetch", env=env, check=4)
        outputs += [result.stdout, result.stderr]
        self.hub.clear_faults()
        for output in outputs:
            self.assertIsInstance(output, str)
            self.assert_secret(output)
        self.assertEqual(self.requests()["listeners"]["cdn"]["with_auth"], 0)
        self.assert_cache_has_no_token()

    def test_interrupted_download_keeps_no_token(self):
        self.write_manifest(GATED_MANIFEST)
        env = self.env(HF_TOKEN=ALLOWED)
        self.run_tool("lock", env=env, check=0)
        throttle(self.hub, 2000, match="")  # the gated model's 7.6 KB take seconds
        process = self.start("-v", "fetch", env=env)
        self.wait_for_partial(process, 1000, repo=GATED)
        _, code, out, err = self.interrupt(process)
        self.assertEqual(code, 130)
        self.assert_secret(out, err)
        self.assert_cache_has_no_token()

    def test_no_token_on_a_redirect_to_another_host(self):
        # The Hub redirects LFS downloads to its CDN, another origin (a different port, and with
        # `localhost` as the endpoint a different host name too): the token stays behind.
        self.write_manifest(GATED_MANIFEST)
        endpoint = self.hub.endpoint.replace("127.0.0.1", "localhost")
        env = self.env(HF_TOKEN=ALLOWED, HF_ENDPOINT=endpoint)
        self.run_tool("lock", env=env, check=0)
        self.run_tool("fetch", env=env, check=0)
        listeners = self.requests()["listeners"]
        self.assertGreater(listeners["hub"]["with_auth"], 0)
        self.assertGreater(listeners["cdn"]["total"], 0)
        self.assertEqual(listeners["cdn"]["with_auth"], 0)


def outer_build_dir(binary):
    """The build tree (with CMakeCache.txt) that produced `binary`, or None."""
    for folder in Path(binary).resolve().parents:
        if (folder / "CMakeCache.txt").is_file():
            return folder
    return None


CONSUMER = """
cmake_minimum_required(VERSION 3.25)
project(secret_probe LANGUAGES CXX)
find_package(HFModels 0.1 REQUIRED)
hfmodels_add_models(FETCH ${PROBE_FETCH})
add_executable(app main.cpp)
target_link_libraries(app PRIVATE HFModels::gated)
"""


class TestCMakeCache(SecretsTestCase):
    """The token reaches hfmodels through the environment; configure and build must not write
    it into CMakeCache.txt, build.ninja or any generated file."""

    def test_token_not_in_cmake_cache_or_build_files(self):
        build_tree = outer_build_dir(self.binary)
        if shutil.which("cmake") is None or build_tree is None:
            self.skipTest("needs cmake and the build tree of HFMODELS_BIN")
        prefix = self.root / "prefix"
        install = subprocess.run(["cmake", "--install", str(build_tree), "--prefix", str(prefix)],
                                 capture_output=True, text=True, timeout=300)
        if install.returncode != 0:
            self.skipTest(f"cmake --install failed: {install.stderr[-500:]}")
        self.write_manifest(GATED_MANIFEST)
        env = self.env(HF_TOKEN=ALLOWED)
        self.run_tool("lock", env=env, check=0)
        (self.project / "CMakeLists.txt").write_text(CONSUMER)
        (self.project / "main.cpp").write_text("int main() { return 0; }\n")
        for fetch in ("CONFIGURE", "BUILD"):
            with self.subTest(fetch=fetch):
                build = self.root / f"build-{fetch}"
                generator = ["-G", "Ninja"] if shutil.which("ninja") else []
                configure = subprocess.run(
                    ["cmake", "-S", str(self.project), "-B", str(build), *generator,
                     f"-DCMAKE_PREFIX_PATH={prefix}", f"-DPROBE_FETCH={fetch}"],
                    env=env, capture_output=True, text=True, timeout=600)
                self.assertEqual(configure.returncode, 0, configure.stderr[-3000:])
                built = subprocess.run(["cmake", "--build", str(build)], env=env,
                                       capture_output=True, text=True, timeout=600)
                self.assertEqual(built.returncode, 0, built.stdout[-3000:] + built.stderr[-3000:])
                self.assert_secret(configure.stdout, configure.stderr, built.stdout, built.stderr)
                self.assertTrue((build / "CMakeCache.txt").is_file())
                self.assert_cache_has_no_token()
        self.assertTrue(any(self.cache.rglob("snapshots/*/model.safetensors")))


if __name__ == "__main__":
    unittest.main()
