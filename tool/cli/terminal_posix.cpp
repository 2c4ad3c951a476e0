// SPDX-License-Identifier: MIT
#include "cli/terminal.hpp"

#include <unistd.h>

#include <sys/ioctl.h>

namespace hfmodels::cli {

bool stderr_is_terminal() {
  return isatty(STDERR_FILENO) != 0;
}

bool stdin_is_terminal() {
  return isatty(STDIN_FILENO) != 0;
}

int stderr_columns(int fallback) {
  winsize size{};
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) {
    return size.ws_col;
  }
  return fallback;
}

} // namespace hfmodels::cli
