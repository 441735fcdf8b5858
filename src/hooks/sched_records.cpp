#include "hooks/sched_records.hpp"

#include <cstddef>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>

#include "hooks/tracefs_format.hpp"
#include "runtime/runtime_btf.hpp"

namespace userbpf::hooks {
namespace {

using runtime::SchedProcessExecModel;
using runtime::SchedProcessExitModel;
using runtime::SchedProcessForkModel;

template <class Model>
std::vector<uint8_t> start(std::string_view event, int32_t common_pid, size_t strings) {
  // Sized up to 8 bytes as the kernel's perf buffers are, zero-filled.
  std::vector<uint8_t> record((sizeof(Model) + strings + 7) & ~size_t{7}, 0);
  runtime::TraceEntryModel ent{sched_event_id(event), 0, 0, common_pid};
  std::memcpy(record.data(), &ent, sizeof(ent));
  return record;
}

// Appends `s` + NUL at `at` and returns its __data_loc word.
uint32_t put_string(std::vector<uint8_t>& record, size_t& at, std::string_view s) {
  std::memcpy(record.data() + at, s.data(), s.size());
  record[at + s.size()] = 0;
  const uint32_t loc = (static_cast<uint32_t>(s.size() + 1) << 16) | static_cast<uint32_t>(at);
  at += s.size() + 1;
  return loc;
}

template <class T>
void put(std::vector<uint8_t>& record, size_t offset, const T& value) {
  std::memcpy(record.data() + offset, &value, sizeof(value));
}

// comm is at most 15 bytes (TASK_COMM_LEN 16 with the NUL).
std::string_view comm_of(std::string_view comm) {
  return comm.substr(0, std::min<size_t>(comm.size(), 15));
}

}  // namespace

uint16_t sched_event_id(std::string_view event) {
  static std::mutex m;
  static std::unordered_map<std::string, uint16_t> ids;
  std::lock_guard lock(m);
  auto [it, fresh] = ids.try_emplace(std::string(event), 0);
  if (fresh) {
    if (auto format = read_tracepoint_format("sched", it->first)) it->second = format->id;
  }
  return it->second;
}

std::vector<uint8_t> sched_process_exec_record(int32_t common_pid, std::string_view filename,
                                               int32_t pid, int32_t old_pid) {
  // A __data_loc length is 16 bits: longer names are cut, as no path from execve is that long.
  filename = filename.substr(0, std::min<size_t>(filename.size(), 4095));
  auto record = start<SchedProcessExecModel>("sched_process_exec", common_pid, filename.size() + 1);
  size_t at = sizeof(SchedProcessExecModel);
  put(record, offsetof(SchedProcessExecModel, __data_loc_filename),
      put_string(record, at, filename));
  put(record, offsetof(SchedProcessExecModel, pid), pid);
  put(record, offsetof(SchedProcessExecModel, old_pid), old_pid);
  return record;
}

std::vector<uint8_t> sched_process_fork_record(int32_t common_pid, std::string_view parent_comm,
                                               int32_t parent_pid, std::string_view child_comm,
                                               int32_t child_pid) {
  parent_comm = comm_of(parent_comm);
  child_comm = comm_of(child_comm);
  auto record = start<SchedProcessForkModel>("sched_process_fork", common_pid,
                                             parent_comm.size() + child_comm.size() + 2);
  size_t at = sizeof(SchedProcessForkModel);
  put(record, offsetof(SchedProcessForkModel, __data_loc_parent_comm),
      put_string(record, at, parent_comm));
  put(record, offsetof(SchedProcessForkModel, parent_pid), parent_pid);
  put(record, offsetof(SchedProcessForkModel, __data_loc_child_comm),
      put_string(record, at, child_comm));
  put(record, offsetof(SchedProcessForkModel, child_pid), child_pid);
  return record;
}

std::vector<uint8_t> sched_process_exit_record(int32_t common_pid, std::string_view comm,
                                               int32_t pid, int32_t prio, bool group_dead) {
  auto record = start<SchedProcessExitModel>("sched_process_exit", common_pid, 0);
  comm = comm_of(comm);
  std::memcpy(record.data() + offsetof(SchedProcessExitModel, comm), comm.data(), comm.size());
  put(record, offsetof(SchedProcessExitModel, pid), pid);
  put(record, offsetof(SchedProcessExitModel, prio), prio);
  put(record, offsetof(SchedProcessExitModel, group_dead), static_cast<uint8_t>(group_dead));
  return record;
}

}  // namespace userbpf::hooks
