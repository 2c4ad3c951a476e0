// SPDX-License-Identifier: MIT
// The download engine against real sockets (tests/unit/support): what it asks for, what it
// writes, and how each failure ends.
#include "cache/cache.hpp"
#include "hash/sha256.hpp"
#include "support/http_server.hpp"
#include "support/temp_dir.hpp"
#include "transfer/engine.hpp"
#include "transfer/partial.hpp"
#include "util/cancel.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;
using hfmodels::Error;
using hfmodels::ErrorKind;
using hfmodels::cache::File;
using hfmodels::cache::TempBlob;
using hfmodels::test::HttpReply;
using hfmodels::test::HttpRequest;
using hfmodels::test::HttpServer;
using namespace hfmodels::transfer;

const std::string token = "hf_secretTOKEN123";

std::string make_body(std::size_t size) {
  std::string body(size, '\0');
  for (std::size_t i = 0; i < size; ++i) {
    body[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  }
  return body;
}

std::string sha256_of(const std::string& data) {
  hfmodels::hash::Sha256 hasher;
  hasher.update(data.data(), data.size());
  return hasher.hex_digest();
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A request's `Range: bytes=a-b`, as [a, b + 1).
std::optional<ByteRange> asked_range(const HttpRequest& request) {
  const auto header = request.header("range");
  if (!header || !header->starts_with("bytes=")) {
    return std::nullopt;
  }
  const std::string spec = header->substr(6);
  const auto dash = spec.find('-');
  std::uint64_t first = 0;
  std::uint64_t last = 0;
  std::from_chars(spec.data(), spec.data() + dash, first);
  std::from_chars(spec.data() + dash + 1, spec.data() + spec.size(), last);
  return ByteRange{first, last + 1};
}

// What a server that honours Range answers for `body`.
HttpReply serve(const std::string& body, const HttpRequest& request) {
  const auto range = asked_range(request);
  if (!range) {
    return HttpReply{200, {}, body, std::nullopt};
  }
  const std::uint64_t end = std::min<std::uint64_t>(range->end, body.size());
  return HttpReply{
      206,
      {{"Content-Range", "bytes " + std::to_string(range->begin) + "-" + std::to_string(end - 1) +
                             "/" + std::to_string(body.size())}},
      body.substr(range->begin, end - range->begin),
      std::nullopt};
}

// A task over a temporary in a test folder; records how it ended.
class TestTask : public FileTask {
public:
  TestTask(const fs::path& dir, FileSpec spec) : m_spec(std::move(spec)) {
    const fs::path path = dir / "file.incomplete";
    m_temp = std::make_unique<TempBlob>(File::open(path, File::Open::create_read_write));
  }

  const FileSpec& spec() const override { return m_spec; }
  Start start() override {
    start_thread = std::this_thread::get_id();
    ++starts;
    if (starts <= later_times) {
      return Start::later;
    }
    return not_needed ? Start::not_needed : Start::now;
  }
  TempBlob& temporary() override { return *m_temp; }
  void finish(const Downloaded* result, const Error* failure, bool prefix) override {
    finish_thread = std::this_thread::get_id();
    ++finishes;
    if (result != nullptr) {
      downloaded = *result;
    }
    if (failure != nullptr) {
      error = *failure;
    }
    prefix_only = prefix;
  }

  std::string contents() const { return read_file(m_temp->path()); }
  fs::path path() const { return m_temp->path(); }

  int later_times = 0;
  bool not_needed = false;
  std::thread::id start_thread;
  std::thread::id finish_thread;
  int starts = 0;
  int finishes = 0;
  std::optional<Downloaded> downloaded;
  std::optional<Error> error;
  bool prefix_only = false;

private:
  FileSpec m_spec;
  std::unique_ptr<TempBlob> m_temp;
};

class NoEvents : public Events {
public:
  void started(std::size_t, std::uint64_t resumed_bytes) override { resumed = resumed_bytes; }
  void progress(const FileProgress&, const TotalProgress&) override {}
  void finished(std::size_t, bool ok) override { ended_ok = ok; }
  std::uint64_t resumed = 0;
  std::optional<bool> ended_ok;
};

EngineOptions fast_options() {
  EngineOptions options;
  options.client.user_agent = "hfmodels-test/1";
  options.client.connect_timeout_seconds = 5;
  options.client.idle_timeout_seconds = 5;
  options.retry.base = std::chrono::milliseconds(1);
  options.retry.cap = std::chrono::milliseconds(4);
  return options;
}

// Segmented from 256 KiB on, in 64 KiB pieces, four connections.
EngineOptions segmented_options() {
  EngineOptions options = fast_options();
  options.segmented_from = 256u << 10;
  options.piece = 64u << 10;
  options.connections = 4;
  options.connections_per_file = 4;
  return options;
}

FileSpec spec_for(const std::string& url, const std::string& body) {
  FileSpec spec;
  spec.sources = {{url, {}}};
  spec.subject = "org/model/file.bin";
  spec.size = body.size();
  spec.sha256 = sha256_of(body);
  return spec;
}

class EngineTest : public ::testing::Test {
protected:
  void SetUp() override { m_dir = hfmodels::test::make_temp_dir("engine"); }
  void TearDown() override { fs::remove_all(m_dir); }

  void run(TestTask& task, const EngineOptions& options, std::stop_token stop = {}) {
    run(task, options, m_events, std::move(stop));
  }
  static void run(TestTask& task, const EngineOptions& options, Events& events,
                  std::stop_token stop = {}) {
    std::vector<FileTask*> tasks{&task};
    download(tasks, options, events, std::move(stop));
  }

  fs::path m_dir;
  NoEvents m_events;
};

TEST_F(EngineTest, SmallFileIsOnePlainGet) {
  const std::string body = make_body(100000);
  HttpServer server([&](const HttpRequest& request) { return serve(body, request); });
  TestTask task(m_dir, spec_for(server.url("/file"), body));
  run(task, fast_options());

  ASSERT_TRUE(task.downloaded) << (task.error ? task.error->what() : "");
  EXPECT_EQ(task.downloaded->sha256, sha256_of(body));
  EXPECT_EQ(task.downloaded->received, body.size());
  EXPECT_TRUE(task.contents() == body);
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_FALSE(server.requests()[0].header("range")) << "the whole file needs no Range";
  EXPECT_FALSE(fs::exists(task.temporary().record_path())) << "a finished file has no record";
}

TEST_F(EngineTest, StartingAndFinishingAFileRunOffTheLoop) {
  // Their filesystem work (a lock, a temporary, a rename, a link) costs about a millisecond a
  // file on a slow disk, which every other transfer waited for on the loop (bench/ANALYSIS.md).
  const std::string body = make_body(1000);
  HttpServer server([&](const HttpRequest& request) { return serve(body, request); });
  TestTask task(m_dir, spec_for(server.url("/file"), body));
  run(task, fast_options());

  ASSERT_TRUE(task.downloaded) << (task.error ? task.error->what() : "");
  EXPECT_NE(task.start_thread, std::this_thread::get_id());
  EXPECT_NE(task.finish_thread, std::this_thread::get_id());
}

TEST_F(EngineTest, SegmentsAskEachByteOnceAndEndTogether) {
  // Answers go out two at a time, so that requests of two connections end in the same round of
  // the loop: that once crashed the engine (a connection freed with its message still to read,
  // its bytes all written, as happens when a request is a multiple of the write size).
  const std::string body = make_body(4u << 20);
  EngineOptions options = segmented_options();
  options.piece = 256u << 10;
  for (int round = 0; round < 20; ++round) {
    std::mutex mutex;
    std::condition_variable paired;
    int waiting = 0;
    HttpServer server(
        [&](const HttpRequest& request) {
          std::unique_lock lock(mutex);
          if (++waiting % 2 == 0) {
            paired.notify_all();
          } else {
            paired.wait_for(lock, std::chrono::milliseconds(100));
          }
          return serve(body, request);
        },
        /*concurrent=*/true);
    const fs::path dir = m_dir / std::to_string(round);
    fs::create_directories(dir);
    TestTask task(dir, spec_for(server.url("/file"), body));
    run(task, options);

    ASSERT_TRUE(task.downloaded) << (task.error ? task.error->what() : "");
    EXPECT_TRUE(task.contents() == body);
    std::vector<bool> asked(body.size(), false);
    for (const HttpRequest& request : server.requests()) {
      const auto range = asked_range(request);
      ASSERT_TRUE(range) << "a segmented file is asked in ranges";
      for (std::uint64_t i = range->begin; i < range->end; ++i) {
        ASSERT_FALSE(asked[i]) << "byte " << i << " asked twice";
        asked[i] = true;
      }
    }
    EXPECT_EQ(std::count(asked.begin(), asked.end(), true), static_cast<long>(body.size()));
  }
}

TEST_F(EngineTest, RedirectCarriesNoTokenAndLaterRequestsGoStraightToIt) {
  const std::string body = make_body(1u << 20);
  HttpServer cdn([&](const HttpRequest& request) { return serve(body, request); });
  HttpServer hub([&](const HttpRequest&) {
    return HttpReply{302, {{"Location", cdn.url("/signed?x=1")}}, "", std::nullopt};
  });
  EngineOptions options = segmented_options();
  options.client.token = token;
  options.client.token_origin = hub.origin();
  TestTask task(m_dir, spec_for(hub.url("/org/model/resolve/abc/file.bin"), body));
  run(task, options);

  ASSERT_TRUE(task.downloaded) << (task.error ? task.error->what() : "");
  EXPECT_TRUE(task.contents() == body);
  for (const HttpRequest& request : hub.requests()) {
    EXPECT_EQ(request.header("authorization").value_or(""), "Bearer " + token);
  }
  for (const HttpRequest& request : cdn.requests()) {
    EXPECT_FALSE(request.header("authorization")) << "the token never leaves the Hub";
    EXPECT_EQ(request.target, "/signed?x=1");
  }
  EXPECT_EQ(hub.requests().size(), 1u)
      << "once resolved, every segment goes to the CDN URL without asking the Hub";
  EXPECT_GE(cdn.requests().size(), 4u);
}

TEST_F(EngineTest, ACutTransferIsContinuedFromWhereItStopped) {
  const std::string body = make_body(200000);
  std::atomic<int> count{0};
  HttpServer server([&](const HttpRequest& request) {
    HttpReply reply = serve(body, request);
    if (count++ == 0) {
      reply.cut_after = 70000;
    }
    return reply;
  });
  TestTask task(m_dir, spec_for(server.url("/file"), body));
  run(task, fast_options());

  ASSERT_TRUE(task.downloaded) << (task.error ? task.error->what() : "");
  EXPECT_TRUE(task.contents() == body);
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  const auto second = asked_range(requests[1]);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->begin, 70000u) << "bytes that arrived are not asked again";
  EXPECT_EQ(second->end, body.size());
}

TEST_F(EngineTest, AFileWhoseLastRequestBrokeAfterItsLastByteIsFinished) {
  // The server announces more than it sends, then closes: libcurl reports the transfer as cut,
  // but every byte of the file is in.
  const std::string body = make_body(200000);
  HttpServer server([&](const HttpRequest&) {
    return HttpReply{200, {}, body + "more", body.size()};
  });
  TestTask task(m_dir, spec_for(server.url("/file"), body));
  run(task, fast_options());

  ASSERT_TRUE(task.downloaded) << (task.error ? task.error->what() : "");
  EXPECT_TRUE(task.contents() == body);
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST_F(EngineTest, ABlipThatBreaksEveryConnectionAtOnceCostsEachOneTry) {
  const std::string body = make_body(2u << 20);
  std::atomic<int> count{0};
  HttpServer server(
      [&](const HttpRequest& request) {
        HttpReply reply = serve(body, request);
        const int number = ++count;
        if (number >= 2 && number <= 4) {
          reply.cut_after = 0; // three requests in a row break off
        }
        return reply;
      },
      /*concurrent=*/true);
  EngineOptions options = segmented_options();
  options.retry.max_retries = 1;
  TestTask task(m_dir, spec_for(server.url("/file"), body));
  run(task, options);

  ASSERT_TRUE(task.downloaded) << (task.error ? task.error->what() : "");
  EXPECT_TRUE(task.contents() == body);
}

TEST_F(EngineTest, AFailedFileLeavesNoUntrustedBytesPastItsPrefix) {
  // A partial without its record (it was lost) whose first segment stops at 1 MiB, with bytes of
  // a later segment at 3 MiB: only the prefix is trusted.
  const std::string body = make_body(4u << 20);
  {
    const int fd = ::open((m_dir / "file.incomplete").c_str(), O_RDWR | O_CREAT, 0644);
    ASSERT_EQ(::pwrite(fd, body.data(), 1u << 20, 0), 1 << 20);
    ASSERT_EQ(::pwrite(fd, body.data() + (3u << 20), 1u << 20, 3u << 20), 1 << 20);
    ::close(fd);
  }
  HttpServer server([](const HttpRequest&) {
    return HttpReply{404, {{"X-Error-Code", "EntryNotFound"}}, "gone", std::nullopt};
  });
  TestTask task(m_dir, spec_for(server.url("/file"), body));
  run(task, fast_options());

  ASSERT_TRUE(task.error);
  ASSERT_TRUE(task.prefix_only);
  const std::string kept = task.contents();
  EXPECT_LE(kept.size(), 1u << 20) << "Python would take every byte up to the size for a prefix";
  EXPECT_GT(kept.size(), 0u);
  EXPECT_TRUE(kept == body.substr(0, kept.size()));
}

TEST_F(EngineTest, AResumedFileAsksOnlyForWhatItLacks) {
  const std::string body = make_body(3u << 20);
  {
    // A first run stopped after two blocks (1 MiB each) with its record.
    HttpServer server([&](const HttpRequest& request) {
      HttpReply reply = serve(body, request);
      reply.cut_after = (2u << 20) + 1000;
      return reply;
    });
    EngineOptions options = fast_options();
    options.retry.max_retries = 0;
    TestTask task(m_dir, spec_for(server.url("/file"), body));
    run(task, options);
    ASSERT_TRUE(task.error);
    task.temporary().release(); // keep the partial for the next run
  }
  HttpServer server([&](const HttpRequest& request) { return serve(body, request); });
  TestTask task(m_dir, spec_for(server.url("/file"), body));
  run(task, fast_options());

  ASSERT_TRUE(task.downloaded) << (task.error ? task.error->what() : "");
  EXPECT_TRUE(task.contents() == body);
  EXPECT_EQ(m_events.resumed, (2u << 20) + 1000);
  EXPECT_EQ(task.downloaded->received, body.size() - m_events.resumed);
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(asked_range(server.requests()[0])->begin, (2u << 20) + 1000);
}

TEST_F(EngineTest, ACorruptedBlockOfTheRecordIsFetchedAgain) {
  const std::string body = make_body(3u << 20);
  {
    HttpServer server([&](const HttpRequest& request) {
      HttpReply reply = serve(body, request);
      reply.cut_after = 2u << 20;
      return reply;
    });
    EngineOptions options = fast_options();
    options.retry.max_retries = 0;
    TestTask task(m_dir, spec_for(server.url("/file"), body));
    run(task, options);
    ASSERT_TRUE(task.error);
    task.temporary().release();
  }
  {
    // The second block's bytes changed on disk (zeroed, as after a power cut).
    std::fstream file(m_dir / "file.incomplete", std::ios::in | std::ios::out | std::ios::binary);
    file.seekp((1u << 20) + 10);
    file.write("\0\0\0\0", 4);
  }
  HttpServer server([&](const HttpRequest& request) { return serve(body, request); });
  TestTask task(m_dir, spec_for(server.url("/file"), body));
  run(task, fast_options());

  ASSERT_TRUE(task.downloaded) << (task.error ? task.error->what() : "");
  EXPECT_TRUE(task.contents() == body);
  EXPECT_EQ(m_events.resumed, 1u << 20) << "only the block that checks out is kept";
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(asked_range(server.requests()[0])->begin, 1u << 20);
}

TEST_F(EngineTest, AServerThatIgnoresRangeIsReadFromTheStart) {
  const std::string body = make_body(200000);
  std::atomic<int> count{0};
  HttpServer server([&](const HttpRequest&) {
    if (count++ == 0) {
      return HttpReply{200, {}, body, 50000}; // cut, so that the next request has a Range
    }
    return HttpReply{200, {}, body, std::nullopt}; // Range ignored
  });
  TestTask task(m_dir, spec_for(server.url("/file"), body));
  run(task, fast_options());

  ASSERT_TRUE(task.downloaded) << (task.error ? task.error->what() : "");
  EXPECT_TRUE(task.contents() == body) << "the whole body is not appended to the first 50000 bytes";
  ASSERT_EQ(server.requests().size(), 2u);
  EXPECT_TRUE(asked_range(server.requests()[1]));
}

TEST_F(EngineTest, AWrongContentRangeIsNeverWritten) {
  const std::string body = make_body(200000);
  std::atomic<int> count{0};
  HttpServer server([&](const HttpRequest& request) {
    if (count++ == 0) {
      return HttpReply{200, {}, body, 50000};
    }
    // Bytes from the start, labelled as what was asked.
    const auto range = asked_range(request);
    return HttpReply{206,
                     {{"Content-Range", "bytes 0-" + std::to_string(range->end - range->begin - 1) +
                                            "/" + std::to_string(body.size())}},
                     body.substr(0, range->end - range->begin),
                     std::nullopt};
  });
  TestTask task(m_dir, spec_for(server.url("/file"), body));
  run(task, fast_options());

  ASSERT_TRUE(task.error);
  EXPECT_EQ(task.error->kind(), ErrorKind::network);
  EXPECT_NE(std::string(task.error->what()).find("wrong part"), std::string::npos)
      << task.error->what();
  EXPECT_TRUE(task.contents() == body.substr(0, 50000)) << "nothing of the wrong answer is written";
  EXPECT_EQ(server.requests().size(), 2u) << "a server that mislabels bytes is not asked again";
}

TEST_F(EngineTest, ASizeOtherThanTheLockedOneIsAnIntegrityError) {
  const std::string body = make_body(200000);
  const std::string other = make_body(300000);
  std::atomic<int> count{0};
  HttpServer server([&](const HttpRequest& request) {
    if (count++ == 0) {
      return HttpReply{200, {}, body, 50000};
    }
    return serve(other, request);
  });
  TestTask task(m_dir, spec_for(server.url("/file"), body));
  run(task, fast_options());

  ASSERT_TRUE(task.error);
  EXPECT_EQ(task.error->kind(), ErrorKind::integrity);
  EXPECT_EQ(server.requests().size(), 2u) << "asking again cannot change the file's size";
}

TEST_F(EngineTest, AHashMismatchIsDownloadedOnceMoreThenReported) {
  const std::string body = make_body(200000);
  std::string wrong = body;
  wrong[123456] ^= 1;
  HttpServer server([&](const HttpRequest& request) { return serve(wrong, request); });
  TestTask task(m_dir, spec_for(server.url("/file"), body));
  run(task, fast_options());

  ASSERT_TRUE(task.error);
  EXPECT_EQ(task.error->kind(), ErrorKind::integrity);
  EXPECT_EQ(task.error->cause(), "integrity:hash");
  EXPECT_EQ(server.requests().size(), 2u);
  for (const HttpRequest& request : server.requests()) {
    EXPECT_FALSE(request.header("range")) << "the second download starts from the first byte";
  }
}

TEST_F(EngineTest, TheGitBlobIdIsCheckedToo) {
  const std::string body = make_body(5000);
  HttpServer server([&](const HttpRequest& request) { return serve(body, request); });
  FileSpec spec = spec_for(server.url("/file"), body);
  spec.sha256.reset();
  spec.git_sha1 = std::string(40, '0');
  TestTask task(m_dir, spec);
  run(task, fast_options());

  ASSERT_TRUE(task.error);
  EXPECT_EQ(task.error->kind(), ErrorKind::integrity);
  EXPECT_NE(std::string(task.error->what()).find("git blob id"), std::string::npos);
}

TEST_F(EngineTest, NotFoundIsNotAskedAgain) {
  HttpServer server([](const HttpRequest&) {
    return HttpReply{404, {{"X-Error-Code", "EntryNotFound"}}, "gone", std::nullopt};
  });
  FileSpec spec;
  spec.sources = {{server.url("/file"), {}}};
  spec.subject = "org/model/file.bin";
  spec.size = 10;
  TestTask task(m_dir, spec);
  run(task, fast_options());

  ASSERT_TRUE(task.error);
  EXPECT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(task.error->subject(), "org/model/file.bin");
}

TEST_F(EngineTest, ABusyServerIsAskedAgainAfterTheWaitItNames) {
  const std::string body = make_body(1000);
  std::atomic<int> count{0};
  HttpServer server([&](const HttpRequest& request) {
    if (count++ == 0) {
      return HttpReply{503, {{"Retry-After", "0"}}, "busy", std::nullopt};
    }
    return serve(body, request);
  });
  TestTask task(m_dir, spec_for(server.url("/file"), body));
  run(task, fast_options());

  ASSERT_TRUE(task.downloaded) << (task.error ? task.error->what() : "");
  EXPECT_EQ(server.requests().size(), 2u);
}

TEST_F(EngineTest, RetriesEndWhenNothingMoves) {
  // A server that sends a few bytes and breaks off, for ever: each try makes too little progress
  // to earn more retries.
  const std::string body = make_body(200000);
  HttpServer server([&](const HttpRequest& request) {
    HttpReply reply = serve(body, request);
    reply.cut_after = 10;
    return reply;
  });
  EngineOptions options = fast_options();
  options.retry.max_retries = 3;
  TestTask task(m_dir, spec_for(server.url("/file"), body));
  run(task, options);

  ASSERT_TRUE(task.error);
  EXPECT_EQ(server.requests().size(), 4u);
  EXPECT_NE(std::string(task.error->what()).find("tried 4 times"), std::string::npos)
      << task.error->what();
  EXPECT_TRUE(task.prefix_only);
  EXPECT_EQ(task.contents().size(), 40u) << "what arrived is kept for the next run";
}

TEST_F(EngineTest, AnExpiredCdnUrlSendsTheFileBackToTheHub) {
  const std::string body = make_body(1u << 20);
  std::atomic<int> cdn_count{0};
  HttpServer cdn([&](const HttpRequest& request) {
    HttpReply reply = serve(body, request);
    if (cdn_count++ == 0) {
      reply.cut_after = 100000;
    } else if (cdn_count == 2) {
      return HttpReply{403, {}, "Request has expired", std::nullopt};
    }
    return reply;
  });
  HttpServer hub([&](const HttpRequest&) {
    return HttpReply{302, {{"Location", cdn.url("/signed")}}, "", std::nullopt};
  });
  TestTask task(m_dir, spec_for(hub.url("/resolve/file"), body));
  run(task, fast_options());

  ASSERT_TRUE(task.downloaded) << (task.error ? task.error->what() : "");
  EXPECT_TRUE(task.contents() == body);
  EXPECT_EQ(hub.requests().size(), 2u) << "a fresh URL from the Hub after the 403";
  EXPECT_EQ(cdn.requests().size(), 3u);
}

TEST_F(EngineTest, AStopEndsTheRunWithTheBytesKept) {
  const std::string body = make_body(4u << 20);
  std::stop_source stop;
  std::atomic<int> count{0};
  HttpServer server([&](const HttpRequest& request) {
    HttpReply reply = serve(body, request);
    if (count++ == 0) {
      reply.cut_after = 1500000;
    } else {
      // The retry waits for its answer: the stop comes meanwhile.
      stop.request_stop();
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
    return reply;
  });
  TestTask task(m_dir, spec_for(server.url("/file"), body));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(run(task, fast_options(), stop.get_token()), hfmodels::util::Cancelled);

  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(280))
      << "the engine does not wait for the answer in flight";
  ASSERT_TRUE(task.error);
  EXPECT_EQ(task.error->kind(), ErrorKind::cancelled);
  EXPECT_EQ(task.contents().size(), 1500000u);
  EXPECT_TRUE(fs::exists(task.temporary().record_path())) << "the record stays for a resume";
}

TEST_F(EngineTest, AFileLockedElsewhereIsStartedLaterOrNotAtAll) {
  const std::string body = make_body(1000);
  HttpServer server([&](const HttpRequest& request) { return serve(body, request); });
  {
    TestTask task(m_dir, spec_for(server.url("/file"), body));
    task.later_times = 3;
    run(task, fast_options());
    ASSERT_TRUE(task.downloaded);
    EXPECT_EQ(task.starts, 4);
    EXPECT_EQ(task.finishes, 1);
  }
  const fs::path other = m_dir / "other";
  fs::create_directories(other);
  TestTask task(other, spec_for(server.url("/file"), body));
  task.not_needed = true;
  run(task, fast_options());
  ASSERT_TRUE(task.downloaded);
  EXPECT_EQ(task.downloaded->received, 0u);
  EXPECT_EQ(server.requests().size(), 1u) << "another process put the file in place";
}

} // namespace

// --- sources (mirrors) ---------------------------------------------------------------------

class SourceEvents : public NoEvents {
public:
  void source_failed(std::size_t, std::size_t source, const Error& error) override {
    failures.emplace_back(source, error.cause());
  }
  std::vector<std::pair<std::size_t, std::string>> failures;
};

hfmodels::http::SourceAccess mirror_access(const std::string& origin) {
  hfmodels::http::SourceAccess access;
  access.origin = origin;
  return access;
}

// `body` from `mirror` first, then from `hub`.
FileSpec mirror_then_hub(const HttpServer& mirror, const HttpServer& hub, const std::string& body) {
  FileSpec spec = spec_for(hub.url("/file"), body);
  spec.sources.insert(spec.sources.begin(),
                      Source{mirror.url("/sha256/x"), mirror_access(mirror.url(""))});
  return spec;
}

TEST_F(EngineTest, AMirrorWithoutTheObjectPassesTheFileToTheNextSource) {
  const std::string body = make_body(300000);
  HttpServer mirror([&](const HttpRequest&) { return HttpReply{404, {}, "no", std::nullopt}; });
  HttpServer hub([&](const HttpRequest& request) { return serve(body, request); });
  const FileSpec spec = mirror_then_hub(mirror, hub, body);
  TestTask task(m_dir, spec);
  SourceEvents events;
  run(task, fast_options(), events);

  ASSERT_TRUE(task.downloaded) << (task.error ? task.error->what() : "");
  EXPECT_EQ(task.contents(), body);
  EXPECT_EQ(task.downloaded->source, 1u);
  EXPECT_EQ(task.downloaded->received_from, (std::vector<std::uint64_t>{0, body.size()}));
  ASSERT_EQ(events.failures.size(), 1u);
  EXPECT_EQ(events.failures[0], (std::pair<std::size_t, std::string>{0, "source:missing"}));
  EXPECT_EQ(mirror.requests().size(), 1u); // a 404 is not asked again
}

TEST_F(EngineTest, AMirrorObjectOfAnotherSizeIsAWrongCopyAtItsFirstAnswer) {
  // An object cut short (an interrupted push kept by the server): its length says so before a
  // byte is taken, whether it is asked for whole or, to continue bytes on disk, from a range
  // past its end (416).
  const std::string body = make_body(300000);
  const std::string short_object = body.substr(0, 120000);
  for (const bool resumed : {false, true}) {
    SCOPED_TRACE(resumed ? "a range past its end" : "asked for whole");
    HttpServer mirror([&](const HttpRequest& request) {
      if (const auto range = asked_range(request); range && range->begin >= short_object.size()) {
        return HttpReply{416, {{"Content-Range", "bytes */120000"}}, "", std::nullopt};
      }
      return serve(short_object, request);
    });
    HttpServer hub([&](const HttpRequest& request) { return serve(body, request); });
    TestTask task(m_dir, mirror_then_hub(mirror, hub, body));
    if (resumed) {
      task.temporary().write_at(body.data(), 150000, 0); // a prefix a killed run kept
    }
    SourceEvents events;
    run(task, fast_options(), events);

    ASSERT_TRUE(task.downloaded) << (task.error ? task.error->what() : "");
    EXPECT_EQ(task.contents(), body);
    ASSERT_EQ(events.failures.size(), 1u);
    EXPECT_EQ(events.failures[0].second, "integrity:size");
    EXPECT_EQ(mirror.requests().size(), 1u) << "asked once, never again";
    EXPECT_EQ(task.downloaded->received_from[0], 0u);
  }
}

TEST_F(EngineTest, AWrongObjectIsDroppedAndTheNextSourceStartsFromNothing) {
  const std::string body = make_body(300000);
  std::string wrong = body;
  wrong[1000] ^= 0x55;
  HttpServer mirror([&](const HttpRequest& request) { return serve(wrong, request); });
  HttpServer hub([&](const HttpRequest& request) { return serve(body, request); });
  const FileSpec spec = mirror_then_hub(mirror, hub, body);
  TestTask task(m_dir, spec);
  SourceEvents events;
  run(task, fast_options(), events);

  ASSERT_TRUE(task.downloaded) << (task.error ? task.error->what() : "");
  EXPECT_EQ(task.contents(), body);
  // Its bytes were not kept: the Hub sent the whole file, from its first byte, and the mirror
  // is credited with none of it.
  EXPECT_EQ(task.downloaded->received_from, (std::vector<std::uint64_t>{0, body.size()}));
  ASSERT_EQ(events.failures.size(), 1u);
  EXPECT_EQ(events.failures[0].second, "integrity:hash");
  EXPECT_EQ(mirror.requests().size(), 1u); // not downloaded a second time
  for (const auto& request : hub.requests()) {
    EXPECT_FALSE(request.header("range")) << "the Hub was asked for a part only";
  }
}

TEST_F(EngineTest, AMirrorThatBreaksOffLeavesItsGoodBytesForTheNextSource) {
  const std::string body = make_body(600000);
  std::atomic<int> asked{0};
  HttpServer mirror([&](const HttpRequest&) {
    if (asked++ > 0) {
      return HttpReply{500, {}, "down", std::nullopt}; // from then on
    }
    HttpReply reply{200, {}, body, std::nullopt};
    reply.cut_after = 250000; // then the connection is dropped
    return reply;
  });
  HttpServer hub([&](const HttpRequest& request) { return serve(body, request); });
  const FileSpec spec = mirror_then_hub(mirror, hub, body);
  TestTask task(m_dir, spec);
  SourceEvents events;
  run(task, fast_options(), events);

  ASSERT_TRUE(task.downloaded) << (task.error ? task.error->what() : "");
  EXPECT_EQ(task.contents(), body);
  EXPECT_GE(task.downloaded->received_from[0], 250000u);
  // The Hub was asked only for the rest.
  EXPECT_LE(task.downloaded->received_from[1], body.size() - 250000);
}

TEST_F(EngineTest, TheLastSourceFailingFailsTheFileWithItsCause) {
  const std::string body = make_body(1000);
  HttpServer mirror([&](const HttpRequest&) { return HttpReply{404, {}, "", std::nullopt}; });
  FileSpec spec = spec_for(mirror.url("/sha256/x"), body);
  spec.sources.front().access = mirror_access(mirror.url(""));
  TestTask task(m_dir, spec);
  run(task, fast_options());
  ASSERT_TRUE(task.error);
  EXPECT_EQ(task.error->cause(), "source:missing");
}

TEST_F(EngineTest, AFileMirrorIsReadInRanges) {
  const std::string body = make_body(700000);
  const fs::path object = m_dir / "object";
  std::ofstream(object, std::ios::binary) << body;
  hfmodels::http::SourceAccess access;
  access.scheme = hfmodels::http::SourceAccess::Scheme::file;
  FileSpec spec = spec_for("file://" + object.string(), body);
  spec.sources.front().access = access;
  TestTask task(m_dir, spec);
  run(task, segmented_options());
  ASSERT_TRUE(task.downloaded) << (task.error ? task.error->what() : "");
  EXPECT_EQ(task.contents(), body);
}

TEST_F(EngineTest, AMirrorAnswering5xxBeforeAnyBytePassesTheFileOnWithoutRetrying) {
  const std::string body = make_body(1000);
  HttpServer mirror([&](const HttpRequest&) { return HttpReply{503, {}, "", std::nullopt}; });
  HttpServer hub([&](const HttpRequest& request) { return serve(body, request); });
  const FileSpec spec = mirror_then_hub(mirror, hub, body);
  TestTask task(m_dir, spec);
  run(task, fast_options());
  ASSERT_TRUE(task.downloaded) << (task.error ? task.error->what() : "");
  EXPECT_EQ(mirror.requests().size(), 1u);
}

TEST_F(EngineTest, AMirrorThatFailsThreeFilesInARowIsNotAskedAgain) {
  HttpServer mirror([&](const HttpRequest&) { return HttpReply{502, {}, "", std::nullopt}; });
  std::vector<std::string> bodies;
  for (int i = 0; i < 6; ++i) {
    bodies.push_back(make_body(1000 + static_cast<std::size_t>(i)));
  }
  HttpServer hub([&](const HttpRequest& request) {
    return serve(bodies.at(static_cast<std::size_t>(request.target.back() - '0')), request);
  });
  std::vector<std::unique_ptr<TestTask>> tasks;
  std::vector<FileTask*> pointers;
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    FileSpec spec = spec_for(hub.url("/file" + std::to_string(i)), bodies[i]);
    spec.sources.insert(spec.sources.begin(), Source{mirror.url("/sha256/" + std::to_string(i)),
                                                     mirror_access(mirror.url(""))});
    const fs::path dir = m_dir / std::to_string(i);
    fs::create_directories(dir);
    tasks.push_back(std::make_unique<TestTask>(dir, spec));
    pointers.push_back(tasks.back().get());
  }
  EngineOptions options = fast_options();
  options.files_at_once = 1; // one after another: the strikes come before the later files
  SourceEvents events;
  download(pointers, options, events, {});
  for (const auto& task : tasks) {
    ASSERT_TRUE(task->downloaded) << (task->error ? task->error->what() : "");
  }
  EXPECT_EQ(mirror.requests().size(), 3u);
  EXPECT_EQ(std::count_if(events.failures.begin(), events.failures.end(),
                          [](const auto& f) { return f.second == "source:unreachable"; }),
            3);
}
