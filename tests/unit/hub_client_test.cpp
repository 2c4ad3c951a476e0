// SPDX-License-Identifier: MIT
// HubClient against a scripted server, and the HTTP status → Error mapping (§7.3).
#include "http/client.hpp"
#include "hub/client.hpp"
#include "support/http_server.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using hfmodels::Error;
using hfmodels::ErrorKind;
using hfmodels::http::Client;
using hfmodels::http::ClientOptions;
using hfmodels::http::Response;
using hfmodels::hub::CommitId;
using hfmodels::hub::HubClient;
using hfmodels::hub::RepoRef;
using hfmodels::hub::RepoType;
using hfmodels::hub::throw_for_status;
using hfmodels::test::HttpReply;
using hfmodels::test::HttpRequest;
using hfmodels::test::HttpServer;

const std::string commit = "607a30d783dfa663caf39e06633721c8d4cfcd7e";
const std::string sha1_a = "2f9618c3a19b9a61add74f70bfb121335aeef666";
const std::string sha256_a = "72c5c3cb00000000000000000000000000000000000000000000000000b24fb0";
const RepoRef repo{RepoType::model, "org/model"};

HttpReply json_reply(std::string body,
                     std::vector<std::pair<std::string, std::string>> headers = {}) {
  headers.emplace_back("Content-Type", "application/json");
  return HttpReply{200, std::move(headers), std::move(body), {}};
}

// Runs `body` through list_files and returns the error it raises.
Error list_error(const std::string& body) {
  HttpServer server([&body](const HttpRequest&) { return json_reply(body); });
  ClientOptions options;
  Client client(options);
  HubClient hub(client, server.origin());
  try {
    hub.list_files(repo, CommitId(commit));
  } catch (const Error& error) {
    return error;
  }
  ADD_FAILURE() << "accepted " << body;
  return Error(ErrorKind::failure, "");
}

std::string file_entry(const std::string& path, const std::string& extra = "") {
  return R"({"type":"file","oid":")" + sha1_a + R"(","size":554,"path":")" + path + "\"" + extra +
         "}";
}

TEST(HubClient, ResolvesACommit) {
  HttpServer server([](const HttpRequest&) {
    return json_reply(R"({"id":"org/model","sha":")" + commit + R"(","siblings":[]})");
  });
  Client client(ClientOptions{});
  HubClient hub(client, server.origin());
  EXPECT_EQ(hub.resolve_commit(repo, "refs/pr/1").str(), commit);
  EXPECT_EQ(server.requests().at(0).target, "/api/models/org/model/revision/refs%2Fpr%2F1");
  EXPECT_EQ(hub.resolve_commit({RepoType::dataset, "d"}, "main").str(), commit);
  EXPECT_EQ(server.requests().at(1).target, "/api/datasets/d/revision/main");
}

TEST(HubClient, RevisionInfoCarriesTheCardsLicenceAndEveryFile) {
  // Many licences, repeated and long, as dataset cards list them: what the lockfile gets is one
  // expression it can read back (hub::is_license_expression, at most 256 characters).
  std::string licences = R"(["mit","mit","not a licence!"])";
  for (int i = 0; i < 40; ++i) {
    licences.insert(licences.size() - 1, ",\"cc-by-nc-sa-4.0-variant-" + std::to_string(i) + "\"");
  }
  const std::string body = R"({"sha":")" + commit + R"(","gated":"manual","cardData":{"license":)" +
                           licences + R"(},"siblings":[{"rfilename":"b.gguf","size":5,"blobId":")" +
                           std::string(40, 'a') + R"(","lfs":{"sha256":")" + std::string(64, 'c') +
                           R"(","size":5}},{"rfilename":"a.json","size":2,"blobId":")" +
                           std::string(40, 'd') + R"("}]})";
  HttpServer server([&body](const HttpRequest&) { return json_reply(body); });
  Client client(ClientOptions{});
  HubClient hub(client, server.origin());
  const auto info = hub.revision_info(repo, "main", true);
  EXPECT_EQ(server.requests().at(0).target, "/api/models/org/model/revision/main?blobs=true");
  EXPECT_EQ(info.commit.str(), commit);
  EXPECT_EQ(info.gated, "manual");
  EXPECT_TRUE(info.license.starts_with("mit OR cc-by-nc-sa-4.0-variant-0 OR ")) << info.license;
  EXPECT_LE(info.license.size(), 256u);
  EXPECT_TRUE(hfmodels::hub::is_license_expression(info.license));
  ASSERT_EQ(info.files.size(), 2u);
  EXPECT_EQ(info.files[0].path.str(), "a.json") << "sorted by path";
  EXPECT_FALSE(info.files[0].is_lfs());
  EXPECT_EQ(info.files[1].etag().str(), std::string(64, 'c'));
}

