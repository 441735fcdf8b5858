// BPF_MAP_TYPE_PERF_EVENT_ARRAY with userbpf's in-file per-slot buffers (see
// include/userbpf/perf_buffer.hpp). One slot: a control page then kPerfSlotDataSize data bytes.
// Producers of one slot serialise on its process-shared spinlock; the consumer advances
// data_tail, producers data_head, as in perf's mmap page.
#include <linux/bpf.h>
#include <linux/futex.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <vector>

#include "maps/map_impls.hpp"
#include "maps/perf_event_array_internal.hpp"
#include "maps/spinlock.hpp"
#include "maps/wakeup_fd.hpp"
#include "userbpf/perf_buffer.hpp"

namespace userbpf::maps {
namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kSlotSize = kPage + kPerfSlotDataSize;
constexpr uint64_t kDataMask = kPerfSlotDataSize - 1;
static_assert((kPerfSlotDataSize & kDataMask) == 0, "data size must be a power of two");

struct SlotControl {
  std::atomic<uint32_t> lock;
  std::atomic<uint32_t> active;     // a consumer has the slot open
  std::atomic<uint64_t> data_head;  // bytes written (producers)
  std::atomic<uint64_t> data_tail;  // bytes consumed (consumer)
  uint64_t lost_pending;            // samples dropped since the last LOST record (under lock)
  std::atomic<uint64_t> lost_total;
  std::atomic<uint32_t> wake_seq;  // futex word
  std::atomic<uint32_t> waiters;
};

struct LostRecord {
  perf_event_header header;
  uint64_t id;
  uint64_t lost;
};

class PerfEventArrayMap final : public Map {
 public:
  PerfEventArrayMap(std::shared_ptr<MapFile> file, const MapSpec& spec, uint32_t ncpus)
      : Map(std::move(file), spec, ncpus) {}

  static uint64_t file_size(const MapSpec& spec, uint32_t) {
    return kHeaderSize + uint64_t{spec.max_entries} * kSlotSize;
  }

  SlotControl& control(uint32_t slot) const {
    return *file_->at<SlotControl>(kHeaderSize + uint64_t{slot} * kSlotSize);
  }
  uint8_t* slot_data(uint32_t slot) const {
    return file_->base() + kHeaderSize + uint64_t{slot} * kSlotSize + kPage;
  }

  // Copies `n` bytes into the data area at ring position `pos`, wrapping at the end.
  void write_at(uint32_t slot, uint64_t pos, const void* src, uint64_t n) const {
    const uint64_t off = pos & kDataMask;
    const uint64_t first = std::min<uint64_t>(n, kPerfSlotDataSize - off);
    std::memcpy(slot_data(slot) + off, src, first);
    std::memcpy(slot_data(slot), static_cast<const uint8_t*>(src) + first, n - first);
  }
  void read_at(uint32_t slot, uint64_t pos, void* dst, uint64_t n) const {
    const uint64_t off = pos & kDataMask;
    const uint64_t first = std::min<uint64_t>(n, kPerfSlotDataSize - off);
    std::memcpy(dst, slot_data(slot) + off, first);
    std::memcpy(static_cast<uint8_t*>(dst) + first, slot_data(slot), n - first);
  }

