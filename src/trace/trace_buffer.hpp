// The runtime-wide trace buffer behind bpf_trace_printk and `userbpf trace_pipe`.
//
// Like the kernel's ftrace ring buffer it lives in one place for the whole system: a memory-mapped
// file in the runtime's state directory, written by every process that runs programs and read,
// live, by another. Reads consume (trace_pipe semantics); when the buffer is full the oldest
// events are overwritten and counted as overruns, as the kernel does.
//
// Invariants of the shared layout (trace_buffer.cpp):
//   1. head and tail are byte counters that only grow; tail <= head <= tail + capacity.
//   2. Every byte in [tail, head) (modulo capacity) belongs to a complete record.
//   3. head advances only after its record is fully written, so a writer that dies mid-write
//      leaves no partial record visible; a lock held by a dead process is taken over.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "userbpf/error.hpp"

namespace userbpf::trace {

struct TraceEvent {
  uint64_t timestamp_ns = 0;  // CLOCK_MONOTONIC, like the kernel's default trace clock
  int32_t pid = 0;            // the thread id, as the kernel prints it
  int32_t cpu = 0;
  std::string comm;  // at most 15 characters are kept, like TASK_COMM_LEN
  std::string message;
};

// One line of trace_pipe, newline included:
// "            bash-6193    [000] d..1.  2531.337643: bpf_trace_printk: Hello\n"
std::string format_trace_line(const TraceEvent& event);

// Fills timestamp, pid, cpu and comm from the calling thread.
TraceEvent event_for_current_thread(std::string message);

class TraceBuffer {
 public:
  inline static constexpr size_t kDefaultCapacity = 1 << 20;

  // Opens the buffer file, creating it (with `capacity` bytes of data, rounded up to a power of
  // two) when it does not exist yet.
  static Result<TraceBuffer> open(const std::filesystem::path& file,
                                  size_t capacity = kDefaultCapacity);
  // A buffer private to this process (tests, embedding without a state directory).
  static Result<TraceBuffer> anonymous(size_t capacity = kDefaultCapacity);

  TraceBuffer(TraceBuffer&&) noexcept;
  TraceBuffer& operator=(TraceBuffer&&) noexcept;
  ~TraceBuffer();

  void write(const TraceEvent& event);

  // Takes the oldest event; waits up to `wait` for one to arrive. nullopt on timeout.
  std::optional<TraceEvent> read(std::chrono::milliseconds wait = std::chrono::milliseconds(0));

  uint64_t overruns() const;  // events overwritten before anyone read them
  size_t capacity() const;

  struct Mapping;

 private:
  explicit TraceBuffer(std::unique_ptr<Mapping> mapping);
  std::unique_ptr<Mapping> m_;
};

}  // namespace userbpf::trace
