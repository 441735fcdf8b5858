// BPF_MAP_TYPE_RINGBUF: the program side (what bpf_ringbuf_reserve/submit/discard/output/query
// do) and a consumer like libbpf's ring_buffer (ring_buffer__new/add/poll/consume).
//
// Memory layout (the kernel's, kernel/bpf/ringbuf.c): after the map file's header page come the
// consumer page (u64 consumer_pos at offset 0), the producer page (u64 producer_pos at offset 0)
// and the data area of max_entries bytes (a power of two, a multiple of 4096). Records are
// 8-byte aligned and start with an 8-byte header: u32 length with BUSY (1 << 31, reserved but not
// yet committed) and DISCARD (1 << 30) bits, and u32 page offset of the header from the start of
// the ring's mapping (which is how submit finds its ring from the sample pointer alone). Every
// process maps the data area twice back to back, as the kernel does, so a record that wraps
// around the end is still contiguous in memory.
//
// Producers (any thread of any process that opened the map) serialise on a process-shared
// spinlock in the map file, as the kernel's rb->spinlock; commits are lock-free.
//
// Wake-ups: a futex word in the shared map file (not an eventfd, which could not be shared with
// a consumer in another process). A commit signals it as the kernel queues its irq_work: always
// with BPF_RB_FORCE_WAKEUP, never with BPF_RB_NO_WAKEUP, otherwise only when the consumer has
// caught up to the committed record. RingBuffer::poll() sleeps on that word; RingBuffer::fd()
// gives a descriptor for poll()/epoll that becomes readable on the same wake-ups.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "userbpf/error.hpp"
#include "userbpf/map.hpp"

namespace userbpf::maps {

class WakeupFd;

inline constexpr uint32_t kRingbufBusyBit = 1u << 31;
inline constexpr uint32_t kRingbufDiscardBit = 1u << 30;
inline constexpr uint32_t kRingbufHeaderSize = 8;

// ---- Program side. `map` must be a ringbuf map (other maps: NULL / -EINVAL / 0). ----
// bpf_ringbuf_reserve: a pointer to `size` writable bytes inside the ring, or nullptr when the
// ring lacks space, the size is too large, or flags is not 0.
void* ringbuf_reserve(Map& map, uint64_t size, uint64_t flags);
// bpf_ringbuf_submit / bpf_ringbuf_discard on a pointer ringbuf_reserve returned.
void ringbuf_submit(void* sample, uint64_t flags);
void ringbuf_discard(void* sample, uint64_t flags);
// Is `sample` a reserved, not yet committed record of a ring mapped in this process? (The
// helpers check this in checked runs before committing.)
bool ringbuf_is_reserved(const void* sample);
// bpf_ringbuf_output: reserve + copy + submit; 0, -EAGAIN when full, -EINVAL on bad flags.
int ringbuf_output(Map& map, const void* data, uint64_t size, uint64_t flags);
// bpf_ringbuf_query: BPF_RB_AVAIL_DATA, BPF_RB_RING_SIZE, BPF_RB_CONS_POS, BPF_RB_PROD_POS;
// other flags 0.
uint64_t ringbuf_query(Map& map, uint64_t flags);
// How many wake-ups producers have signalled on this ring (for tests and statistics).
uint64_t ringbuf_wakeups(Map& map);

// ---- Consumer side. ----
// Called once per committed record, in ring order; a negative return stops consume()/poll(),
// which then return it (the record counts as consumed, as in libbpf).
using RingbufSampleFn = std::function<int(const void* data, size_t size)>;

class RingBuffer {
 public:
  // ring_buffer__new: a consumer of one ring map.
  static Result<std::unique_ptr<RingBuffer>> create(std::shared_ptr<Map> map, RingbufSampleFn fn);
  ~RingBuffer();
  RingBuffer(const RingBuffer&) = delete;
  RingBuffer& operator=(const RingBuffer&) = delete;

  // ring_buffer__add: consume another ring too.
  Status add(std::shared_ptr<Map> map, RingbufSampleFn fn);
  // ring_buffer__consume: takes every committed record of every ring without waiting, skipping
  // discarded ones and stopping at a reserved one. Returns the records handed to callbacks (or
  // the first negative callback result).
  int consume();
  // ring_buffer__poll: consume(); when nothing was there, waits up to timeout_ms (-1: forever)
  // for a wake-up and consumes again. With several rings the wait is sliced (1 ms per ring).
  int poll(int timeout_ms);
  // ring_buffer__epoll_fd's role: a descriptor (an eventfd) that poll()/select()/epoll report
  // readable (POLLIN) when a producer signalled a wake-up, or data was left by a callback that
  // stopped consume(). It is readable at once when data is already waiting. consume() and poll()
  // reset it, so the loop is: wait for the fd, then consume(). The first call starts a watcher
  // thread (one per RingBuffer, whatever the number of rings); the fd stays owned by the
  // RingBuffer. Errors: the eventfd or the thread could not be created.
  Result<int> fd();

 private:
  struct Ring;
  RingBuffer();
  int consume_rings();
  Status watch_rings();
  std::vector<std::unique_ptr<Ring>> rings_;
  std::unique_ptr<WakeupFd> wakeup_;
};

}  // namespace userbpf::maps
