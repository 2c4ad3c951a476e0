// SPDX-License-Identifier: MIT
#include "mirror/upload.hpp"

#include "hash/sha256.hpp"
#include "http/handle.hpp"
#include "util/cancel.hpp"
#include "util/fs.hpp"
#include "util/parallel.hpp"
#include "util/strings.hpp"

#include <curl/curl.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <system_error>

namespace hfmodels::mirror {

namespace {

constexpr std::uint64_t k_mib = 1ULL << 20;
constexpr std::size_t k_max_reply = 1U << 20;
constexpr long k_complete_idle_seconds = 900;

// What a server answered.
struct Reply {
  long status = 0;
  http::Headers headers;
  std::string body;
};

// A request body read from a file at [offset, offset + size), rewound when libcurl asks (a
// retry on the same connection, a 100-continue refused).
struct Body {
  const util::InputFile* file = nullptr;
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
  std::uint64_t sent = 0;
  std::exception_ptr failure;

  static std::size_t read(char* buffer, std::size_t size, std::size_t count, void* user) {
    auto& body = *static_cast<Body*>(user);
    try {
      const std::size_t wanted =
          static_cast<std::size_t>(std::min<std::uint64_t>(size * count, body.size - body.sent));
      const std::size_t got = body.file->read_at(buffer, wanted, body.offset + body.sent);
      if (got != wanted) {
        throw Error(ErrorKind::failure, "the file to upload became shorter");
      }
      body.sent += got;
      return got;
    } catch (...) {
      body.failure = std::current_exception();
      return CURL_READFUNC_ABORT;
    }
  }

  static int seek(void* user, curl_off_t offset, int origin) {
    auto& body = *static_cast<Body*>(user);
    if (origin != SEEK_SET || offset < 0 || static_cast<std::uint64_t>(offset) > body.size) {
      return CURL_SEEKFUNC_CANTSEEK;
    }
    body.sent = static_cast<std::uint64_t>(offset);
    return CURL_SEEKFUNC_OK;
  }
};

struct Exchange {
  Reply* reply;
  const std::stop_token* stop;

  static std::size_t header(char* data, std::size_t size, std::size_t count, void* user) {
    auto& exchange = *static_cast<Exchange*>(user);
    http::add_header_line(exchange.reply->headers, std::string_view(data, size * count));
    return size * count;
  }
  static std::size_t write(char* data, std::size_t size, std::size_t count, void* user) {
    auto& body = static_cast<Exchange*>(user)->reply->body;
    body.append(data, std::min(size * count, k_max_reply - std::min(k_max_reply, body.size())));
    return size * count;
  }
  static int progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    return static_cast<Exchange*>(user)->stop->stop_requested() ? 1 : 0;
  }
};

// What the mirror's refusal of `url` says, for an error.
Error refusal(const Reply& reply, const std::string& url, const std::string& subject) {
  return Error(ErrorKind::network, "the mirror refused the upload",
               "HTTP " + std::to_string(reply.status) + " from " + http::redact_url(url) +
                   http::error_code_suffix(reply.body),
               "", subject)
      .with_cause("mirror:http:" + std::to_string(reply.status));
}

// One request to the mirror, retried by the rules every request follows (http/retry.hpp).
// `set_up` sets what the request is on a prepared handle (its method, its body).
Reply send(const http::ClientOptions& client, const http::RetryPolicy& policy, const Mirror& mirror,
           const std::string& url, const std::string& payload_sha256, const std::stop_token& stop,
           const std::function<void(CURL*, Body&)>& set_up, const std::string& subject) {
  http::Handle handle(client);
  http::Retrier retrier(policy, stop);
  for (;;) {
    util::throw_if_stopped(stop);
    Reply reply;
    Body body;
    Exchange exchange{&reply, &stop};
    handle.prepare(url, std::nullopt, /*compressed=*/false, &mirror.access, payload_sha256);
    CURL* curl = handle.get();
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &Exchange::header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &exchange);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Exchange::write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &exchange);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, &Exchange::progress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &exchange);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, &Body::read);
    curl_easy_setopt(curl, CURLOPT_READDATA, &body);
    curl_easy_setopt(curl, CURLOPT_SEEKFUNCTION, &Body::seek);
    curl_easy_setopt(curl, CURLOPT_SEEKDATA, &body);
    set_up(curl, body);
    const CURLcode code = curl_easy_perform(curl);
    if (body.failure) {
      std::rethrow_exception(body.failure);
    }
    util::throw_if_stopped(stop);
    reply.status = handle.status();
    http::Attempt attempt;
    attempt.transport = code;
    attempt.status = reply.status;
    attempt.headers = &reply.headers;
    if (code == CURLE_OK && reply.status >= 200 && reply.status < 300) {
      return reply;
    }
    if (code == CURLE_OK && reply.status >= 300 && reply.status < 400) {
      // Never followed: a PUT that a redirect answered stored nothing. S3 names the bucket's
      // region instead (PermanentRedirect).
      const auto region = reply.headers.get("x-amz-bucket-region");
      const auto location = reply.headers.get("location");
      throw Error(ErrorKind::network, "the mirror redirected the request",
                  "HTTP " + std::to_string(reply.status) + " from " + http::redact_url(url) +
                      (location ? " to " + http::redact_url(*location) : std::string()) +
                      (region ? "; the bucket is in " + *region : std::string()),
                  region ? "Set AWS_REGION to the bucket's region"
                         : "Give the URL the redirect names",
                  subject)
          .with_cause("mirror:redirect");
    }
    const http::Verdict verdict = http::classify(attempt, policy);
    if (verdict.step == http::NextStep::retry && retrier.next(verdict.server_wait)) {
      continue;
    }
    if (code != CURLE_OK) {
      throw http::tried(http::transport_error(code, url, handle.error_text(code)),
                        retrier.attempts())
          .with_subject(subject);
    }
    // 404 is an answer the callers read (an object that is not there), and so is S3's 403
    // AccessDenied to a reader without s3:ListBucket, or to a HEAD (no body to tell).
    if (reply.status == 404 ||
        (reply.status == 403 &&
         (reply.body.empty() || http::xml_element(reply.body, "Code") == "AccessDenied"))) {
      return reply;
    }
    throw http::tried(refusal(reply, url, subject), retrier.attempts());
  }
}

