// What the host's tracefs says about a syscall tracepoint: its event id (the record's
// common_type) and the record size (16 bytes of header and __syscall_nr, then 8 bytes per
// argument for sys_enter_*, a long ret for sys_exit_*). Read from
// /sys/kernel/tracing/events/syscalls/<event>/format (or the debugfs mount) when available.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace userbpf::hooks {

struct TracepointFormat {
  uint16_t id = 0;    // common_type
  uint32_t size = 0;  // bytes of the record: the end of its last field
};

// Parses the text of a tracefs format file; nullopt when it has no ID or no fields.
std::optional<TracepointFormat> parse_tracepoint_format(std::string_view text);

// The format of syscalls/<event> ("sys_enter_openat") on this host, or nullopt when tracefs is
// not readable or has no such event.
std::optional<TracepointFormat> read_syscall_tracepoint_format(const std::string& event);

}  // namespace userbpf::hooks
