// BPF_MAP_TYPE_PERF_EVENT_ARRAY: per-CPU sample buffers for bpf_perf_event_output, and a
// consumer like libbpf's perf_buffer (perf_buffer__new/poll/consume with sample and lost
// callbacks).
//
// Linux stores perf event fds in the map; each event owns a perf ring that user space mmap()s.
// userbpf keeps the buffers inside the map's shared memory file instead, one per slot (slot i
// is "CPU i"), each a 4 KiB control page and kPerfSlotDataSize bytes of data, so a consumer in
// any process sees them. A slot accepts samples only while a consumer has it open (as a Linux
// slot holds an fd only while someone opened the event): otherwise output answers -ENOENT.
//
// Records are perf's: a struct perf_event_header (type, misc, size) then, for
// PERF_RECORD_SAMPLE, a u32 raw size and the raw bytes padded so the record stays 8-byte
// aligned (the callback gets the padded size, as libbpf's does); when a sample does not fit it
// is dropped, output answers -ENOSPC and the loss is reported by a PERF_RECORD_LOST record
// (u64 id, u64 lost) as soon as there is room again. Records may wrap around the end of the data
// area; the consumer copies such a record out before handing it over.
//
// Wake-ups: every sample signals a futex word in the slot's control page (libbpf asks for a
// wake-up per event, wakeup_events = 1); PerfBuffer::poll() sleeps on it, PerfBuffer::fd() is a
// descriptor for poll()/epoll that becomes readable on the same wake-ups.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "userbpf/error.hpp"
#include "userbpf/map.hpp"

namespace userbpf::maps {

class WakeupFd;

inline constexpr uint32_t kPerfSlotDataSize = 64 * 1024;

// bpf_perf_event_output's core: `flags` low 32 bits are the slot index or BPF_F_CURRENT_CPU
// (current_cpu()); other bits must be 0. 0, -E2BIG (index >= max_entries), -ENOENT (no consumer
// has the slot open), -ENOSPC (full: counted as lost), -EINVAL (bad flags or map type).
int perf_event_output(Map& map, uint64_t flags, const void* data, uint64_t size);

using PerfSampleFn = std::function<void(int cpu, const void* data, uint32_t size)>;
using PerfLostFn = std::function<void(int cpu, uint64_t lost)>;

class PerfBuffer {
 public:
  // perf_buffer__new: opens every slot below min(max_entries, possible_cpus()) for output.
  static Result<std::unique_ptr<PerfBuffer>> create(std::shared_ptr<Map> map, PerfSampleFn sample,
                                                    PerfLostFn lost = {});
  // Closes the slots again (later outputs to them answer -ENOENT).
  ~PerfBuffer();
  PerfBuffer(const PerfBuffer&) = delete;
  PerfBuffer& operator=(const PerfBuffer&) = delete;

  // perf_buffer__consume: hands over every record of every slot; returns the records seen
  // (samples and lost records).
  int consume();
  // perf_buffer__poll: consume(); when nothing was there waits up to timeout_ms (-1: forever;
  // the wait is sliced 1 ms per slot) and consumes again.
  int poll(int timeout_ms);
  uint32_t slot_count() const { return slots_; }
  // perf_buffer__epoll_fd's role: a descriptor (an eventfd) that poll()/select()/epoll report
  // readable (POLLIN) after a sample was written to any slot, and at once when records are
  // already waiting. consume() and poll() reset it. The first call starts one watcher thread.
  Result<int> fd();

 private:
  PerfBuffer();
  int consume_slots();
  std::shared_ptr<Map> map_;
  PerfSampleFn sample_;
  PerfLostFn lost_;
  uint32_t slots_ = 0;
  std::unique_ptr<WakeupFd> wakeup_;
};

}  // namespace userbpf::maps
