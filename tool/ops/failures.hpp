// SPDX-License-Identifier: MIT
#pragma once

// Many items of one operation (files of a fetch, objects of a push) failing for one cause: one
// line for the cause, not one per item.

#include "ops/reporter.hpp"
#include "util/error.hpp"

#include <string>
#include <vector>

namespace hfmodels::ops {

// What two failures share when one cause hit many items: the cause the thrower named, else the
// message with its URLs and numbers left out.
std::string cause_of(const Error& error);

// Reports `errors` one per cause: the first item's error, and how many more failed the same way
// (naming them when they are few).
void report_grouped(Reporter& reporter, const std::vector<Error>& errors);

} // namespace hfmodels::ops
