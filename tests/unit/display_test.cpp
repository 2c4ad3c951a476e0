// SPDX-License-Identifier: MIT
#include "util/display.hpp"
#include "util/strings.hpp"

#include <gtest/gtest.h>

namespace util = hfmodels::util;

TEST(Redactor, HidesRegisteredSecretsAndTheirUrlForm) {
  util::Redactor redactor;
  redactor.add_secret("hf_secret/token");
  EXPECT_EQ(redactor.redact("HTTP 401: bad token hf_secret/token (request id 1)"),
            "HTTP 401: bad token *** (request id 1)");
  EXPECT_EQ(redactor.redact("?t=hf_secret%2Ftoken&x=1"), "?t=***&x=1");
  EXPECT_EQ(redactor.redact("?t=hf_secret%2ftoken"), "?t=***");
  EXPECT_EQ(redactor.redact("no secret here"), "no secret here");
}

TEST(Redactor, IgnoresSecretsTooShortToMean) {
  util::Redactor redactor;
  redactor.add_secret("ab");
  EXPECT_EQ(redactor.redact("abc"), "abc");
}

TEST(Redactor, HidesTheLongerOfTwoOverlappingSecrets) {
  util::Redactor redactor;
  redactor.add_secret("secret");
  redactor.add_secret("secret-and-more");
  EXPECT_EQ(redactor.redact("x secret-and-more y"), "x *** y");
}

TEST(Redactor, HidesUrlUserinfo) {
  const util::Redactor redactor;
  EXPECT_EQ(redactor.redact("invalid endpoint 'ftp://user:pass@host/x'"),
            "invalid endpoint 'ftp://***@host/x'");
  EXPECT_EQ(redactor.redact("at http://u:p@a:8080, then https://b@c/d?e=f@g"),
            "at http://***@a:8080, then https://***@c/d?e=f@g");
  EXPECT_EQ(redactor.redact("mail me@example.com at https://example.com/a@b"),
            "mail me@example.com at https://example.com/a@b");
  EXPECT_EQ(redactor.redact("http_proxy == 'http://alice:s3cr3t@proxy:3128'"),
            "http_proxy == 'http://***@proxy:3128'");
}

TEST(Redactor, HidesEveryAuthorizationValueOfALine) {
  const util::Redactor redactor;
  const std::string shown = redactor.redact(
      "Authorization: Bearer a Authorization: Bearer b\nAuthorization: Basic SECRET\nend");
  EXPECT_EQ(shown.find("SECRET"), std::string::npos) << shown;
  EXPECT_EQ(shown, "Authorization: Bearer ***\nAuthorization: Basic ***\nend");
  // libcurl's trace of an HTTP/2 request header.
  EXPECT_EQ(redactor.redact("* h2h3 [authorization: Bearer hf_abc]"),
            "* h2h3 [authorization: Bearer ***");
}

TEST(Redactor, HidesAuthorizationHeaderValues) {
  const util::Redactor redactor;
  EXPECT_EQ(redactor.redact("> Authorization: Bearer hf_abc\n> Accept: */*\n"),
            "> Authorization: Bearer ***\n> Accept: */*\n");
  EXPECT_EQ(redactor.redact("> Proxy-Authorization: Basic YWxpY2U6cw==\r\n"),
            "> Proxy-Authorization: Basic ***\r\n");
  EXPECT_EQ(redactor.redact("authorization: opaque"), "authorization: ***");
}

TEST(Printable, EscapesTerminalControls) {
  EXPECT_EQ(util::printable("red \x1b[31mtext\x1b[0m"), "red \\x1b[31mtext\\x1b[0m");
  EXPECT_EQ(util::printable("a\rb\x07\x7f"), "a\\rb\\x07\\x7f");
  EXPECT_EQ(util::printable("two\nlines\tkept"), "two\nlines\tkept");
  // C1 CSI (U+009B) and a right-to-left override, both valid UTF-8.
  EXPECT_EQ(util::printable("x\xc2\x9b"
                            "2Jy"),
            "x\\u009b2Jy");
  EXPECT_EQ(util::printable("a\xe2\x80\xae"
                            "b"),
            "a\\u202eb");
  EXPECT_EQ(util::printable("caf\xc3\xa9 \xe3\x83\x95"), "caf\xc3\xa9 \xe3\x83\x95");
  EXPECT_EQ(util::printable("bad \xff\xc3"), "bad \\xff\\xc3");
}

TEST(Printable, ShortensLongLinesInTheMiddle) {
  const std::string line = "repo '" + std::string(10'000'000, 'a') + "' is invalid";
  const std::string shown = util::printable("first\n" + line + "\nlast", 300);
  EXPECT_LT(shown.size(), 400U);
  EXPECT_TRUE(shown.starts_with("first\nrepo 'aaa"));
  EXPECT_NE(shown.find("bytes ...]"), std::string::npos);
  EXPECT_TRUE(shown.ends_with("aaa' is invalid\nlast"));
}

TEST(Printable, NeverCutsInsideAUtf8Sequence) {
  std::string line;
  for (int i = 0; i < 400; ++i) {
    line += "\xe3\x83\x95"; // フ
  }
  const std::string shown = util::printable(line, 100);
  EXPECT_EQ(util::find_invalid_utf8(shown), std::nullopt) << shown;
  EXPECT_EQ(shown.find('\\'), std::string::npos) << "no byte became an escape: " << shown;
}

TEST(PrintableInline, EscapesNewlinesAndCuts) {
  EXPECT_EQ(util::printable_inline("line one\nhfmodels: error: forged"),
            "line one\\nhfmodels: error: forged");
  EXPECT_LE(util::printable_inline(std::string(5000, 'x'), 100).size(), 130U);
}
