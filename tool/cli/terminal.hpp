// SPDX-License-Identifier: MIT
#pragma once

// The terminal the progress bar draws on (stderr). POSIX: terminal_posix.cpp; a Windows port
// adds terminal_win32.cpp (GetConsoleMode, GetConsoleScreenBufferInfo).
namespace hfmodels::cli {

// Whether stderr is a terminal (else progress is printed as plain lines).
bool stderr_is_terminal();

// Whether a person can answer a question on stdin.
bool stdin_is_terminal();

// The width of stderr's terminal in columns, or `fallback` when it cannot be known.
int stderr_columns(int fallback);

} // namespace hfmodels::cli