TEST(HubClient, RefusesDeeplyNestedAnswersBeforeParsing) {
  const Error deep = list_error(std::string(100000, '[') + std::string(100000, ']'));
  EXPECT_NE(deep.why().find("nested more than 64 levels"), std::string::npos) << deep.why();
  // Brackets inside strings do not count.
  const Error quoted = list_error("[" + file_entry(std::string(100, '[') + "x") + ", 1]");
  EXPECT_NE(quoted.why().find("not an object"), std::string::npos) << quoted.why();
}

TEST(HubClient, RejectsBadCommitIds) {
  for (const std::string& body :
       {std::string(R"({"sha":"abc"})"), std::string(R"({"sha":null})"), std::string("{}"),
        std::string("[]"), std::string("not json"), R"({"sha":")" + std::string(40, 'A') + "\"}"}) {
    HttpServer server([&body](const HttpRequest&) { return json_reply(body); });
    Client client(ClientOptions{});
    HubClient hub(client, server.origin());
    try {
      hub.resolve_commit(repo, "main");
      ADD_FAILURE() << "accepted " << body;
    } catch (const Error& error) {
      EXPECT_EQ(error.kind(), ErrorKind::network);
      EXPECT_EQ(error.summary(), "the Hub sent an invalid answer") << body;
      EXPECT_EQ(error.subject(), "org/model@main");
    }
  }
}

TEST(HubClient, RejectsACommitThatIsNotTheOneAskedFor) {
  HttpServer server([](const HttpRequest&) { return json_reply(R"({"sha":")" + commit + "\"}"); });
  Client client(ClientOptions{});
  HubClient hub(client, server.origin());
  EXPECT_THROW(hub.resolve_commit(repo, std::string(40, 'b')), Error);
}

TEST(HubClient, ResolveCommitMapsHubErrors) {
  HttpServer server([](const HttpRequest&) {
    return HttpReply{
        404, {{"X-Error-Code", "RevisionNotFound"}}, R"({"error":"Invalid rev id: nope"})", {}};
  });
  Client client(ClientOptions{});
  HubClient hub(client, server.origin());
  try {
    hub.resolve_commit(repo, "nope");
    FAIL() << "no error";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::network);
    EXPECT_EQ(error.summary(), "revision not found");
    EXPECT_EQ(error.subject(), "org/model@nope");
    EXPECT_NE(error.why().find("Invalid rev id: nope"), std::string::npos);
  }
}

TEST(HubClient, ListsFilesAcrossPages) {
  std::unique_ptr<HttpServer> server;
  server = std::make_unique<HttpServer>([&server](const HttpRequest& request) {
    if (request.target.find("cursor=") == std::string::npos) {
      return json_reply(
          "[" + file_entry("z.json") + R"(,{"type":"directory","oid":")" + sha1_a +
              R"(","size":0,"path":"onnx"},)" +
              file_entry("onnx/model.onnx",
                         R"(,"lfs":{"oid":")" + sha256_a + R"(","size":554,"pointerSize":135})") +
              "]",
          {{"Link", "<" +
                        server->url("/api/models/org/model/tree/" + commit +
                                    "?recursive=true&expand=false&cursor=abc%3D") +
                        ">; rel=\"next\""}});
    }
    return json_reply("[" + file_entry("a b#1.txt") + R"(,{"type":"unknown","path":"?"}])",
                      {{"Link", "<" + server->url("/x") + ">; rel=\"prev\""}});
  });
  Client client(ClientOptions{});
  HubClient hub(client, server->origin());
  const auto files = hub.list_files(repo, CommitId(commit));
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(files[0].path.str(), "a b#1.txt");
  EXPECT_EQ(files[1].path.str(), "onnx/model.onnx");
  EXPECT_EQ(files[2].path.str(), "z.json");
  EXPECT_TRUE(files[1].is_lfs());
  EXPECT_EQ(files[1].etag().str(), sha256_a);
  EXPECT_EQ(files[1].blob_id.str(), sha1_a);
  EXPECT_FALSE(files[2].is_lfs());
  EXPECT_EQ(files[2].etag().str(), sha1_a);
  EXPECT_EQ(files[2].size, 554u);
  const auto requests = server->requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].target,
            "/api/models/org/model/tree/" + commit + "?recursive=true&expand=false");
  EXPECT_EQ(requests[1].target,
            "/api/models/org/model/tree/" + commit + "?recursive=true&expand=false&cursor=abc%3D");
}

