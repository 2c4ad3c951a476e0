// SPDX-License-Identifier: MIT
#pragma once

#include <optional>
#include <string>

// What the cache needs to know of processes, the machine and the user, behind one small
// interface: the POSIX implementation (kill, /proc, gethostname, getpwnam_r) is
// process_posix.cpp; a Windows port adds process_win32.cpp (OpenProcess, GetComputerNameW,
// SHGetKnownFolderPath) and changes nothing else.
namespace hfmodels::util {

// This process's id.
long current_process_id();

// This machine's host name ("" when it has none).
std::string host_name();

// False once process `pid` of this machine has ended: gone, or a zombie (killed, not yet reaped
// by its parent). True when that cannot be known.
bool process_alive(long pid);

// The permission bits new files lose (the umask), read without changing it.
unsigned file_mode_mask();

// The home folder of `user`, or of the current user when empty, from the user database.
std::optional<std::string> home_of_user(const std::string& user);

} // namespace hfmodels::util
