// BPF_MAP_TYPE_RINGBUF (kernel/bpf/ringbuf.c semantics): one multi-producer, single-consumer
// ring of variable-length records in the map's shared memory file. See include/userbpf/ringbuf.hpp
// for the layout and the wake-up design.
//
// Each process maps the ring into one private address range:
//   [self page: anonymous, holds the RingbufMap*][file: header, consumer page, producer page,
//   data][data again]
// The record header's page offset counts pages from the start of that range, so submit/discard
// find the ring (and its map object) from the sample pointer alone, as the kernel's
// bpf_ringbuf_restore_from_rec does.
#include <linux/bpf.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <map>
#include <mutex>

#include "maps/map_impls.hpp"
#include "maps/ringbuf_internal.hpp"
#include "maps/spinlock.hpp"
#include "userbpf/ringbuf.hpp"

namespace userbpf::maps {
namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kConsumerOff = kHeaderSize;          // consumer page in the file
constexpr uint64_t kProducerOff = kHeaderSize + kPage;  // producer page in the file
constexpr uint64_t kDataOff = kHeaderSize + 2 * kPage;  // data area in the file
constexpr uint64_t kControlOff = 2048;                  // RingControl inside the header page
constexpr uint64_t kMaxRecordSize = UINT_MAX / 4;       // the kernel's RINGBUF_MAX_RECORD_SZ
constexpr uint64_t kSelfMagic = 0x46424752504255ull;    // "UBPRGBF"

// Producer-side state the kernel keeps in struct bpf_ringbuf outside the mapped pages.
struct RingControl {
  std::atomic<uint32_t> lock;      // rb->spinlock
  std::atomic<uint32_t> wake_seq;  // futex word: bumped by every wake-up
  std::atomic<uint32_t> waiters;   // consumers sleeping on wake_seq
  uint32_t reserved;
  uint64_t pending_pos;           // rb->pending_pos (under lock)
  std::atomic<uint64_t> wakeups;  // total wake-ups signalled
};
static_assert(sizeof(FileHeader) <= kControlOff);

struct SelfPage {
  uint64_t magic;
  RingbufMap* map;
};

// Address ranges of every ring mapped in this process: lets ringbuf_is_reserved() check a
// pointer a checked program hands over before reading its header.
std::mutex g_views_mutex;
std::map<uintptr_t, uintptr_t> g_views;  // start -> end

uint64_t round_up8_64(uint64_t n) {
  return (n + 7) & ~uint64_t{7};
}

}  // namespace