void set_upload(CURL* curl, Body& body, const util::InputFile& file, std::uint64_t offset,
                std::uint64_t size) {
  body.file = &file;
  body.offset = offset;
  body.size = size;
  curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(size));
}

// An interrupted multipart upload, kept beside the cache: its id and the parts S3 has.
struct UploadRecord {
  std::string upload_id;
  std::uint64_t part_size = 0;
  std::map<std::uint64_t, std::string> etags; // part number -> ETag
};

std::optional<UploadRecord> load_record(const std::filesystem::path& path) {
  try {
    const auto json = nlohmann::json::parse(util::read_file(path));
    UploadRecord record;
    record.upload_id = json.at("upload_id").get<std::string>();
    record.part_size = json.at("part_size").get<std::uint64_t>();
    for (const auto& [number, etag] : json.at("parts").items()) {
      record.etags[std::stoull(number)] = etag.get<std::string>();
    }
    return record;
  } catch (...) {
    return std::nullopt; // none, or one that cannot be read: the upload starts over
  }
}

void save_record(const std::filesystem::path& path, const UploadRecord& record) {
  nlohmann::json parts = nlohmann::json::object();
  for (const auto& [number, etag] : record.etags) {
    parts[std::to_string(number)] = etag;
  }
  util::write_file_atomic(path, nlohmann::json{{"upload_id", record.upload_id},
                                               {"part_size", record.part_size},
                                               {"parts", parts}}
                                    .dump());
}

} // namespace

std::uint64_t part_size_for(std::uint64_t size) {
  const std::uint64_t least = (size + k_max_parts - 1) / k_max_parts;
  return std::max(k_min_part, (least + k_mib - 1) / k_mib * k_mib);
}

LocalObject hash_object(const std::filesystem::path& file, std::uint64_t part_size,
                        const std::stop_token& stop) {
  LocalObject object;
  object.file = file;
  object.part_size = part_size;
  hash::Sha256 whole;
  std::optional<hash::Sha256> part;
  std::uint64_t in_part = 0;
  util::read_blocks(file, 1U << 20, stop, [&](const char* data, std::size_t size) {
    whole.update(data, size);
    object.size += size;
    while (part_size != 0 && size > 0) {
      if (!part) {
        part.emplace();
        in_part = 0;
      }
      const auto take =
          static_cast<std::size_t>(std::min<std::uint64_t>(size, part_size - in_part));
      part->update(data, take);
      in_part += take;
      data += take;
      size -= take;
      if (in_part == part_size) {
        object.part_sha256.push_back(part->hex_digest());
        part.reset();
      }
    }
  });
  if (part) {
    object.part_sha256.push_back(part->hex_digest());
  }
  object.sha256 = whole.hex_digest();
  return object;
}

