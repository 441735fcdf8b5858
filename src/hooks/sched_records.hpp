// The records of the sched_process_* tracepoints, laid out as the runtime's BTF declares them
// (runtime::SchedProcessExecModel, ...; Linux 6.18's layouts, which a test checks against the
// host's tracefs where it is readable). __data_loc strings follow the fixed fields, each
// NUL-terminated, the field holding (length << 16) | offset with the NUL counted. common_type is
// the host's event id when tracefs tells it, else 0.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace userbpf::hooks {

// The event id of sched/<event> from tracefs (read once per event), or 0.
uint16_t sched_event_id(std::string_view event);

std::vector<uint8_t> sched_process_exec_record(int32_t common_pid, std::string_view filename,
                                               int32_t pid, int32_t old_pid);
std::vector<uint8_t> sched_process_fork_record(int32_t common_pid, std::string_view parent_comm,
                                               int32_t parent_pid, std::string_view child_comm,
                                               int32_t child_pid);
std::vector<uint8_t> sched_process_exit_record(int32_t common_pid, std::string_view comm,
                                               int32_t pid, int32_t prio, bool group_dead);

}  // namespace userbpf::hooks
