// The sched_process_* records: built-in layouts (the runtime BTF's models) checked against the
// host's tracefs where it is readable, and the bytes of each record.
#include "hooks/sched_records.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>
#include <map>

#include "hooks/tracefs_format.hpp"
#include "runtime/runtime_btf.hpp"

namespace userbpf::hooks {
namespace {

using runtime::SchedProcessExecModel;
using runtime::SchedProcessExitModel;
using runtime::SchedProcessForkModel;

struct Expected {
  uint32_t offset, size;
  bool data_loc;
};

// Every field of the host's format must sit where our model puts it, with its size and kind.
void expect_host_layout(const char* event, const std::map<std::string, Expected>& model) {
  auto host = read_tracepoint_format("sched", event);
  if (!host) GTEST_SKIP() << "tracefs is not readable here";
  for (const auto& f : host->fields) {
    if (f.name.starts_with("common_")) continue;
    if (event == std::string("sched_process_fork") && f.name == "parent_comm" && !f.data_loc) {
      GTEST_SKIP() << "the host kernel predates 6.13's __data_loc comm strings";
    }
    auto it = model.find(f.name);
    ASSERT_NE(it, model.end()) << event << ": the host has a field '" << f.decl
                               << "' the model lacks";
    EXPECT_EQ(f.offset, it->second.offset) << event << "." << f.name;
    EXPECT_EQ(f.size, it->second.size) << event << "." << f.name;
    EXPECT_EQ(f.data_loc, it->second.data_loc) << event << "." << f.name;
  }
  size_t named = 0;
  for (const auto& f : host->fields) named += model.count(f.name);
  EXPECT_EQ(named, model.size()) << event << ": the model has fields the host lacks";
  EXPECT_EQ(sched_event_id(event), host->id);
}

TEST(SchedRecords, BuiltInLayoutsMatchTheHostsTracefs) {
  expect_host_layout("sched_process_exec",
                     {{"filename", {offsetof(SchedProcessExecModel, __data_loc_filename), 4, true}},
                      {"pid", {offsetof(SchedProcessExecModel, pid), 4, false}},
                      {"old_pid", {offsetof(SchedProcessExecModel, old_pid), 4, false}}});
  expect_host_layout(
      "sched_process_fork",
      {{"parent_comm", {offsetof(SchedProcessForkModel, __data_loc_parent_comm), 4, true}},
       {"parent_pid", {offsetof(SchedProcessForkModel, parent_pid), 4, false}},
       {"child_comm", {offsetof(SchedProcessForkModel, __data_loc_child_comm), 4, true}},
       {"child_pid", {offsetof(SchedProcessForkModel, child_pid), 4, false}}});
  expect_host_layout("sched_process_exit",
                     {{"comm", {offsetof(SchedProcessExitModel, comm), 16, false}},
                      {"pid", {offsetof(SchedProcessExitModel, pid), 4, false}},
                      {"prio", {offsetof(SchedProcessExitModel, prio), 4, false}},
                      {"group_dead", {offsetof(SchedProcessExitModel, group_dead), 1, false}}});
}

template <class T>
T at(const std::vector<uint8_t>& record, size_t offset) {
  T value;
  std::memcpy(&value, record.data() + offset, sizeof(T));
  return value;
}

std::string data_loc_string(const std::vector<uint8_t>& record, uint32_t loc) {
  const size_t offset = loc & 0xffff, length = loc >> 16;
  EXPECT_LE(offset + length, record.size());
  EXPECT_EQ(record[offset + length - 1], 0) << "the length counts the NUL";
  return std::string(reinterpret_cast<const char*>(record.data() + offset), length - 1);
}

TEST(SchedRecords, ExecRecordCarriesTheFileNameAfterTheFixedFields) {
  const auto r = sched_process_exec_record(41, "/usr/bin/ls", 41, 43);
  EXPECT_EQ(at<int32_t>(r, offsetof(runtime::TraceEntryModel, pid)), 41);
  EXPECT_EQ(at<uint16_t>(r, 0), sched_event_id("sched_process_exec"));
  EXPECT_EQ(at<int32_t>(r, offsetof(SchedProcessExecModel, pid)), 41);
  EXPECT_EQ(at<int32_t>(r, offsetof(SchedProcessExecModel, old_pid)), 43);
  const auto loc = at<uint32_t>(r, offsetof(SchedProcessExecModel, __data_loc_filename));
  EXPECT_EQ(loc & 0xffff, sizeof(SchedProcessExecModel));
  EXPECT_EQ(loc >> 16, 12u);
  EXPECT_EQ(data_loc_string(r, loc), "/usr/bin/ls");
}

TEST(SchedRecords, ForkRecordHasBothCommsAsStrings) {
  const auto r = sched_process_fork_record(7, "bash", 7, "a-very-long-command-name", 9);
  EXPECT_EQ(at<int32_t>(r, offsetof(SchedProcessForkModel, parent_pid)), 7);
  EXPECT_EQ(at<int32_t>(r, offsetof(SchedProcessForkModel, child_pid)), 9);
  EXPECT_EQ(
      data_loc_string(r, at<uint32_t>(r, offsetof(SchedProcessForkModel, __data_loc_parent_comm))),
      "bash");
  // comm is at most 15 bytes.
  EXPECT_EQ(
      data_loc_string(r, at<uint32_t>(r, offsetof(SchedProcessForkModel, __data_loc_child_comm))),
      "a-very-long-com");
}

TEST(SchedRecords, ExitRecordHasCommPrioAndGroupDead) {
  const auto r = sched_process_exit_record(5, "sleep", 5, 120, true);
  EXPECT_GE(r.size(), sizeof(SchedProcessExitModel));
  EXPECT_STREQ(reinterpret_cast<const char*>(r.data() + offsetof(SchedProcessExitModel, comm)),
               "sleep");
  EXPECT_EQ(at<int32_t>(r, offsetof(SchedProcessExitModel, pid)), 5);
  EXPECT_EQ(at<int32_t>(r, offsetof(SchedProcessExitModel, prio)), 120);
  EXPECT_EQ(at<uint8_t>(r, offsetof(SchedProcessExitModel, group_dead)), 1);
}

}  // namespace
}  // namespace userbpf::hooks