RingbufMap::RingbufMap(std::shared_ptr<MapFile> file, const MapSpec& spec, uint32_t ncpus)
    : Map(std::move(file), spec, ncpus), mask_(uint64_t{spec.max_entries} - 1) {
  const uint64_t data = spec.max_entries;
  view_size_ = kPage + kDataOff + 2 * data;
  void* va =
      mmap(nullptr, view_size_, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  bool ok = va != MAP_FAILED;
  auto* base = static_cast<uint8_t*>(va);
  ok = ok && mmap(base, kPage, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1,
                  0) != MAP_FAILED;
  ok = ok && mmap(base + kPage, kDataOff + data, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_SHARED,
                  file_->fd(), 0) != MAP_FAILED;
  ok = ok && mmap(base + kPage + kDataOff + data, data, PROT_READ | PROT_WRITE,
                  MAP_FIXED | MAP_SHARED, file_->fd(), static_cast<off_t>(kDataOff)) != MAP_FAILED;
  if (!ok) {
    // Out of address space: leave the ring unusable (reserve answers NULL) rather than crash.
    if (va != MAP_FAILED) munmap(va, view_size_);
    view_ = nullptr;
    return;
  }
  view_ = base;
  auto* self = reinterpret_cast<SelfPage*>(base);
  self->magic = kSelfMagic;
  self->map = this;
  std::lock_guard<std::mutex> guard(g_views_mutex);
  g_views[reinterpret_cast<uintptr_t>(base)] = reinterpret_cast<uintptr_t>(base) + view_size_;
}

RingbufMap::~RingbufMap() {
  if (view_ == nullptr) return;
  {
    std::lock_guard<std::mutex> guard(g_views_mutex);
    g_views.erase(reinterpret_cast<uintptr_t>(view_));
  }
  munmap(view_, view_size_);
}

uint64_t RingbufMap::file_size(const MapSpec& spec, uint32_t) {
  return kDataOff + uint64_t{spec.max_entries};
}

std::atomic<uint64_t>& RingbufMap::consumer_pos() const {
  return *reinterpret_cast<std::atomic<uint64_t>*>(view_ + kPage + kConsumerOff);
}
std::atomic<uint64_t>& RingbufMap::producer_pos() const {
  return *reinterpret_cast<std::atomic<uint64_t>*>(view_ + kPage + kProducerOff);
}
uint8_t* RingbufMap::ring_data() const {
  return view_ + kPage + kDataOff;
}

static RingControl& control_of(uint8_t* view) {
  return *reinterpret_cast<RingControl*>(view + kPage + kControlOff);
}

void* RingbufMap::reserve(uint64_t size) {
  if (view_ == nullptr || size > kMaxRecordSize) return nullptr;
  const uint64_t len = round_up8_64(size + kRingbufHeaderSize);
  if (len > data_size()) return nullptr;
  RingControl& c = control_of(view_);
  const uint64_t cons_pos = consumer_pos().load(std::memory_order_acquire);
  SpinGuard guard(c.lock);
  uint64_t pend_pos = c.pending_pos;
  const uint64_t prod_pos = producer_pos().load(std::memory_order_relaxed);
  const uint64_t new_prod_pos = prod_pos + len;
  // Advance past records already committed: the oldest uncommitted record bounds how far the
  // producer may run ahead, so a slow committer is never overwritten.
  while (prod_pos > pend_pos) {
    auto& hlen = *reinterpret_cast<std::atomic<uint32_t>*>(ring_data() + (pend_pos & mask_));
    const uint32_t l = hlen.load(std::memory_order_acquire);
    if (l & kRingbufBusyBit) break;
    pend_pos += round_up8_64((l & ~kRingbufDiscardBit) + kRingbufHeaderSize);
  }
  c.pending_pos = pend_pos;
  if (new_prod_pos - cons_pos > mask_ || new_prod_pos - pend_pos > mask_) return nullptr;
  uint8_t* hdr = ring_data() + (prod_pos & mask_);
  const auto pg_off = static_cast<uint32_t>((hdr - view_) / kPage);
  reinterpret_cast<std::atomic<uint32_t>*>(hdr)->store(
      static_cast<uint32_t>(size) | kRingbufBusyBit, std::memory_order_relaxed);
  std::memcpy(hdr + 4, &pg_off, sizeof(pg_off));
  producer_pos().store(new_prod_pos, std::memory_order_release);
  return hdr + kRingbufHeaderSize;
}

void RingbufMap::commit(uint8_t* hdr, uint64_t flags, bool discard) {
  auto& hlen = *reinterpret_cast<std::atomic<uint32_t>*>(hdr);
  uint32_t new_len = hlen.load(std::memory_order_relaxed) & ~kRingbufBusyBit;
  if (discard) new_len |= kRingbufDiscardBit;
  hlen.exchange(new_len, std::memory_order_seq_cst);
  const uint64_t rec_pos = static_cast<uint64_t>(hdr - ring_data());
  const uint64_t cons_pos = consumer_pos().load(std::memory_order_seq_cst) & mask_;
  if ((flags & BPF_RB_FORCE_WAKEUP) || (cons_pos == rec_pos && !(flags & BPF_RB_NO_WAKEUP))) {
    wake();
  }
}

void RingbufMap::wake() {
  RingControl& c = control_of(view_);
  c.wakeups.fetch_add(1, std::memory_order_relaxed);
  c.wake_seq.fetch_add(1, std::memory_order_seq_cst);
  if (c.waiters.load(std::memory_order_seq_cst) != 0) {
    syscall(SYS_futex, reinterpret_cast<uint32_t*>(&c.wake_seq), FUTEX_WAKE, INT_MAX, nullptr,
            nullptr, 0);
  }
}

uint64_t RingbufMap::wakeups() const {
  return view_ ? control_of(view_).wakeups.load(std::memory_order_relaxed) : 0;
}

uint32_t RingbufMap::wake_seq() const {
  return control_of(view_).wake_seq.load(std::memory_order_seq_cst);
}

void RingbufMap::wait(uint32_t seen, int timeout_ms) {
  RingControl& c = control_of(view_);
  c.waiters.fetch_add(1, std::memory_order_seq_cst);
  if (c.wake_seq.load(std::memory_order_seq_cst) == seen) {
    timespec ts{};
    timespec* tsp = nullptr;
    if (timeout_ms >= 0) {
      ts.tv_sec = timeout_ms / 1000;
      ts.tv_nsec = static_cast<long>(timeout_ms % 1000) * 1000000;
      tsp = &ts;
    }
    syscall(SYS_futex, reinterpret_cast<uint32_t*>(&c.wake_seq), FUTEX_WAIT, seen, tsp, nullptr, 0);
  }
  c.waiters.fetch_sub(1, std::memory_order_seq_cst);
}

WakeupFd::Word RingbufMap::wakeup_word() const {
  RingControl& c = control_of(view_);
  return {&c.wake_seq, &c.waiters};
}

RingbufMap* RingbufMap::from_sample(const void* sample) {
  const auto hdr = reinterpret_cast<uintptr_t>(sample) - kRingbufHeaderSize;
  uint32_t pg_off;
  std::memcpy(&pg_off, reinterpret_cast<const void*>(hdr + 4), sizeof(pg_off));
  const uintptr_t base = (hdr & ~(kPage - 1)) - uint64_t{pg_off} * kPage;
  return reinterpret_cast<const SelfPage*>(base)->map;
}

bool ringbuf_is_reserved(const void* sample) {
  const auto addr = reinterpret_cast<uintptr_t>(sample);
  if (addr % 8 != 0 || addr < kRingbufHeaderSize) return false;
  const uintptr_t hdr = addr - kRingbufHeaderSize;
  std::lock_guard<std::mutex> guard(g_views_mutex);
  auto it = g_views.upper_bound(hdr);
  if (it == g_views.begin()) return false;
  --it;
  const uintptr_t start = it->first;
  const uintptr_t data_start = start + kPage + kDataOff;
  if (hdr < data_start || hdr + kRingbufHeaderSize > it->second) return false;
  const auto* self = reinterpret_cast<const SelfPage*>(start);
  if (self->magic != kSelfMagic) return false;
  uint32_t len, pg_off;
  std::memcpy(&len, reinterpret_cast<const void*>(hdr), 4);
  std::memcpy(&pg_off, reinterpret_cast<const void*>(hdr + 4), 4);
  return (len & kRingbufBusyBit) && pg_off == (hdr - start) / kPage;
}

void* ringbuf_reserve(Map& map, uint64_t size, uint64_t flags) {
  auto* rb = dynamic_cast<RingbufMap*>(&map);
  if (rb == nullptr || flags != 0) return nullptr;
  return rb->reserve(size);
}

void ringbuf_submit(void* sample, uint64_t flags) {
  RingbufMap::from_sample(sample)->commit(static_cast<uint8_t*>(sample) - kRingbufHeaderSize, flags,
                                          false);
}

void ringbuf_discard(void* sample, uint64_t flags) {
  RingbufMap::from_sample(sample)->commit(static_cast<uint8_t*>(sample) - kRingbufHeaderSize, flags,
                                          true);
}

int ringbuf_output(Map& map, const void* data, uint64_t size, uint64_t flags) {
  if (flags & ~uint64_t{BPF_RB_NO_WAKEUP | BPF_RB_FORCE_WAKEUP}) return -EINVAL;
  auto* rb = dynamic_cast<RingbufMap*>(&map);
  if (rb == nullptr) return -EINVAL;
  void* rec = rb->reserve(size);
  if (rec == nullptr) return -EAGAIN;
  if (size != 0) std::memcpy(rec, data, size);
  rb->commit(static_cast<uint8_t*>(rec) - kRingbufHeaderSize, flags, false);
  return 0;
}

uint64_t ringbuf_query(Map& map, uint64_t flags) {
  auto* rb = dynamic_cast<RingbufMap*>(&map);
  if (rb == nullptr || rb->view() == nullptr) return 0;
  switch (flags) {
    case BPF_RB_AVAIL_DATA:
      return rb->producer_pos().load(std::memory_order_acquire) -
             rb->consumer_pos().load(std::memory_order_acquire);
    case BPF_RB_RING_SIZE: return rb->data_size();
    case BPF_RB_CONS_POS: return rb->consumer_pos().load(std::memory_order_acquire);
    case BPF_RB_PROD_POS: return rb->producer_pos().load(std::memory_order_acquire);
    default: return 0;
  }
}

uint64_t ringbuf_wakeups(Map& map) {
  auto* rb = dynamic_cast<RingbufMap*>(&map);
  return rb ? rb->wakeups() : 0;
}

namespace {
const MapKind kRingbufKind = {
    &RingbufMap::file_size,
    [](std::shared_ptr<MapFile> file, const MapSpec& spec, uint32_t ncpus) -> std::shared_ptr<Map> {
      return std::make_shared<RingbufMap>(std::move(file), spec, ncpus);
    },
    [](Map&) {},  // positions start at 0, every header zero
};
}  // namespace

const MapKind* ringbuf_kind() {
  return &kRingbufKind;
}

}  // namespace userbpf::maps