Uploader::Uploader(const Mirror& mirror, UploadOptions options)
    : m_mirror(mirror), m_options(std::move(options)) {}

std::uint64_t Uploader::part_size(std::uint64_t size) const {
  return m_mirror.kind == Mirror::Kind::s3 && size >= m_options.multipart_from ? part_size_for(size)
                                                                               : 0;
}

std::optional<std::uint64_t> Uploader::existing_size(std::string_view sha256,
                                                     const std::stop_token& stop) const {
  if (m_mirror.kind == Mirror::Kind::file) {
    std::error_code error;
    const auto size = std::filesystem::file_size(m_mirror.folder / "sha256" / sha256, error);
    return error ? std::nullopt : std::optional<std::uint64_t>(size);
  }
  const std::string url = m_mirror.object_url(sha256);
  const Reply reply = send(
      m_options.client, m_options.retry, m_mirror, url, http::k_empty_payload_sha256, stop,
      [](CURL* curl, Body&) { curl_easy_setopt(curl, CURLOPT_NOBODY, 1L); }, "");
  if (reply.status < 200 || reply.status >= 300) {
    return std::nullopt;
  }
  return http::content_length(reply.headers);
}

void Uploader::upload(const LocalObject& object, const std::stop_token& stop) const {
  if (m_mirror.kind == Mirror::Kind::file) {
    upload_to_folder(object, stop);
    return;
  }
  if (object.part_size != 0) {
    upload_in_parts(object, stop);
    return;
  }
  const util::InputFile file(object.file);
  // S3 checks the body against the declared sha256: what it stores is what was hashed.
  const std::string url = m_mirror.object_url(object.sha256);
  const Reply reply = send(
      m_options.client, m_options.retry, m_mirror, url, object.sha256, stop,
      [&](CURL* curl, Body& body) { set_upload(curl, body, file, 0, object.size); }, object.sha256);
  // send() hands 404 and 403 back as answers (a HEAD's "not there"); to a PUT they mean that
  // nothing was stored (NoSuchBucket, AccessDenied without s3:PutObject).
  if (reply.status < 200 || reply.status >= 300) {
    throw refusal(reply, url, object.sha256);
  }
}

void Uploader::upload_to_folder(const LocalObject& object, const std::stop_token& stop) const {
  const auto folder = m_mirror.folder / "sha256";
  std::filesystem::create_directories(folder);
  const auto target = folder / object.sha256;
  // A temporary renamed into place: a reader never sees half an object, and an interrupted copy
  // leaves no object at all.
  const auto temporary = folder / ("." + object.sha256 + "." + util::random_hex(8) + ".tmp");
  try {
    // The bytes may have changed since they were hashed (a file being rewritten): what the
    // folder gets is checked as it is copied.
    if (hash::copy_with_sha256(object.file, temporary, stop) != object.sha256) {
      throw Error(ErrorKind::integrity, "the file changed while it was copied", "", "",
                  object.file.string());
    }
    std::filesystem::rename(temporary, target);
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);
    throw;
  }
}

void Uploader::abort_upload(const std::string& url, const std::string& upload_id,
                            const std::stop_token& stop) const {
  try {
    send(
        m_options.client, m_options.retry, m_mirror,
        url + "?uploadId=" + http::percent_encoded(upload_id), http::k_empty_payload_sha256, stop,
        [](CURL* curl, Body&) { curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "DELETE"); }, "");
  } catch (const Error& error) {
    if (error.kind() == ErrorKind::cancelled) {
      throw;
    }
    // Best effort: a bucket's lifecycle rule for incomplete uploads cleans up the rest.
  }
}