  int output(uint32_t slot, const void* raw, uint64_t size) {
    SlotControl& c = control(slot);
    if (!c.active.load(std::memory_order_acquire)) return -ENOENT;
    // PERF_SAMPLE_RAW pads the raw size so header + u32 size + raw stays 8-byte aligned.
    const uint64_t padded = ((size + sizeof(uint32_t) + 7) & ~uint64_t{7}) - sizeof(uint32_t);
    const uint64_t len = sizeof(perf_event_header) + sizeof(uint32_t) + padded;
    if (len > 0xffff) return -E2BIG;  // perf_event_header::size is 16 bits
    {
      SpinGuard guard(c.lock);
      uint64_t head = c.data_head.load(std::memory_order_relaxed);
      const uint64_t tail = c.data_tail.load(std::memory_order_acquire);
      if (c.lost_pending != 0 && kPerfSlotDataSize - (head - tail) >= sizeof(LostRecord)) {
        LostRecord lost{{PERF_RECORD_LOST, 0, sizeof(LostRecord)}, 0, c.lost_pending};
        write_at(slot, head, &lost, sizeof(lost));
        head += sizeof(lost);
        c.lost_pending = 0;
      }
      if (c.lost_pending != 0 || kPerfSlotDataSize - (head - tail) < len) {
        ++c.lost_pending;
        c.lost_total.fetch_add(1, std::memory_order_relaxed);
        c.data_head.store(head, std::memory_order_release);
        return -ENOSPC;
      }
      perf_event_header header{PERF_RECORD_SAMPLE, 0, static_cast<uint16_t>(len)};
      const auto raw_size = static_cast<uint32_t>(padded);
      write_at(slot, head, &header, sizeof(header));
      write_at(slot, head + sizeof(header), &raw_size, sizeof(raw_size));
      write_at(slot, head + sizeof(header) + sizeof(raw_size), raw, size);
      static const uint8_t zeros[8] = {};
      write_at(slot, head + sizeof(header) + sizeof(raw_size) + size, zeros, padded - size);
      c.data_head.store(head + len, std::memory_order_release);
    }
    c.wake_seq.fetch_add(1, std::memory_order_seq_cst);
    if (c.waiters.load(std::memory_order_seq_cst) != 0) {
      syscall(SYS_futex, reinterpret_cast<uint32_t*>(&c.wake_seq), FUTEX_WAKE, INT_MAX, nullptr,
              nullptr, 0);
    }
    return 0;
  }

  // User space: Linux's lookup of a perf_event_array answers -EOPNOTSUPP (fd arrays have no
  // lookup from the syscall); slots are opened by consumers, not by update.
 protected:
  int sys_lookup(const void*, void*, uint64_t) override { return -EOPNOTSUPP; }
  int sys_update(const void*, const void*, uint64_t) override { return -EOPNOTSUPP; }

 public:
  int erase(const void* key) override {
    uint32_t index;
    std::memcpy(&index, key, sizeof(index));
    if (index >= spec_.max_entries) return -E2BIG;
    return control(index).active.exchange(0) ? 0 : -ENOENT;
  }
  int get_next_key(const void* key, void* next_key) override {
    uint32_t next = 0;
    if (key != nullptr) {
      uint32_t index;
      std::memcpy(&index, key, sizeof(index));
      if (index < spec_.max_entries) {
        if (index == spec_.max_entries - 1) return -ENOENT;
        next = index + 1;
      }
    }
    std::memcpy(next_key, &next, sizeof(next));
    return 0;
  }
};

const MapKind kPerfEventArrayKind = {
    &PerfEventArrayMap::file_size,
    [](std::shared_ptr<MapFile> file, const MapSpec& spec, uint32_t ncpus) -> std::shared_ptr<Map> {
      return std::make_shared<PerfEventArrayMap>(std::move(file), spec, ncpus);
    },
    [](Map&) {},
};

PerfEventArrayMap* as_perf(Map* map) {
  return dynamic_cast<PerfEventArrayMap*>(map);
}

}  // namespace

const MapKind* perf_event_array_kind() {
  return &kPerfEventArrayKind;
}

int perf_event_output(Map& map, uint64_t flags, const void* data, uint64_t size) {
  PerfEventArrayMap* perf = as_perf(&map);
  if (perf == nullptr || (flags & ~uint64_t{BPF_F_INDEX_MASK})) return -EINVAL;
  uint64_t index = flags & BPF_F_INDEX_MASK;
  if (index == BPF_F_CURRENT_CPU) index = current_cpu();
  if (index >= perf->spec().max_entries) return -E2BIG;
  return perf->output(static_cast<uint32_t>(index), data, size);
}

Result<std::unique_ptr<PerfBuffer>> PerfBuffer::create(std::shared_ptr<Map> map,
                                                       PerfSampleFn sample, PerfLostFn lost) {
  if (!map || as_perf(map.get()) == nullptr) {
    return make_error(Errc::invalid_argument, "map '" +
                                                  (map ? map->spec().name : std::string("<null>")) +
                                                  "' is not a perf_event_array map");
  }
  if (!sample) return make_error(Errc::invalid_argument, "perf buffer sample callback is empty");
  std::unique_ptr<PerfBuffer> pb(new PerfBuffer());
  pb->slots_ = std::min(map->spec().max_entries, possible_cpus());
  PerfEventArrayMap* perf = as_perf(map.get());
  for (uint32_t i = 0; i < pb->slots_; ++i) {
    if (perf->control(i).active.exchange(1) != 0) {
      for (uint32_t j = 0; j < i; ++j) perf->control(j).active.store(0);
      return make_error(Errc::invalid_argument, "slot " + std::to_string(i) + " of map '" +
                                                    map->spec().name + "' already has a consumer");
    }
  }
  pb->map_ = std::move(map);
  pb->sample_ = std::move(sample);
  pb->lost_ = std::move(lost);
  return pb;
}

