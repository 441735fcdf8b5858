// The ring buffer consumer (libbpf's ring_buffer semantics, tools/lib/bpf/ringbuf.c): walks
// records from consumer_pos to producer_pos, hands committed ones to the callback, skips
// discarded ones, stops at one still reserved, and publishes the new consumer_pos after every
// record so producers get the space back at once.
#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdint>

#include "maps/map_types.hpp"
#include "maps/ringbuf_internal.hpp"
#include "userbpf/ringbuf.hpp"

namespace userbpf::maps {

struct RingBuffer::Ring {
  std::shared_ptr<Map> map;
  RingbufMap* rb;
  RingbufSampleFn fn;
};

namespace {

Result<RingbufMap*> as_ring(const std::shared_ptr<Map>& map) {
  auto* rb = dynamic_cast<RingbufMap*>(map.get());
  if (rb == nullptr) {
    return make_error(
        Errc::invalid_argument,
        "map '" + (map ? map->spec().name : std::string("<null>")) + "' is not a ringbuf map");
  }
  if (rb->view() == nullptr) {
    return make_error(Errc::io, "ringbuf map '" + map->spec().name + "' could not be mapped");
  }
  return rb;
}

// Consumes one ring; returns records handed to the callback or a negative callback result.
int consume_ring(RingbufMap& rb, const RingbufSampleFn& fn) {
  const uint64_t mask = rb.data_size() - 1;
  uint64_t cons_pos = rb.consumer_pos().load(std::memory_order_acquire);
  int count = 0;
  for (;;) {
    const uint64_t prod_pos = rb.producer_pos().load(std::memory_order_acquire);
    if (cons_pos >= prod_pos) break;
    uint8_t* hdr = rb.ring_data() + (cons_pos & mask);
    const uint32_t len =
        reinterpret_cast<std::atomic<uint32_t>*>(hdr)->load(std::memory_order_acquire);
    if (len & kRingbufBusyBit) break;  // not committed yet: later records wait for it
    const uint32_t size = len & ~kRingbufDiscardBit;
    cons_pos += (uint64_t{size} + kRingbufHeaderSize + 7) & ~uint64_t{7};
    int err = 0;
    if (!(len & kRingbufDiscardBit)) {
      err = fn(hdr + kRingbufHeaderSize, size);
      if (err >= 0) ++count;
    }
    rb.consumer_pos().store(cons_pos, std::memory_order_seq_cst);
    if (err < 0) return err;
    if (count == INT32_MAX) break;
  }
  return count;
}

}  // namespace

Result<std::unique_ptr<RingBuffer>> RingBuffer::create(std::shared_ptr<Map> map,
                                                       RingbufSampleFn fn) {
  std::unique_ptr<RingBuffer> rb(new RingBuffer());
  if (Status added = rb->add(std::move(map), std::move(fn)); !added) return added.take_error();
  return rb;
}

RingBuffer::RingBuffer() = default;
RingBuffer::~RingBuffer() = default;

Status RingBuffer::add(std::shared_ptr<Map> map, RingbufSampleFn fn) {
  auto rb = as_ring(map);
  if (!rb) return rb.take_error();
  if (!fn) return make_error(Errc::invalid_argument, "ring buffer callback is empty");
  rings_.push_back(std::make_unique<Ring>(Ring{std::move(map), rb.value(), std::move(fn)}));
  // A descriptor already handed out must now watch the new ring too.
  if (wakeup_) {
    std::vector<WakeupFd::Word> words;
    for (auto& ring : rings_) words.push_back(ring->rb->wakeup_word());
    if (Status watching = wakeup_->rewatch(std::move(words)); !watching) return watching;
    wakeup_->signal();  // the new ring may hold data already
  }
  return ok_status();
}

int RingBuffer::consume_rings() {
  int64_t total = 0;
  for (auto& ring : rings_) {
    int n = consume_ring(*ring->rb, ring->fn);
    if (n < 0) return n;
    total += n;
  }
  return total > INT32_MAX ? INT32_MAX : static_cast<int>(total);
}

int RingBuffer::consume() {
  if (!wakeup_) return consume_rings();
  // Reset readiness first: a wake-up signalled while we consume makes the fd readable again.
  wakeup_->drain();
  const int n = consume_rings();
  if (n < 0) wakeup_->signal();  // a callback stopped early: records are still waiting
  return n;
}

Status RingBuffer::watch_rings() {
  std::vector<WakeupFd::Word> words;
  for (auto& ring : rings_) words.push_back(ring->rb->wakeup_word());
  auto started = WakeupFd::start(std::move(words));
  if (!started) return started.take_error();
  wakeup_ = std::move(*started);
  return ok_status();
}

Result<int> RingBuffer::fd() {
  if (!wakeup_) {
    if (Status watching = watch_rings(); !watching) return watching.take_error();
    for (auto& ring : rings_)
      if (ring->rb->producer_pos().load() != ring->rb->consumer_pos().load()) wakeup_->signal();
  }
  return wakeup_->fd();
}

int RingBuffer::poll(int timeout_ms) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms < 0 ? 0 : timeout_ms);
  for (;;) {
    // Read the wake-up words before looking for data, so a commit in between is not missed.
    std::vector<uint32_t> seen;
    seen.reserve(rings_.size());
    for (auto& ring : rings_) seen.push_back(ring->rb->wake_seq());
    int n = consume();
    if (n != 0) return n;
    int left = -1;
    if (timeout_ms >= 0) {
      auto rest = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (rest.count() <= 0) return 0;
      left = static_cast<int>(rest.count());
    }
    if (rings_.size() == 1) {
      rings_[0]->rb->wait(seen[0], left);
      if (timeout_ms == 0) return consume();
    } else {
      for (size_t i = 0; i < rings_.size(); ++i) {
        rings_[i]->rb->wait(seen[i], left < 0 ? 1 : std::min(left, 1));
      }
    }
  }
}

}  // namespace userbpf::maps
