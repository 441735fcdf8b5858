// The userbpf embedding API in one include: open a BPF object, set its globals, load it into a
// runtime, run its programs, use its maps, and consume ring buffer and perf buffer events with
// callbacks and a pollable descriptor. See docs/api.md and examples/embed/.
#pragma once

#include "userbpf/error.hpp"
#include "userbpf/map.hpp"
#include "userbpf/map_access.hpp"
#include "userbpf/object.hpp"
#include "userbpf/perf_buffer.hpp"
#include "userbpf/program.hpp"
#include "userbpf/ringbuf.hpp"
#include "userbpf/runtime.hpp"

namespace userbpf {

// The consumers, under the names an embedding program expects.
using RingBuffer = maps::RingBuffer;
using PerfBuffer = maps::PerfBuffer;

}  // namespace userbpf