void Uploader::upload_in_parts(const LocalObject& object, const std::stop_token& stop) const {
  const std::string url = m_mirror.object_url(object.sha256);
  const auto record_path =
      m_options.records / (hash::sha256_hex(m_mirror.base + "\n" + object.sha256) + ".json");
  std::optional<UploadRecord> record = load_record(record_path);
  if (record && record->part_size != object.part_size) {
    abort_upload(url, record->upload_id, stop); // its parts would be kept, and billed, for ever
    record.reset();
  }
  if (!record) {
    const Reply created = send(
        m_options.client, m_options.retry, m_mirror,
        url + "?uploads=", http::k_empty_payload_sha256, stop,
        [](CURL* curl, Body&) {
          curl_easy_setopt(curl, CURLOPT_POST, 1L);
          curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, 0L);
          curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
        },
        object.sha256);
    const auto id = http::xml_element(created.body, "UploadId");
    if (created.status != 200 || !id || id->empty()) {
      throw Error(ErrorKind::network, "the mirror did not start a multipart upload",
                  "HTTP " + std::to_string(created.status) + " from " + http::redact_url(url), "",
                  object.sha256);
    }
    record = UploadRecord{*id, object.part_size, {}};
    std::filesystem::create_directories(record_path.parent_path());
    save_record(record_path, *record);
  }
  const std::string upload_id = http::percent_encoded(record->upload_id);
  const std::size_t parts = object.part_sha256.size();
  std::mutex mutex;
  const util::InputFile file(object.file);
  bool upload_gone = false;
  const auto errors = util::run_parallel(
      std::max(1U, m_options.parts_at_once), parts, [&](std::size_t, std::size_t index) {
        const std::uint64_t number = index + 1;
        {
          const std::lock_guard lock(mutex);
          if (record->etags.contains(number) || upload_gone) {
            return; // sent by an earlier push
          }
        }
        const std::uint64_t offset = index * object.part_size;
        const std::uint64_t size = std::min(object.part_size, object.size - offset);
        const Reply sent = send(
            m_options.client, m_options.retry, m_mirror,
            url + "?partNumber=" + std::to_string(number) + "&uploadId=" + upload_id,
            object.part_sha256[index], stop,
            [&](CURL* curl, Body& body) { set_upload(curl, body, file, offset, size); },
            object.sha256);
        const std::lock_guard lock(mutex);
        const auto etag = sent.headers.get("etag");
        if (sent.status == 404 || !etag) {
          upload_gone = true; // the server no longer knows the upload (NoSuchUpload)
          return;
        }
        record->etags[number] = *etag;
        save_record(record_path, *record);
      });
  for (const auto& error : errors) {
    if (error) {
      std::rethrow_exception(error);
    }
  }
  if (upload_gone) {
    std::error_code ignored;
    std::filesystem::remove(record_path, ignored);
    throw Error(ErrorKind::network, "the mirror lost the multipart upload",
                "it no longer knows upload " + record->upload_id, "", object.sha256)
        .with_cause("mirror:upload-gone");
  }
  std::string complete = "<CompleteMultipartUpload>";
  for (const auto& [number, etag] : record->etags) {
    complete += "<Part><PartNumber>" + std::to_string(number) + "</PartNumber><ETag>" + etag +
                "</ETag></Part>";
  }
  complete += "</CompleteMultipartUpload>";
  std::optional<Error> failure;
  try {
    const Reply done = send(
        m_options.client, m_options.retry, m_mirror, url + "?uploadId=" + upload_id,
        hash::sha256_hex(complete), stop,
        [&](CURL* curl, Body&) {
          curl_easy_setopt(curl, CURLOPT_POST, 1L);
          curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                           static_cast<curl_off_t>(complete.size()));
          curl_easy_setopt(curl, CURLOPT_POSTFIELDS, complete.c_str());
          // Joining the parts takes the server minutes for a large object, silent until it
          // answers (S3 says so; s3rver copies 6 GiB in about 30 s).
          curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, k_complete_idle_seconds);
        },
        object.sha256);
    // S3 can answer 200 with an error in the body once it has started to reply.
    if (done.status != 200 || done.body.find("<Error>") != std::string::npos) {
      failure = Error(ErrorKind::network, "the mirror did not complete the multipart upload",
                      "HTTP " + std::to_string(done.status) + " from " + http::redact_url(url) +
                          http::error_code_suffix(done.body),
                      "", object.sha256);
    }
  } catch (const Error& error) {
    if (error.kind() == ErrorKind::cancelled) {
      throw;
    }
    failure = error;
  }
  // A completion whose answer was lost (a timeout, a dropped connection) may have worked, and
  // asking again then finds no upload: the object itself says.
  if (failure && existing_size(object.sha256, stop) != object.size) {
    // The upload cannot be completed as recorded (the server forgot it, or refuses a part):
    // the next push starts it over rather than failing the same way for ever.
    std::error_code ignored;
    std::filesystem::remove(record_path, ignored);
    throw failure->with_hint("Run the push again: it starts this upload over");
  }
  std::error_code ignored;
  std::filesystem::remove(record_path, ignored);
}

} // namespace hfmodels::mirror
