// The ringbuf map object shared by the program side (ringbuf_map.cpp) and the consumer
// (ringbuf_consumer.cpp).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "maps/map_file.hpp"
#include "maps/wakeup_fd.hpp"
#include "userbpf/map.hpp"

namespace userbpf::maps {

struct MapKind;
const MapKind* ringbuf_kind();

class RingbufMap final : public Map {
 public:
  RingbufMap(std::shared_ptr<MapFile> file, const MapSpec& spec, uint32_t ncpus);
  ~RingbufMap() override;

  static uint64_t file_size(const MapSpec& spec, uint32_t ncpus);
  // The ring of the record `sample` (a pointer reserve() returned in this process).
  static RingbufMap* from_sample(const void* sample);

  void* reserve(uint64_t size);
  void commit(uint8_t* header, uint64_t flags, bool discard);

  uint8_t* view() const { return view_; }  // nullptr when the ring could not be mapped
  uint64_t data_size() const { return mask_ + 1; }
  uint8_t* ring_data() const;  // the data area, mapped twice back to back
  std::atomic<uint64_t>& consumer_pos() const;
  std::atomic<uint64_t>& producer_pos() const;

  // Wake-ups: a futex word in the shared file.
  void wake();
  uint64_t wakeups() const;
  uint32_t wake_seq() const;
  // Sleeps until the wake-up word differs from `seen` or timeout_ms passes (-1: no timeout).
  void wait(uint32_t seen, int timeout_ms);
  // The wake-up word and its sleeper count, for a pollable descriptor (wakeup_fd.hpp).
  WakeupFd::Word wakeup_word() const;

 private:
  uint64_t mask_;
  uint8_t* view_ = nullptr;
  uint64_t view_size_ = 0;
};

}  // namespace userbpf::maps
