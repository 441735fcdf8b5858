// BPF_MAP_TYPE_QUEUE and BPF_MAP_TYPE_STACK (kernel/bpf/queue_stack_maps.c): a ring of
// max_entries + 1 value slots with head and tail indexes under one process-shared spinlock.
// push with BPF_EXIST overwrites the oldest value when full; pop and peek take from the tail
// (queue, FIFO) or below the head (stack, LIFO).
#include <linux/bpf.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "maps/map_impls.hpp"
#include "maps/spinlock.hpp"

namespace userbpf::maps {
namespace {

struct RingControl {
  std::atomic<uint32_t> lock;
  uint32_t head;  // next slot to write
  uint32_t tail;  // oldest value
};

constexpr uint64_t kControlOffset = kHeaderSize;
constexpr uint64_t kSlotsOffset = kHeaderSize + 64;

class QueueStackMap final : public Map {
 public:
  QueueStackMap(std::shared_ptr<MapFile> file, const MapSpec& spec, uint32_t ncpus)
      : Map(std::move(file), spec, ncpus),
        stack_(spec.type == BPF_MAP_TYPE_STACK),
        slots_(spec.max_entries + 1),
        ctl_(file_->at<RingControl>(kControlOffset)),
        values_(file_->base() + kSlotsOffset) {}

  static uint64_t file_size(const MapSpec& spec, uint32_t) {
    return round_up_page(kSlotsOffset + (uint64_t{spec.max_entries} + 1) * spec.value_size);
  }

  int push(const void* value, uint64_t flags) override {
    if ((flags & BPF_NOEXIST) || flags > BPF_EXIST) return -EINVAL;
    SpinGuard guard(ctl_->lock);
    uint32_t head = ctl_->head % slots_;  // modulo: never trust shared indexes blindly
    uint32_t tail = ctl_->tail % slots_;
    if ((head + 1) % slots_ == tail) {
      if (!(flags & BPF_EXIST)) return -E2BIG;
      ctl_->tail = (tail + 1) % slots_;  // drop the oldest value
    }
    std::memcpy(slot(head), value, spec_.value_size);
    ctl_->head = (head + 1) % slots_;
    return 0;
  }

  int pop(void* value) override { return get(value, true); }
  int peek(void* value) override { return get(value, false); }

  uint32_t size() const override {
    SpinGuard guard(ctl_->lock);
    return (ctl_->head % slots_ + slots_ - ctl_->tail % slots_) % slots_;
  }

 protected:
  int sys_lookup(const void*, void* value, uint64_t) override { return peek(value); }
  int sys_update(const void*, const void* value, uint64_t flags) override {
    return push(value, flags);
  }
  int sys_lookup_and_delete(const void*, void* value, uint64_t) override { return pop(value); }

 private:
  uint8_t* slot(uint32_t index) const { return values_ + uint64_t{index} * spec_.value_size; }

  int get(void* value, bool remove) {
    SpinGuard guard(ctl_->lock);
    uint32_t head = ctl_->head % slots_;
    uint32_t tail = ctl_->tail % slots_;
    if (head == tail) return -ENOENT;
    if (stack_) {
      uint32_t index = head == 0 ? slots_ - 1 : head - 1;
      std::memcpy(value, slot(index), spec_.value_size);
      if (remove) ctl_->head = index;
    } else {
      std::memcpy(value, slot(tail), spec_.value_size);
      if (remove) ctl_->tail = (tail + 1) % slots_;
    }
    return 0;
  }

  const bool stack_;
  const uint32_t slots_;
  RingControl* ctl_;
  uint8_t* values_;
};

const MapKind kQueueStackKind = {
    &QueueStackMap::file_size,
    [](std::shared_ptr<MapFile> file, const MapSpec& spec, uint32_t ncpus) -> std::shared_ptr<Map> {
      return std::make_shared<QueueStackMap>(std::move(file), spec, ncpus);
    },
    [](Map&) {},  // head == tail == 0: empty
};

}  // namespace

const MapKind* queue_stack_kind() {
  return &kQueueStackKind;
}

}  // namespace userbpf::maps