TEST(HubClient, RejectsInvalidListings) {
  const std::string lfs_ok = R"(,"lfs":{"oid":")" + sha256_a + R"(","size":554})";
  const std::vector<std::string> bad = {
      "not json",
      "{}",
      "[1]",
      R"([{"path":"x"}])",
      R"([{"type":"symlink","path":"x"}])",
      "[" + file_entry("../escape") + "]",
      "[" + file_entry("/etc/passwd") + "]",
      "[" + file_entry("a\\\\b") + "]",
      "[" + file_entry("a//b") + "]",
      "[" + file_entry("x") + "," + file_entry("x") + "]",
      R"([{"type":"file","oid":")" + sha1_a + R"(","size":-1,"path":"x"}])",
      R"([{"type":"file","oid":")" + sha1_a + R"(","size":1.5,"path":"x"}])",
      R"([{"type":"file","oid":")" + sha1_a + R"(","size":"1","path":"x"}])",
      R"([{"type":"file","oid":"abc","size":1,"path":"x"}])",
      R"([{"type":"file","size":1,"path":"x"}])",
      "[" + file_entry("x", R"(,"lfs":{"oid":"abc","size":554})") + "]",
      "[" + file_entry("x", R"(,"lfs":{"oid":")" + sha256_a + R"(","size":555})") + "]",
      "[" + file_entry("x", R"(,"lfs":"yes")") + "]",
  };
  for (const std::string& body : bad) {
    const Error error = list_error(body);
    EXPECT_EQ(error.kind(), ErrorKind::network) << body;
    EXPECT_EQ(error.summary(), "the Hub sent an invalid answer") << body;
    EXPECT_EQ(error.subject(), "org/model@" + commit) << body;
  }
  // The same entry with a valid lfs block is fine.
  HttpServer server(
      [&](const HttpRequest&) { return json_reply("[" + file_entry("x", lfs_ok) + "]"); });
  Client client(ClientOptions{});
  HubClient hub(client, server.origin());
  EXPECT_EQ(hub.list_files(repo, CommitId(commit)).size(), 1u);
}

TEST(HubClient, RejectsPaginationLoops) {
  std::unique_ptr<HttpServer> server;
  server = std::make_unique<HttpServer>([&server](const HttpRequest& request) {
    return json_reply("[]", {{"Link", "<" + server->url(request.target) + ">; rel=\"next\""}});
  });
  Client client(ClientOptions{});
  HubClient hub(client, server->origin());
  EXPECT_THROW(hub.list_files(repo, CommitId(commit)), Error);
}

TEST(HubClient, ListsRefs) {
  HttpServer server([](const HttpRequest&) {
    return json_reply(R"({"branches":[{"name":"main","ref":"refs/heads/main","targetCommit":")" +
                      commit +
                      R"("}],"tags":[{"name":"v1.0","ref":"refs/tags/v1.0","targetCommit":")" +
                      commit + R"("}],"converts":[]})");
  });
  Client client(ClientOptions{});
  HubClient hub(client, server.origin());
  const auto refs = hub.list_refs({RepoType::dataset, "org/data"});
  EXPECT_EQ(refs.branches, std::vector<std::string>{"main"});
  EXPECT_EQ(refs.tags, std::vector<std::string>{"v1.0"});
  EXPECT_EQ(server.requests().at(0).target, "/api/datasets/org/data/refs");
}

// --- throw_for_status ---------------------------------------------------------------------------

Response response(long status, std::vector<std::pair<std::string, std::string>> headers,
                  std::string body = {},
                  std::string url = "https://huggingface.co/org/model/resolve/main/f.bin") {
  Response result;
  result.status = status;
  for (const auto& [name, value] : headers) {
    result.headers.add(name, value);
  }
  result.body = std::move(body);
  result.url = std::move(url);
  return result;
}

Error status_error(const Response& answer, std::string_view page = {}) {
  try {
    throw_for_status(answer, "org/model@main", page);
  } catch (const Error& error) {
    return error;
  }
  ADD_FAILURE() << "no error for HTTP " << answer.status;
  return Error(ErrorKind::failure, "");
}

TEST(HubErrors, SuccessIsNotAnError) {
  EXPECT_NO_THROW(throw_for_status(response(200, {}), "x"));
  EXPECT_NO_THROW(throw_for_status(response(206, {}), "x"));
}

TEST(HubErrors, GatedRepos) {
  const Error anonymous = status_error(response(
      401, {{"X-Error-Code", "GatedRepo"}, {"X-Error-Message", "You must be authenticated"}}));
  EXPECT_EQ(anonymous.kind(), ErrorKind::network);
  EXPECT_TRUE(anonymous.summary().starts_with("the repo is gated")) << anonymous.summary();
  // Facts and the Hub's own page; what to set is the command line's to say (cli/advice).
  EXPECT_EQ(anonymous.hint(), "Request access at https://huggingface.co/org/model");
  EXPECT_EQ(anonymous.cause(), "http:401:GatedRepo");
  EXPECT_EQ(anonymous.subject(), "org/model@main");

  const Error not_approved =
      status_error(response(403, {{"X-Error-Code", "GatedRepo"}}, "", "http://h/api/models/x"),
                   "http://h/datasets/org/data");
  EXPECT_TRUE(not_approved.summary().starts_with("the repo is gated"));
  EXPECT_NE(not_approved.hint().find("http://h/datasets/org/data"), std::string::npos);
}

