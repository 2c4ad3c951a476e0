#!/usr/bin/env python3
"""Self-test of the fake Hub: `python3 tests/fakehub/selftest.py [--big] [-v]`.

Starts the hub in-process on worlds/test.json and checks the protocol with http.client (no
automatic redirects, so every hop is visible) and with a real `curl -sSL`.  Exits non-zero on
any failure.  `--big` also generates and downloads a 1 GiB file (slow: a few seconds of CPU and
1 GiB of disk in the data dir).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.parse
from pathlib import Path
from typing import Any, Callable, Optional

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import fakehub  # noqa: E402

VERBOSE = "-v" in sys.argv
RESULTS = {"passed": 0, "failed": 0}
FAILURES: list[str] = []


class Reply:
    def __init__(self, status: int, headers: http.client.HTTPMessage, body: bytes):
        self.status, self.headers, self.body = status, headers, body

    def h(self, name: str) -> Optional[str]:
        return self.headers.get(name)

    def json(self) -> Any:
        return json.loads(self.body)


def request(method: str, url: str, headers: Optional[dict] = None, body: Optional[bytes] = None,
            conn: Optional[http.client.HTTPConnection] = None) -> Reply:
    u = urllib.parse.urlsplit(url)
    own = conn is None
    c = conn or http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    try:
        c.request(method, u.path + (f"?{u.query}" if u.query else ""), body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        return Reply(r.status, r.headers, data)
    finally:
        if own:
            c.close()


def follow(hub: fakehub.FakeHub, method: str, url: str, token: Optional[str] = None) -> tuple[list[Reply], Reply]:
    """Follow redirects by hand like a careful client: keep the token on same-origin hops only."""
    hops = []
    origin = urllib.parse.urlsplit(url).netloc
    for _ in range(10):
        same = urllib.parse.urlsplit(url).netloc == origin
        hdrs = {"Authorization": f"Bearer {token}"} if token and same else {}
        r = request(method, url, hdrs)
        if r.status in (301, 302, 303, 307, 308):
            hops.append(r)
            url = urllib.parse.urljoin(url, r.h("Location"))
            continue
        return hops, r
    raise AssertionError("too many redirects")


def check(cond: Any, what: str) -> None:
    if cond:
        RESULTS["passed"] += 1
        if VERBOSE:
            print(f"  ok   {what}")
    else:
        RESULTS["failed"] += 1
        FAILURES.append(what)
        print(f"  FAIL {what}")


def eq(a: Any, b: Any, what: str) -> None:
    check(a == b, f"{what}: {a!r} == {b!r}" if a != b else what)


def sha256(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


TESTS: list[Callable[[fakehub.FakeHub], None]] = []


def test(fn: Callable[[fakehub.FakeHub], None]) -> Callable[[fakehub.FakeHub], None]:
    TESTS.append(fn)
    return fn


# ---------------------------------------------------------------------------------------------


@test
def repo_info(hub: fakehub.FakeHub) -> None:
    main = hub.commit_id("test-org/tiny-model", "main")
    r = request("GET", f"{hub.endpoint}/api/models/test-org/tiny-model/revision/main?blobs=true")
    eq(r.status, 200, "model info 200")
    j = r.json()
    eq(j["id"], "test-org/tiny-model", "info id")
    eq(j["sha"], main, "info sha is the commit of main")
    check(j["private"] is False and j["gated"] is False, "info private/gated")
    check(j["lastModified"].endswith("Z"), "lastModified ISO")
    sib = {s["rfilename"]: s for s in j["siblings"]}
    st = hub.file("test-org/tiny-model", "model.safetensors")
    eq(sib["model.safetensors"]["lfs"], {"sha256": st.sha256, "size": st.size, "pointerSize": len(st.pointer)},
       "siblings lfs uses the sha256 key")
    eq(sib["model.safetensors"]["blobId"], st.oid, "siblings blobId of an LFS file is the pointer sha1")
    eq(sib["config.json"]["blobId"], hub.file("test-org/tiny-model", "config.json").blob.sha1, "blobId of config.json")
    check("lfs" not in sib["config.json"], "no lfs on regular files")
    r = request("GET", f"{hub.endpoint}/api/models/test-org/tiny-model")
    eq(r.json()["sha"], main, "info without revision = default branch")
    check(set(r.json()["siblings"][0]) == {"rfilename"}, "siblings without blobs hold only rfilename")
    r = request("GET", f"{hub.endpoint}/api/models/test-org/tiny-model/revision/HEAD?expand=sha&expand=private")
    eq(set(r.json()), {"_id", "id", "sha", "private"}, "expand returns only the listed properties")
    r = request("GET", f"{hub.endpoint}/api/models/test-org/tiny-model/revision/{main}?expand[]=sha")
    eq(r.json().get("sha"), main, "revision can be a 40-hex commit; expand[] accepted")
    c2 = hub.commit_id("test-org/versioned", "c2")
    r = request("GET", f"{hub.endpoint}/api/models/test-org/versioned/revision/refs%2Fpr%2F1")
    eq(r.json().get("sha"), c2, "refs%2Fpr%2F1 is percent-decoded")
    r = request("GET", f"{hub.endpoint}/api/models/test-org/versioned/revision/v2")
    eq(r.json().get("sha"), c2, "tag as revision")
    r = request("GET", f"{hub.endpoint}/api/datasets/test-datasets/tiny-dataset/revision/main?blobs=true")
    eq(r.status, 200, "dataset info")
    check("modelId" not in r.json() and len(r.json()["siblings"]) == 5, "dataset info shape")
    r = request("GET", f"{hub.endpoint}/api/models/tiny-root-model/revision/main")
    eq(r.json().get("id"), "tiny-root-model", "repo id without namespace")
    check(r.h("ETag") and r.h("ETag").startswith('W/"'), "API answers carry weak ETags")


@test
def tree_listing(hub: fakehub.FakeHub) -> None:
    r = request("GET", f"{hub.endpoint}/api/models/test-org/tiny-model/tree/main?recursive=true&expand=false")
    eq(r.status, 200, "tree 200")
    entries = {e["path"]: e for e in r.json()}
    st = hub.file("test-org/tiny-model", "model.safetensors")
    e = entries["model.safetensors"]
    eq(e["oid"], fakehub.git_blob_sha1(st.pointer), "tree oid of LFS file = git sha1 of its pointer")
    eq(e["lfs"], {"oid": st.sha256, "size": st.size, "pointerSize": len(st.pointer)}, "tree lfs object")
    eq(e["size"], st.size, "tree size of LFS file is the real size")
    check(r.h("Link") is None, "no Link on a single page")
    # folders: raw path, %2F-encoded path, non-recursive
    r = request("GET", f"{hub.endpoint}/api/models/test-org/weird-paths/tree/main/deep/a?recursive=false")
    eq(sorted(x["path"] for x in r.json()), ["deep/a/b", "deep/a/model.safetensors"], "tree of a sub-folder")
    eq({x["path"]: x["type"] for x in r.json()}["deep/a/b"], "directory", "directory entry type")
    r2 = request("GET", f"{hub.endpoint}/api/models/test-org/weird-paths/tree/main/deep%2Fa?recursive=false")
    eq(r2.json(), r.json(), "tree path with %2F (Python's encoding)")
    r = request("GET", f"{hub.endpoint}/api/models/test-org/weird-paths/tree/main?recursive=false")
    check(all("/" not in x["path"] for x in r.json()), "non-recursive lists the top level only")
    r = request("GET", f"{hub.endpoint}/api/models/test-org/weird-paths/tree/main/nope?recursive=true")
    eq((r.status, r.h("X-Error-Code")), (404, "EntryNotFound"), "tree of a missing folder")
    r = request("GET", f"{hub.endpoint}/api/models/test-org/weird-paths/tree/main?recursive=true&expand=true")
    check(all("lastCommit" in x for x in r.json()), "expand=true adds lastCommit")


def list_all(hub: fakehub.FakeHub, url: str) -> tuple[list[dict], int, list[str]]:
    out, pages, links = [], 0, []
    conn = http.client.HTTPConnection("127.0.0.1", hub.port, timeout=30)  # keep-alive across pages
    try:
        while url:
            r = request("GET", url, conn=conn)
            assert r.status == 200, (r.status, r.body)
            out += r.json()
            pages += 1
            link = r.h("Link")
            url = None
            if link:
                links.append(link)
                url = link[link.index("<") + 1:link.index(">")]
                assert link.endswith('rel="next"'), link
    finally:
        conn.close()
    return out, pages, links


@test
def pagination(hub: fakehub.FakeHub) -> None:
    out, pages, links = list_all(hub, f"{hub.endpoint}/api/models/test-org/paged/tree/main?recursive=true&expand=false")
    files = hub.repo("test-org/paged").commits["initial"].files
    dirs = {"c", "d", "d/e"}
    eq(sorted(x["path"] for x in out), sorted(list(files) + list(dirs)), "paginated listing is complete")
    eq(len(out), len(set(x["path"] for x in out)), "no entry twice")
    eq(pages, (len(out) + 2) // 3, "page size 3 from the world")
    check(all(link.startswith(f"<{hub.endpoint}/api/models/test-org/paged/tree/main?") for link in links),
          "Link is absolute")
    check(all("recursive=true" in link and "cursor=" in link for link in links), "Link keeps the query and adds a cursor")
    out, pages, _ = list_all(hub, f"{hub.endpoint}/api/models/test-org/many-files/tree/main?recursive=true&expand=false")
    eq((len(out), pages), (1207, 2), "1207 entries come in 2 pages of 1000")
    _, pages, _ = list_all(hub, f"{hub.endpoint}/api/models/test-org/many-files/tree/main?recursive=true&expand=true")
    eq(pages, 25, "expand=true pages hold 50 entries")


@test
def paths_info(hub: fakehub.FakeHub) -> None:
    url = f"{hub.endpoint}/api/models/test-org/tiny-model/paths-info/main"
    r = request("POST", url, {"Content-Type": "application/x-www-form-urlencoded"},
                b"paths=config.json&paths=model.safetensors&paths=missing.bin&expand=false")
    eq(r.status, 200, "paths-info form")
    eq([x["path"] for x in r.json()], ["config.json", "model.safetensors"], "missing paths silently left out")
    check("lastCommit" not in r.json()[0], "no lastCommit without expand")
    r = request("POST", url, {"Content-Type": "application/json"},
                json.dumps({"paths": ["model.safetensors"], "expand": True}).encode())
    x = r.json()[0]
    eq(x["lastCommit"]["id"], hub.commit_id("test-org/tiny-model", "main"), "paths-info JSON + expand lastCommit")
    eq(x["lfs"]["oid"], hub.file("test-org/tiny-model", "model.safetensors").sha256, "paths-info lfs oid")
    v = f"{hub.endpoint}/api/models/test-org/versioned/paths-info/next"
    r = request("POST", v, {"Content-Type": "application/json"}, json.dumps({"paths": ["same.txt", "config.json"], "expand": True}).encode())
    lc = {x["path"]: x["lastCommit"]["id"] for x in r.json()}
    eq(lc, {"same.txt": hub.commit_id("test-org/versioned", "c1"), "config.json": hub.commit_id("test-org/versioned", "c2")},
       "lastCommit is the commit that last changed the file")


@test
def refs(hub: fakehub.FakeHub) -> None:
    r = request("GET", f"{hub.endpoint}/api/models/test-org/versioned/refs")
    j = r.json()
    c1, c2 = hub.commit_id("test-org/versioned", "c1"), hub.commit_id("test-org/versioned", "c2")
    eq({b["name"]: b["targetCommit"] for b in j["branches"]}, {"main": c1, "next": c2}, "refs branches")
    eq({b["ref"] for b in j["tags"]}, {"refs/tags/v1", "refs/tags/v2"}, "refs tags")
    eq((j["converts"], j["pullRequests"]), ([], []), "no PRs unless include_prs")
    r = request("GET", f"{hub.endpoint}/api/models/test-org/versioned/refs?include_prs=1")
    eq(r.json()["pullRequests"], [{"name": "refs/pr/1", "ref": "refs/pr/1", "targetCommit": c2}], "include_prs")


@test
def resolve_regular(hub: fakehub.FakeHub) -> None:
    f = hub.file("test-org/tiny-model", "config.json")
    url = hub.resolve_url("test-org/tiny-model", "config.json")
    r = request("HEAD", url, {"Accept-Encoding": "identity"})
    eq(r.status, 307, "regular file: 307")
    loc = r.h("Location")
    check(loc.startswith("/api/resolve-cache/models/test-org/tiny-model/"), f"relative Location into resolve-cache: {loc}")
    check(r.h("ETag") is None and r.h("X-Repo-Commit") is None, "the 307 has no ETag and no commit")
    check(int(r.h("Content-Length")) > 0, "the 307 has a (redirect body) Content-Length")
    r2 = request("HEAD", urllib.parse.urljoin(url, loc))
    eq(r2.status, 200, "resolve-cache HEAD 200")
    eq(r2.h("ETag"), f'"{f.blob.sha1}"', "ETag = quoted git blob sha1")
    eq(r2.h("X-Repo-Commit"), hub.commit_id("test-org/tiny-model", "main"), "X-Repo-Commit")
    eq(r2.h("Content-Length"), str(f.size), "Content-Length = size")
    eq(r2.h("Accept-Ranges"), "bytes", "Accept-Ranges")
    eq(r2.body, b"", "HEAD has no body")
    hops, r3 = follow(hub, "GET", url)
    eq(sha256(r3.body), f.sha256, "GET body matches sha256")
    eq(fakehub.git_blob_sha1(r3.body), f.oid, "git sha1 of the body = tree oid")
    r4 = request("GET", urllib.parse.urljoin(url, loc), {"Range": "bytes=0-0"})
    eq((r4.status, r4.h("Content-Range"), r4.body), (206, f"bytes 0-0/{f.size}", r3.body[:1]), "resolve-cache range 0-0")
    r5 = request("GET", f"{hub.endpoint}/test-org/tiny-model/raw/main/model.safetensors")
    eq(r5.body, hub.file("test-org/tiny-model", "model.safetensors").pointer, "/raw/ of an LFS file is its pointer")
    for rev in ("main", "v1", "refs%2Fpr%2F1", hub.commit_id("test-org/versioned", "c2")):
        r = request("HEAD", f"{hub.endpoint}/test-org/versioned/resolve/{rev}/config.json")
        eq(r.status, 307, f"resolve at revision {rev}")


@test
def resolve_lfs_and_cdn(hub: fakehub.FakeHub) -> None:
    f = hub.file("test-org/tiny-model", "model.safetensors")
    url = hub.resolve_url("test-org/tiny-model", "model.safetensors")
    r = request("HEAD", url)
    eq(r.status, 302, "LFS file: 302")
    loc = r.h("Location")
    check(loc.startswith(hub.cdn_endpoint + "/"), "absolute Location on the CDN listener")
    check("Expires=" in loc and "Signature=" in loc, "signed-looking CDN URL")
    eq(r.h("X-Linked-Etag"), f'"{f.sha256}"', "X-Linked-Etag = quoted sha256")
    eq(r.h("X-Linked-Size"), str(f.size), "X-Linked-Size")
    eq(r.h("X-Repo-Commit"), hub.commit_id("test-org/tiny-model", "main"), "X-Repo-Commit on the 302")
    eq(r.h("ETag"), f'"{f.oid}"', "ETag on the 302 is the pointer's")
    check(r.h("Content-Length") != str(f.size), "the 302 Content-Length is not the file size")
    c = request("GET", loc)
    eq(c.status, 200, "CDN 200")
    eq(sha256(c.body), f.sha256, "CDN bytes match sha256")
    check(c.h("ETag") and f.sha256 not in c.h("ETag"), "CDN ETag is not the sha256")
    check(c.h("X-Request-Id") is not None and c.h("RateLimit") is None, "CDN: request id, no Hub rate limit")
    size = f.size
    r = request("GET", loc, {"Range": "bytes=100-"})
    eq((r.status, r.h("Content-Range"), r.body), (206, f"bytes 100-{size - 1}/{size}", c.body[100:]), "Range bytes=N-")
    r = request("GET", loc, {"Range": "bytes=10-19"})
    eq((r.status, r.h("Content-Length"), r.body), (206, "10", c.body[10:20]), "Range bytes=a-b")
    r = request("GET", loc, {"Range": "bytes=-5"})
    eq((r.status, r.body), (206, c.body[-5:]), "suffix range")
    r = request("GET", loc, {"Range": f"bytes={size}-"})
    eq((r.status, r.h("Content-Range")), (416, f"bytes */{size}"), "416 when unsatisfiable")
    r = request("GET", loc, {"Range": f"bytes=0-{size + 1000}"})
    eq((r.status, len(r.body)), (206, size), "range end clamped to size")
    r = request("HEAD", loc)
    eq((r.status, r.h("Content-Length"), r.body), (200, str(size), b""), "CDN HEAD")
    bad = loc.replace("Signature=", "Signature=x")
    eq(request("GET", bad).status, 403, "bad signature -> 403")
    # weights.dat is LFS only because it is larger than 10 MB
    w = hub.file("test-org/large-model", "weights.dat")
    check(w.lfs and w.blob.content.path is not None,
          "a >10 MB file is LFS by default and streamed from the data dir")
    _, r = follow(hub, "GET", hub.resolve_url("test-org/large-model", "weights.dat"))
    eq((len(r.body), sha256(r.body)), (w.size, w.sha256), "12 MB file via sendfile")


@test
def weird_paths(hub: fakehub.FakeHub) -> None:
    repo = hub.repo("test-org/weird-paths")
    for path, f in repo.commits["initial"].files.items():
        url = f"{hub.endpoint}/test-org/weird-paths/resolve/main/{urllib.parse.quote(path)}"
        hops, r = follow(hub, "GET", url)
        eq((r.status, sha256(r.body)), (200, f.sha256), f"resolve {path!r}")
    r = request("HEAD", f"{hub.endpoint}/test-org/weird-paths/resolve/main/percent%20literal.txt")
    eq(r.status, 404, "'%20' decodes to a space, which is another (missing) name")
    r = request("HEAD", f"{hub.endpoint}/test-org/weird-paths/resolve/main/plus%2Bsign.txt")
    eq(r.status, 307, "%2B decodes to +")


@test
def errors(hub: fakehub.FakeHub) -> None:
    e = hub.endpoint
    for url in (f"{e}/api/models/nobody/nothing", f"{e}/api/models/nobody/nothing/revision/main",
                f"{e}/nobody/nothing/resolve/main/config.json", f"{e}/api/models/nobody/nothing/tree/main",
                f"{e}/datasets/test-org/tiny-model/resolve/main/config.json"):
        r = request("GET", url)
        eq((r.status, r.h("X-Error-Code")), (401, "RepoNotFound"), f"unknown repo anonymous: {url}")
        check(r.json().get("error"), "error body is JSON {error}")
    r = request("GET", f"{e}/api/models/nobody/nothing", {"Authorization": "Bearer hf_test_user"})
    eq((r.status, r.h("X-Error-Code")), (404, "RepoNotFound"), "unknown repo with a valid token: 404")
    r = request("GET", f"{e}/api/models/test-org/tiny-model/revision/nope")
    eq((r.status, r.h("X-Error-Code")), (404, "RevisionNotFound"), "RevisionNotFound")
    r = request("HEAD", f"{e}/test-org/tiny-model/resolve/nope/config.json")
    eq((r.status, r.h("X-Error-Code")), (404, "RevisionNotFound"), "RevisionNotFound on resolve")
    r = request("HEAD", f"{e}/test-org/tiny-model/resolve/main/missing.json")
    eq((r.status, r.h("X-Error-Code"), r.h("X-Repo-Commit")),
       (404, "EntryNotFound", hub.commit_id("test-org/tiny-model", "main")), "EntryNotFound with X-Repo-Commit")
    r = request("GET", f"{e}/api/models/test-org/tiny-model", {"Authorization": "Bearer not-a-token"})
    eq((r.status, r.h("X-Error-Message")), (401, fakehub.INVALID_CREDENTIALS), "malformed token")
    r = request("GET", f"{e}/api/models/test-org/tiny-model", {"Authorization": "Basic abc"})
    eq((r.status, r.h("X-Error-Message")), (401, fakehub.INVALID_CREDENTIALS), "non-Bearer Authorization")
    r = request("GET", f"{e}/api/models/test-org/private-model")
    eq((r.status, r.h("X-Error-Code")), (401, "RepoNotFound"), "private repo looks missing anonymously")
    r = request("GET", f"{e}/api/models/test-org/private-model", {"Authorization": "Bearer hf_test_allowed"})
    eq(r.status, 200, "private repo with an accepted token")
    r = request("HEAD", f"{e}/test-org/disabled-model/resolve/main/config.json")
    eq((r.status, r.h("X-Error-Message")), (403, fakehub.DISABLED_MESSAGE), "disabled repo")
    r = request("HEAD", f"{e}/test-org/old-name/resolve/main/config.json")
    eq((r.status, r.h("Location")), (307, "/test-org/renamed-model/resolve/main/config.json"), "renamed repo: relative 307")
    r = request("GET", f"{e}/api/models/Test-Org/Tiny-Model/revision/main")
    eq((r.status, r.h("Location")), (307, "/api/models/test-org/tiny-model/revision/main"), "other casing: 307")
    r = request("GET", f"{e}/no/such/page/at/all")
    eq(r.status, 404, "unknown page 404")


@test
def gated(hub: fakehub.FakeHub) -> None:
    e = hub.endpoint
    r = request("GET", f"{e}/api/models/test-org/gated-model/revision/main")
    eq((r.status, r.json().get("gated")), (200, "manual"), "gated repo info is public (as on the Hub)")
    eq(request("GET", f"{e}/api/models/test-org/gated-model/tree/main").status, 200, "gated repo tree is public")
    r = request("HEAD", f"{e}/test-org/gated-model/resolve/main/config.json")
    eq((r.status, r.h("X-Error-Code")), (401, "GatedRepo"), "gated file anonymously: 401 GatedRepo")
    r = request("HEAD", f"{e}/test-org/gated-model/resolve/main/config.json", {"Authorization": "Bearer hf_test_user"})
    eq((r.status, r.h("X-Error-Code")), (403, "GatedRepo"), "gated file with a token not accepted: 403 GatedRepo")
    eq(request("HEAD", f"{e}/test-org/gated-model/resolve/main/README.md").status, 307, "README of a gated repo is readable")
    hops, r = follow(hub, "GET", f"{e}/test-org/gated-model/resolve/main/config.json", token="hf_test_allowed")
    eq((r.status, sha256(r.body)), (200, hub.file("test-org/gated-model", "config.json").sha256), "gated file with the token")
    r = request("GET", urllib.parse.urljoin(e, hops[0].h("Location")))
    eq((r.status, r.h("X-Error-Code")), (401, "GatedRepo"), "resolve-cache also checks the token")
    hub.reset_requests()
    hops, r = follow(hub, "GET", f"{e}/test-org/gated-model/resolve/main/model.safetensors", token="hf_test_allowed")
    eq((r.status, sha256(r.body)), (200, hub.file("test-org/gated-model", "model.safetensors").sha256), "gated LFS file")
    q = hub.requests()["listeners"]
    eq((q["hub"]["with_auth"], q["cdn"]["total"], q["cdn"]["with_auth"]), (1, 1, 0), "token not sent to the CDN")


@test
def counters_and_control(hub: fakehub.FakeHub) -> None:
    e = hub.endpoint
    request("POST", f"{e}/_fake/reset")
    conn = http.client.HTTPConnection("127.0.0.1", hub.port, timeout=10)
    request("GET", f"{e}/api/models/test-org/tiny-model", conn=conn)
    request("HEAD", f"{e}/test-org/tiny-model/resolve/main/config.json", {"Authorization": "Bearer hf_test_user"}, conn=conn)
    conn.close()
    j = request("GET", f"{e}/_fake/requests").json()
    eq(j["total"], 2, "control calls are not counted")
    eq(j["counts"], {"GET /api/models/test-org/tiny-model": 1, "HEAD /test-org/tiny-model/resolve/main/config.json": 1},
       "per (method, path) counts")
    eq([r["auth"] for r in j["requests"]], [False, True], "Authorization presence per request")
    eq(j["listeners"]["hub"], {"total": 2, "with_auth": 1}, "per-listener totals")
    request("POST", f"{e}/_fake/reset")
    eq(request("GET", f"{e}/_fake/requests").json()["total"], 0, "reset clears the counters")
    w = request("GET", f"{e}/_fake/world").json()
    check(any(r["id"] == "test-org/versioned" for r in w["repos"]), "/_fake/world describes the repos")
    eq(request("POST", f"{e}/_fake/refs", body=b"{not json").status, 400, "bad control body -> 400")


@test
def ref_moves(hub: fakehub.FakeHub) -> None:
    e = hub.endpoint
    c1, c2 = hub.commit_id("test-org/versioned", "c1"), hub.commit_id("test-org/versioned", "c2")
    eq(request("HEAD", f"{e}/test-org/versioned/resolve/main/added.txt").status, 404, "added.txt not on main yet")
    r = request("POST", f"{e}/_fake/refs", {"Content-Type": "application/json"},
                json.dumps({"repo": "test-org/versioned", "type": "model", "ref": "main", "kind": "branch", "commit": "c2"}).encode())
    eq(r.json().get("commit"), c2, "move main to c2")
    eq(request("GET", f"{e}/api/models/test-org/versioned/revision/main").json()["sha"], c2, "info follows the move")
    eq(request("HEAD", f"{e}/test-org/versioned/resolve/main/added.txt").status, 307, "resolve follows the move")
    r = request("POST", f"{e}/_fake/refs", {"Content-Type": "application/json"},
                json.dumps({"repo": "test-org/versioned", "ref": "v1", "kind": "tag", "commit": c2}).encode())
    eq(request("GET", f"{e}/api/models/test-org/versioned/revision/v1").json()["sha"], c2, "move a tag by commit id")
    hub.move_ref("test-org/versioned", "main", "c1")
    hub.move_ref("test-org/versioned", "v1", "c1", kind="tag")
    eq(request("GET", f"{e}/api/models/test-org/versioned/revision/main").json()["sha"], c1, "in-process move back")


@test
def faults(hub: fakehub.FakeHub) -> None:
    e = hub.endpoint
    url = hub.resolve_url("test-org/tiny-model", "config.json")
    request("POST", f"{e}/_fake/faults", body=json.dumps([{"action": "status", "status": 503, "match": "/resolve/main/config.json", "times": 2}]).encode())
    eq([request("HEAD", url).status for _ in range(3)], [503, 503, 307], "503 fires twice, then normal")
    eq(request("GET", f"{e}/_fake/faults").json(), [], "spent rules are removed")
    hub.add_fault({"action": "status", "status": 429, "retry_after": 2, "match": "config.json"})
    r = request("HEAD", url)
    eq((r.status, r.h("Retry-After")), (429, "2"), "429 with Retry-After")
    check(r.h("RateLimit").endswith("r=0;t=2"), f"429 RateLimit says r=0: {r.h('RateLimit')}")
    loc = request("HEAD", hub.resolve_url("test-org/large-model", "weights.dat")).h("Location")
    size = hub.file("test-org/large-model", "weights.dat").size
    hub.add_fault({"action": "cut", "after": 1000, "listener": "cdn", "match": "weights.dat"})
    u = urllib.parse.urlsplit(loc)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    c.request("GET", f"{u.path}?{u.query}")
    resp = c.getresponse()
    eq(resp.getheader("Content-Length"), str(size), "cut: full Content-Length announced")
    try:
        resp.read()
        check(False, "cut: body should be incomplete")
    except http.client.IncompleteRead as ex:
        eq(len(ex.partial), 1000, "cut after 1000 bytes")
    c.close()
    r = request("GET", loc, {"Range": "bytes=1000-"})
    eq((r.status, len(r.body)), (206, size - 1000), "resume after the cut")
    hub.add_fault({"action": "corrupt", "offset": 5, "listener": "cdn"})
    r = request("GET", loc, {"Range": "bytes=0-9"})
    good = request("GET", loc, {"Range": "bytes=0-9"})
    check(r.body[5] != good.body[5] and r.body[:5] == good.body[:5], "corrupt flips byte 5")
    hub.add_fault({"action": "latency", "seconds": 0.3, "match": "config.json"})
    t = time.monotonic()
    request("HEAD", url)
    check(time.monotonic() - t >= 0.3, "latency")
    hub.add_fault({"action": "bandwidth", "bytes_per_sec": 400_000, "listener": "cdn"})
    t = time.monotonic()
    r = request("GET", loc, {"Range": "bytes=0-199999"})
    dt = time.monotonic() - t
    check(len(r.body) == 200_000 and 0.4 <= dt < 2.0, f"bandwidth cap: 200 kB at 400 kB/s took {dt:.2f}s")
    hub.add_fault({"action": "stall", "after": 10, "seconds": 0.5, "listener": "cdn"})
    t = time.monotonic()
    try:
        request("GET", loc)
        check(False, "stall: body should be incomplete")
    except http.client.IncompleteRead as ex:
        check(len(ex.partial) == 10 and time.monotonic() - t >= 0.5, "stall sends 10 bytes, hangs, closes")
    hub.add_fault({"action": "drop", "match": "config.json"})
    try:
        request("HEAD", url)
        check(False, "drop: no answer expected")
    except (http.client.RemoteDisconnected, ConnectionError):
        check(True, "drop closes without answer")
    eq(request("HEAD", url).status, 307, "normal again after faults")
    check(hub.requests()["requests"][-2]["faults"] == ["drop"], "fault recorded in the request log")
    hub.add_fault({"action": "replace_body", "match": "/tree/", "body": "[1", "repeat": 3})
    r = request("GET", f"{e}/api/models/test-org/tiny-model/tree/main")
    eq((r.status, r.body), (200, b"[1[1[1"), "replace_body serves the given body")
    hub.add_fault({"action": "replace_body", "status": 404, "match": "/tree/", "body_base64": "/w=="})
    r = request("GET", f"{e}/api/models/test-org/tiny-model/tree/main")
    eq((r.status, r.body), (404, b"\xff"), "replace_body with a status and raw bytes")
    hub.add_fault({"action": "ignore_range", "listener": "cdn"})
    r = request("GET", loc, {"Range": "bytes=1000-"})
    eq((r.status, len(r.body)), (200, size), "ignore_range answers the whole file")
    eq(hub.requests()["requests"][-1]["range"], "bytes=1000-", "the log keeps the Range sent")


@test
def generated_files_parse(hub: fakehub.FakeHub) -> None:
    for repo, path in (("test-org/tiny-model", "model.safetensors"), ("test-org/large-model", "model.safetensors")):
        _, r = follow(hub, "GET", hub.resolve_url(repo, path))
        try:
            h = fakehub.parse_safetensors(r.body)
            check(len(h) > 1, f"{repo}/{path} parses as safetensors ({len(r.body)} bytes)")
        except Exception as ex:
            check(False, f"{repo}/{path} safetensors: {ex}")
    for path in ("model-Q4_K_M.gguf", "model-Q8_0.gguf", "model-Q4_K.gguf",
                 "Q5_K_M/model-Q5_K_M-00001-of-00002.gguf", "Q5_K_M/model-Q5_K_M-00002-of-00002.gguf"):
        _, r = follow(hub, "GET", hub.resolve_url("test-org/tiny-gguf", path))
        try:
            g = fakehub.parse_gguf(r.body)
            ok = g["metadata"]["general.architecture"] == "llama" and g["tensors"]
            if "-of-" in path:
                ok = ok and g["metadata"]["split.count"] == 2
            else:
                ok = ok and g["metadata"]["general.name"] == "tiny"
            check(ok, f"{path} parses as GGUF v3 ({len(g['tensors'])} tensors)")
        except Exception as ex:
            check(False, f"{path} GGUF: {ex}")


@test
def curl_downloads(hub: fakehub.FakeHub) -> None:
    if shutil.which("curl") is None:
        check(False, "curl is not installed")
        return
    cases = [("test-org/tiny-model", "model.safetensors", None), ("test-org/tiny-model", "config.json", None),
             ("test-org/weird-paths", "with space/file name.txt", None),
             ("test-org/weird-paths", "hash#dir/file#1.bin", None),
             ("test-org/gated-model", "model.safetensors", "hf_test_allowed"),
             ("test-org/gated-model", "config.json", "hf_test_allowed")]
    for repo, path, token in cases:
        hub.reset_requests()
        cmd = ["curl", "-sSL", "--fail", hub.resolve_url(repo, path)]
        if token:
            cmd[1:1] = ["-H", f"Authorization: Bearer {token}"]
        p = subprocess.run(cmd, capture_output=True, timeout=60)
        f = hub.file(repo, path)
        eq((p.returncode, sha256(p.stdout)), (0, f.sha256), f"curl -sSL {repo}/{path}")
        if f.lfs:
            eq(hub.requests()["listeners"]["cdn"]["with_auth"], 0, f"curl sent no token to the CDN ({path})")


@test
def cli_mode(hub: fakehub.FakeHub) -> None:
    with tempfile.TemporaryDirectory() as d:
        port_file = Path(d) / "port"
        p = subprocess.Popen([sys.executable, str(HERE / "fakehub.py"), "--world", str(HERE / "worlds" / "test.json"),
                              "--port", "0", "--port-file", str(port_file)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 30
            while not port_file.exists() and time.monotonic() < deadline and p.poll() is None:
                time.sleep(0.05)
            endpoint = port_file.read_text().strip()
            check(endpoint.startswith("http://127.0.0.1:"), f"port file holds the endpoint: {endpoint}")
            r = request("GET", f"{endpoint}/api/models/test-org/tiny-model/revision/main")
            eq(r.json()["sha"], hub.commit_id("test-org/tiny-model", "main"), "CLI hub serves the same world")
        finally:
            p.send_signal(signal.SIGTERM)
            try:
                rc = p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                rc = None
        eq(rc, 0, "CLI exits 0 on SIGTERM")


def big_file() -> None:
    """1 GiB LFS file: generated to disk once, streamed with sendfile, checked with curl."""
    world = {"repos": [{"id": "big/one-gib", "files": {"huge.bin": {"random": 1 << 30}}}]}
    t = time.monotonic()
    with fakehub.FakeHub(world) as hub:
        f = hub.file("big/one-gib", "huge.bin")
        print(f"  (1 GiB world ready in {time.monotonic() - t:.1f}s)")
        t = time.monotonic()
        p = subprocess.run(f"curl -sSL --fail '{hub.resolve_url('big/one-gib', 'huge.bin')}' | sha256sum",
                           shell=True, capture_output=True, text=True, timeout=600)
        eq(p.stdout.split()[0] if p.stdout else "", f.sha256, f"1 GiB via curl ({time.monotonic() - t:.1f}s)")


def main() -> int:
    t0 = time.monotonic()
    with fakehub.FakeHub(HERE / "worlds" / "test.json") as hub:
        for fn in TESTS:
            print(f"{fn.__name__}")
            try:
                hub.clear_faults()
                fn(hub)
            except Exception:
                traceback.print_exc()
                check(False, f"{fn.__name__} raised")
    if "--big" in sys.argv:
        print("big_file")
        big_file()
    print(f"fakehub selftest: {time.monotonic() - t0:.1f}s")
    for f in FAILURES:
        print(f"failed: {f}")
    print(f"{RESULTS['passed']} passed, {RESULTS['failed']} failed")
    return 1 if RESULTS["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
