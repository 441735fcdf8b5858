// The host's (x86-64) syscall names and numbers, as <asm/unistd_64.h> defines them: what
// "sys_enter_<name>" tracepoints are named after.
#pragma once

#include <optional>
#include <string_view>

namespace userbpf::hooks {

// The number of syscall `name` ("openat"), or nullopt when the host has no such syscall.
std::optional<int> syscall_number(std::string_view name);

// The name of syscall `nr`, or an empty view when the number is unknown.
std::string_view syscall_name(int nr);

// One more than the highest syscall number known.
int syscall_count();

}  // namespace userbpf::hooks