PerfBuffer::PerfBuffer() = default;

PerfBuffer::~PerfBuffer() {
  wakeup_.reset();  // the watcher sleeps on the slots' words: stop it first
  if (!map_) return;
  PerfEventArrayMap* perf = as_perf(map_.get());
  for (uint32_t i = 0; i < slots_; ++i) perf->control(i).active.store(0);
}

int PerfBuffer::consume() {
  // Reset readiness first: a sample written while we consume makes the fd readable again.
  if (wakeup_) wakeup_->drain();
  return consume_slots();
}

Result<int> PerfBuffer::fd() {
  if (wakeup_) return wakeup_->fd();
  PerfEventArrayMap* perf = as_perf(map_.get());
  std::vector<WakeupFd::Word> words;
  bool waiting = false;
  for (uint32_t i = 0; i < slots_; ++i) {
    SlotControl& c = perf->control(i);
    words.push_back({&c.wake_seq, &c.waiters});
    waiting |= c.data_head.load() != c.data_tail.load();
  }
  auto started = WakeupFd::start(std::move(words));
  if (!started) return started.take_error();
  wakeup_ = std::move(*started);
  if (waiting) wakeup_->signal();
  return wakeup_->fd();
}

int PerfBuffer::consume_slots() {
  PerfEventArrayMap* perf = as_perf(map_.get());
  int count = 0;
  std::vector<uint8_t> record;
  for (uint32_t slot = 0; slot < slots_; ++slot) {
    SlotControl& c = perf->control(slot);
    uint64_t tail = c.data_tail.load(std::memory_order_relaxed);
    const uint64_t head = c.data_head.load(std::memory_order_acquire);
    while (tail < head) {
      perf_event_header header;
      perf->read_at(slot, tail, &header, sizeof(header));
      if (header.size < sizeof(header) || header.size > head - tail) break;  // corrupt: stop
      record.resize(header.size);
      perf->read_at(slot, tail, record.data(), header.size);
      if (header.type == PERF_RECORD_SAMPLE && header.size >= sizeof(header) + 4) {
        uint32_t raw_size;
        std::memcpy(&raw_size, record.data() + sizeof(header), 4);
        raw_size = std::min<uint32_t>(raw_size, header.size - sizeof(header) - 4);
        sample_(static_cast<int>(slot), record.data() + sizeof(header) + 4, raw_size);
      } else if (header.type == PERF_RECORD_LOST && header.size >= sizeof(LostRecord)) {
        LostRecord lost;
        std::memcpy(&lost, record.data(), sizeof(lost));
        if (lost_) lost_(static_cast<int>(slot), lost.lost);
      }
      tail += header.size;
      ++count;
      c.data_tail.store(tail, std::memory_order_release);
    }
  }
  return count;
}

int PerfBuffer::poll(int timeout_ms) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms < 0 ? 0 : timeout_ms);
  PerfEventArrayMap* perf = as_perf(map_.get());
  for (;;) {
    std::vector<uint32_t> seen(slots_);
    for (uint32_t i = 0; i < slots_; ++i) seen[i] = perf->control(i).wake_seq.load();
    if (int n = consume(); n != 0) return n;
    int left = -1;
    if (timeout_ms >= 0) {
      auto rest = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (rest.count() <= 0) return 0;
      left = static_cast<int>(rest.count());
    }
    for (uint32_t i = 0; i < slots_; ++i) {
      SlotControl& c = perf->control(i);
      const int slice = slots_ == 1 ? left : (left < 0 ? 1 : std::min(left, 1));
      timespec ts{slice / 1000, static_cast<long>(slice % 1000) * 1000000};
      c.waiters.fetch_add(1, std::memory_order_seq_cst);
      if (c.wake_seq.load(std::memory_order_seq_cst) == seen[i]) {
        syscall(SYS_futex, reinterpret_cast<uint32_t*>(&c.wake_seq), FUTEX_WAIT, seen[i],
                slice < 0 ? nullptr : &ts, nullptr, 0);
      }
      c.waiters.fetch_sub(1, std::memory_order_seq_cst);
    }
  }
}

}  // namespace userbpf::maps
