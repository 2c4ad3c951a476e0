// SPDX-License-Identifier: MIT
#include "ops/failures.hpp"

#include <algorithm>
#include <cctype>

namespace hfmodels::ops {

// What two failures share when one cause hit many files (an unreachable host, a proxy that
// refuses, a file the Hub does not have): the cause the thrower named, else the message with
// its URLs and numbers (ports, timings, retry counts) left out.
std::string cause_of(const Error& error) {
  if (!error.cause().empty()) {
    return std::to_string(static_cast<int>(error.kind())) + '\n' + error.summary() + '\n' +
           error.cause();
  }
  const std::string& why = error.why();
  std::string cause;
  for (std::size_t i = 0; i < why.size();) {
    if (why.compare(i, 7, "http://") == 0 || why.compare(i, 8, "https://") == 0) {
      // A URL runs to the next space, or to the ": " that follows it in curl's messages.
      while (i < why.size() && why[i] != ' ' && why.compare(i, 2, ": ") != 0) {
        ++i;
      }
      cause += "<url>";
    } else if (std::isdigit(static_cast<unsigned char>(why[i])) != 0) {
      while (i < why.size() && std::isdigit(static_cast<unsigned char>(why[i])) != 0) {
        ++i;
      }
      cause += '#';
    } else {
      cause += why[i++];
    }
  }
  return std::to_string(static_cast<int>(error.kind())) + '\n' + error.summary() + '\n' + cause +
         '\n' + error.hint();
}

// One line per cause rather than per file: 200 files against an unreachable host print the first
// file's error and how many more failed the same way (naming them when they are few).
void report_grouped(Reporter& reporter, const std::vector<Error>& errors) {
  constexpr std::size_t named = 5;
  struct Group {
    std::string cause;
    const Error* first;
    std::vector<std::string> others; // subjects
  };
  std::vector<Group> groups; // in order of appearance
  for (const Error& error : errors) {
    std::string cause = cause_of(error);
    const auto known = std::find_if(groups.begin(), groups.end(),
                                    [&](const Group& group) { return group.cause == cause; });
    if (known != groups.end()) {
      known->others.push_back(error.subject());
    } else {
      groups.push_back({std::move(cause), &error, {}});
    }
  }
  for (const Group& group : groups) {
    const Error& error = *group.first;
    const std::size_t more = group.others.size();
    if (more == 0) {
      reporter.error(error);
      continue;
    }
    std::string same =
        "the same for " + std::to_string(more) + " more file" + (more == 1 ? "" : "s");
    if (more <= named) {
      for (std::size_t i = 0; i < more; ++i) {
        same += (i == 0 ? " (" : ", ") + group.others[i];
      }
      same += ")";
    }
    reporter.error(Error(error.kind(), error.summary(),
                         error.why().empty() ? same : error.why() + "; " + same, error.hint(),
                         error.subject())
                       .with_cause(error.cause()));
  }
}

} // namespace hfmodels::ops
