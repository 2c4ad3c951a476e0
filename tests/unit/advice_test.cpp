// SPDX-License-Identifier: MIT
#include "cli/advice.hpp"

#include <gtest/gtest.h>

namespace {

using hfmodels::Error;
using hfmodels::ErrorKind;
using hfmodels::cli::advised;

Error with_cause(std::string cause, std::string hint = {}) {
  return Error(ErrorKind::network, "failed", "why", std::move(hint)).with_cause(std::move(cause));
}

TEST(Advice, NamesWhatTheCommandLineReadsForEachCause) {
  EXPECT_NE(advised(with_cause("http:401:GatedRepo", "Request access at https://h/org/m"))
                .hint()
                .find("Request access at https://h/org/m. Once access is granted, set HF_TOKEN"),
            std::string::npos);
  EXPECT_NE(advised(with_cause("http:404:RepoNotFound", "Check the name")).hint().find("HF_TOKEN"),
            std::string::npos);
  EXPECT_NE(advised(with_cause("transport:7")).hint().find("no_proxy"), std::string::npos);
  EXPECT_NE(advised(with_cause("token:plain-http")).hint().find("HFMODELS_ALLOW_HTTP_TOKEN"),
            std::string::npos);
  EXPECT_NE(advised(with_cause("io:28")).hint().find("--cache-dir"), std::string::npos);
  EXPECT_NE(advised(with_cause("lockfile:invalid")).hint().find("`hfmodels lock --update`"),
            std::string::npos);
  EXPECT_NE(advised(with_cause("offline:resolve")).hint().find("HF_HUB_OFFLINE"),
            std::string::npos);
}

TEST(Advice, LeavesOtherErrorsAloneAndNeverRepeatsItself) {
  const Error plain = with_cause("http:500:", "Try again");
  EXPECT_EQ(advised(plain).hint(), "Try again");
  const Error once = advised(with_cause("transport:6"));
  EXPECT_EQ(advised(once).hint(), once.hint());
  EXPECT_EQ(advised(once).cause(), "transport:6");
  EXPECT_NE(std::string(advised(once).what()).find(once.hint()), std::string::npos);
}

} // namespace
