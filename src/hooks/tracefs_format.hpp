// What the host's tracefs says about a tracepoint: its event id (the record's common_type), its
// fields and the record size (the end of the last fixed field). Read from
// /sys/kernel/tracing/events/<system>/<event>/format (or the debugfs mount) when available.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace userbpf::hooks {

struct TracepointField {
  std::string name;  // "filename", "common_pid"
  std::string decl;  // the declaration as tracefs prints it: "__data_loc char[] filename"
  uint32_t offset = 0;
  uint32_t size = 0;
  bool data_loc = false;  // a u32 (length << 16) | offset of a string after the fixed fields
};

struct TracepointFormat {
  uint16_t id = 0;    // common_type
  uint32_t size = 0;  // bytes of the record: the end of its last field
  std::vector<TracepointField> fields;
};

// Parses the text of a tracefs format file; nullopt when it has no ID or no fields.
std::optional<TracepointFormat> parse_tracepoint_format(std::string_view text);

// The format of <system>/<event> ("sched", "sched_process_exec") on this host, or nullopt when
// tracefs is not readable or has no such event.
std::optional<TracepointFormat> read_tracepoint_format(const std::string& system,
                                                       const std::string& event);

// The format of syscalls/<event> ("sys_enter_openat").
std::optional<TracepointFormat> read_syscall_tracepoint_format(const std::string& event);

}  // namespace userbpf::hooks
