// `run --events`: prints the records programs put in ring buffers and perf event arrays while a
// supervised command runs, decoded by a BTF type (`--event-type TYPE`, looked up in the BTF of
// the object the map came from) or as hex, one line per record (JSON lines under -j).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cli/command_table.hpp"
#include "runtime/runtime.hpp"

namespace userbpf::cli {

class EventPrinter {
 public:
  // Consumers for every ringbuf and perf_event_array map the programs reference. An
  // `event_type` that no program's BTF defines is an error naming it.
  static Result<std::unique_ptr<EventPrinter>> create(
      Context& ctx, runtime::Runtime& rt, const std::vector<runtime::ProgramRecord>& programs,
      const std::string& event_type);
  ~EventPrinter();

  // Prints every record waiting now; returns how many.
  int drain();
  size_t maps() const;

 private:
  struct Impl;
  explicit EventPrinter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace userbpf::cli
