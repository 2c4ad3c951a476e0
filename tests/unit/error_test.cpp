// SPDX-License-Identifier: MIT
#include "util/error.hpp"

#include <gtest/gtest.h>

using hfmodels::Error;
using hfmodels::ErrorKind;

TEST(Error, FormatsWhatSubjectWhyAndHint) {
  const Error error(ErrorKind::integrity, "hash mismatch", "expected abc, got def",
                    "Run `hfmodels fetch` again", "tinyllama/model.safetensors");
  EXPECT_STREQ(error.what(), "hash mismatch (tinyllama/model.safetensors): expected abc, got def. "
                             "Run `hfmodels fetch` again");
  EXPECT_EQ(error.kind(), ErrorKind::integrity);
}

TEST(Error, OmitsEmptyParts) {
  EXPECT_STREQ(Error(ErrorKind::failure, "cannot read models.lock").what(),
               "cannot read models.lock");
  EXPECT_STREQ(Error(ErrorKind::failure, "offline", "", "Unset HF_HUB_OFFLINE.").what(),
               "offline. Unset HF_HUB_OFFLINE.");
}

TEST(Error, WithSubjectKeepsTheRest) {
  const Error error = Error(ErrorKind::network, "not found", "404").with_subject("m/f");
  EXPECT_EQ(error.subject(), "m/f");
  EXPECT_EQ(error.why(), "404");
  EXPECT_EQ(error.kind(), ErrorKind::network);
}

TEST(Error, WithHintKeepsTheRest) {
  const Error error = Error(ErrorKind::integrity, "mismatch", "expected a, got b", "", "m/f")
                          .with_cause("integrity:hash")
                          .with_hint("Re-lock");
  EXPECT_STREQ(error.what(), "mismatch (m/f): expected a, got b. Re-lock");
  EXPECT_EQ(error.cause(), "integrity:hash");
  EXPECT_EQ(error.kind(), ErrorKind::integrity);
}