TEST(HubErrors, RepoNotFoundAndPlain401) {
  for (const Response& answer :
       {response(404, {{"X-Error-Code", "RepoNotFound"}}), response(401, {}),
        response(401, {}, R"({"error":"Repository Not Found for url"})")}) {
    const Error error = status_error(answer);
    EXPECT_EQ(error.kind(), ErrorKind::network);
    EXPECT_EQ(error.summary(), "repository not found (or private / gated)");
    EXPECT_EQ(error.hint().find("HF_TOKEN"), std::string::npos) << "no variable below the cli";
    EXPECT_NE(error.hint().find("Check the name"), std::string::npos);
  }
}

TEST(HubErrors, BadToken) {
  const Error error = status_error(
      response(401, {{"X-Error-Message", "Invalid credentials in Authorization header"}}));
  EXPECT_EQ(error.summary(), "the Hub rejected the token");
  const Error from_body =
      status_error(response(401, {}, R"({"error":"Invalid credentials in Authorization header"})"));
  EXPECT_EQ(from_body.summary(), "the Hub rejected the token");
  EXPECT_EQ(from_body.cause(), "http:401:bad-token");
}

TEST(HubErrors, RevisionAndEntryNotFound) {
  EXPECT_EQ(status_error(response(404, {{"X-Error-Code", "RevisionNotFound"}})).summary(),
            "revision not found");
  EXPECT_EQ(status_error(response(404, {{"X-Error-Code", "EntryNotFound"}})).summary(),
            "file not found in the repository");
}

TEST(HubErrors, DisabledForbiddenAndBadRequest) {
  EXPECT_EQ(
      status_error(response(403, {{"X-Error-Message", "Access to this resource is disabled."}}))
          .summary(),
      "the repository is disabled");
  const Error forbidden = status_error(response(403, {}));
  EXPECT_EQ(forbidden.summary(), "access denied");
  EXPECT_NE(forbidden.hint().find("correct permissions"), std::string::npos);
  EXPECT_EQ(status_error(response(400, {})).kind(), ErrorKind::network);
}

TEST(HubErrors, RateLimits) {
  const Error error = status_error(
      response(429, {{"RateLimit", "\"resolvers\";r=0;t=172"},
                     {"RateLimit-Policy", "\"fixed window\";\"resolvers\";q=3000;w=300"},
                     {"X-Request-Id", "req-1"}}));
  EXPECT_EQ(error.summary(), "rate limited by the Hub");
  EXPECT_EQ(error.why(), "you have reached your 'resolvers' rate limit. Retry after 172 seconds "
                         "(0/3000 requests remaining in current 300s window) (HTTP 429, request "
                         "id req-1)");
  EXPECT_EQ(error.hint().find("HF_TOKEN"), std::string::npos);
  EXPECT_TRUE(error.cause().starts_with("http:429")) << error.cause();
  const Error retry_after = status_error(response(429, {{"Retry-After", "30"}}));
  EXPECT_NE(retry_after.why().find("retry after 30 seconds"), std::string::npos);
}

TEST(HubErrors, ServerErrorsCarryMessagesAndRequestIds) {
  const Error error =
      status_error(response(503, {{"X-Request-Id", "Root=1-2"}, {"X-Error-Message", "overloaded"}},
                            R"({"error":"overloaded","errors":[{"message":"try later"}]})"));
  EXPECT_EQ(error.kind(), ErrorKind::network);
  EXPECT_EQ(error.why(), "HTTP 503: overloaded; try later (request id Root=1-2)");
  const Error cf = status_error(response(502, {{"X-Amz-Cf-Id", "cf-9"}}));
  EXPECT_NE(cf.why().find("cf-9"), std::string::npos);
}

TEST(HubErrors, OtherStatusesNameTheUrlWithoutItsQuery) {
  const Error error =
      status_error(response(404, {}, "<html>", "https://cdn.example/blob?Signature=secret"));
  EXPECT_EQ(error.kind(), ErrorKind::network);
  EXPECT_NE(error.why().find("https://cdn.example/blob"), std::string::npos);
  EXPECT_EQ(std::string(error.what()).find("secret"), std::string::npos);
}

} // namespace
