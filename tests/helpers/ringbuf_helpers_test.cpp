// The event and program maps driven by BPF C programs through the runtime: bpf_ringbuf_*
// consumed with RingBuffer, bpf_perf_event_output consumed with PerfBuffer, bpf_tail_call through
// a prog_array the object fills, and lookups through an array of maps. Checked and unchecked.
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <cstring>
#include <map>
#include <vector>

#include "runtime/test_run_util.hpp"
#include "userbpf/map_in_map.hpp"
#include "userbpf/perf_buffer.hpp"
#include "userbpf/ringbuf.hpp"

namespace userbpf::runtime {
namespace {

using testing::bytes_of;
using testing::from_bytes;

// Every program of an object loaded into a private runtime (so prog_array slots are filled),
// instances by name.
struct WholeObject {
  std::filesystem::path dir;
  std::optional<Runtime> rt;
  std::map<std::string, std::unique_ptr<RunnableProgram>> progs;
  std::string error;

  explicit WholeObject(const std::string& file) {
    static int counter = 0;
    dir = std::filesystem::temp_directory_path() /
          ("userbpf-events-test-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(dir);
    auto obj = object::open(testing::runtime_prog(file));
    if (!obj) {
      error = obj.error().to_string();
      return;
    }
    auto opened = Runtime::open(dir);
    if (!opened) {
      error = opened.error().to_string();
      return;
    }
    rt.emplace(std::move(*opened));
    auto records = rt->load(*obj);
    if (!records) {
      error = records.error().to_string();
      return;
    }
    for (const auto& r : *records) {
      auto inst = rt->instantiate(r);
      if (!inst) {
        error = inst.error().to_string();
        return;
      }
      progs[r.name] = std::move(*inst);
    }
  }
  ~WholeObject() {
    progs.clear();
    rt.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::shared_ptr<maps::Map> map(RunnableProgram& prog, uint32_t type) {
    for (const auto& m : prog.maps())
      if (m->spec().type == type) return m;
    return nullptr;
  }
};

struct ChainArgs {
  uint32_t slot;
  uint32_t runs;
  uint64_t trail;
};

TEST(TailCall, JumpsFallsThroughAndStopsAfter33) {
  WholeObject o("tailcall_chain.bpf.o");
  ASSERT_TRUE(o.error.empty()) << o.error;
  RunnableProgram& entry = *o.progs.at("entry");
  for (bool checked : {true, false}) {
    TestRunInput in;
    in.checked = checked;
    in.ctx_in = bytes_of(ChainArgs{1, 0, 0});
    auto out = test_run(entry, in);
    ASSERT_TRUE(out) << out.error().to_string();
    EXPECT_EQ(static_cast<int32_t>(out->retval), 7);
    EXPECT_EQ(from_bytes<ChainArgs>(out->ctx_out).trail, 3u);  // entry then jump_one
    // Empty slot 0, slot 3 and an index past max_entries: fall through.
    for (uint32_t slot : {0u, 3u, 4u, 0xffffffffu}) {
      in.ctx_in = bytes_of(ChainArgs{slot, 0, 0});
      out = test_run(entry, in);
      ASSERT_TRUE(out) << out.error().to_string();
      EXPECT_EQ(static_cast<int32_t>(out->retval), -1) << slot;
      EXPECT_EQ(from_bytes<ChainArgs>(out->ctx_out).trail, 0x101u) << slot;
    }
    // entry -> self_loop is tail call 1; self_loop calls itself until the 33rd tail call, then its
    // next tail call falls through: 33 runs of self_loop (Linux's MAX_TAIL_CALL_CNT).
    in.ctx_in = bytes_of(ChainArgs{2, 0, 0});
    out = test_run(entry, in);
    ASSERT_TRUE(out) << out.error().to_string();
    ChainArgs a = from_bytes<ChainArgs>(out->ctx_out);
    EXPECT_EQ(a.runs, 33u);
    EXPECT_EQ(static_cast<int32_t>(out->retval), 1033);
    EXPECT_EQ(a.trail, 5u);
  }
}

TEST(TailCall, SlotsCanBeRewrittenFromUserSpace) {
  WholeObject o("tailcall_chain.bpf.o");
  ASSERT_TRUE(o.error.empty()) << o.error;
  RunnableProgram& entry = *o.progs.at("entry");
  auto jumps = o.map(entry, BPF_MAP_TYPE_PROG_ARRAY);
  ASSERT_TRUE(jumps);
  uint32_t key = 1, id = 0;
  ASSERT_EQ(jumps->lookup_copy(&key, &id), 0);
  EXPECT_EQ(id, o.progs.at("jump_one")->record().id);
  ASSERT_EQ(jumps->delete_copy(&key), 0);
  EXPECT_EQ(jumps->lookup_copy(&key, &id), -ENOENT);
  TestRunInput in;
  in.ctx_in = bytes_of(ChainArgs{1, 0, 0});
  auto out = test_run(entry, in);
  ASSERT_TRUE(out);
  EXPECT_EQ(static_cast<int32_t>(out->retval), -1);
  // An id no program has falls through too.
  uint32_t bogus = 999999;
  ASSERT_EQ(jumps->update_copy(&key, &bogus), 0);
  out = test_run(entry, in);
  ASSERT_TRUE(out);
  EXPECT_EQ(static_cast<int32_t>(out->retval), -1);
  uint32_t target = o.progs.at("jump_one")->record().id;
  EXPECT_EQ(jumps->update_copy(&key, &target, BPF_NOEXIST), -EINVAL);  // Linux: BPF_ANY only
  ASSERT_EQ(jumps->update_copy(&key, &target), 0);
  out = test_run(entry, in);
  ASSERT_TRUE(out);
  EXPECT_EQ(static_cast<int32_t>(out->retval), 7);
}

struct Event {
  uint32_t seq;
  uint32_t kind;
  uint64_t value;
};

struct RbArgs {
  uint32_t count;
  uint32_t discard_every;
  uint64_t flags;
  int64_t output_result;
  uint64_t avail;
  uint64_t ring_size;
  uint32_t reserved_fail;
  uint32_t pad;
};

TEST(RingbufHelpers, ProgramProducesUserSpaceConsumes) {
  WholeObject o("ringbuf_events.bpf.o");
  ASSERT_TRUE(o.error.empty()) << o.error;
  RunnableProgram& produce = *o.progs.at("produce");
  auto ring = o.map(produce, BPF_MAP_TYPE_RINGBUF);
  ASSERT_TRUE(ring);
  std::vector<Event> got;
  auto consumer = maps::RingBuffer::create(ring, [&](const void* data, size_t size) {
    EXPECT_EQ(size, sizeof(Event));
    Event e;
    std::memcpy(&e, data, sizeof(e));
    got.push_back(e);
    return 0;
  });
  ASSERT_TRUE(consumer);
  for (bool checked : {true, false}) {
    got.clear();
    TestRunInput in;
    in.checked = checked;
    in.ctx_in = bytes_of(RbArgs{10, 3, 0, 0, 0, 0, 0, 0});
    auto out = test_run(produce, in);
    ASSERT_TRUE(out) << out.error().to_string();
    RbArgs a = from_bytes<RbArgs>(out->ctx_out);
    EXPECT_EQ(a.output_result, 0);
    EXPECT_EQ(a.reserved_fail, 0u);
    EXPECT_EQ(a.ring_size, 4096u);
    EXPECT_EQ(a.avail, 11u * 24);  // 10 reserved (discarded ones too) + 1 output, 24 bytes each
    EXPECT_EQ((*consumer)->consume(), 7);
    std::vector<uint32_t> seqs;
    for (const Event& e : got) seqs.push_back(e.seq);
    EXPECT_EQ(seqs, (std::vector<uint32_t>{1, 2, 4, 5, 7, 8, 0xffff}));
    EXPECT_EQ(got[0].value, 3u);
    EXPECT_EQ(got.back().value, 42u);
  }
  // Full ring: 4095 usable bytes hold 170 records of 24 bytes; the rest of the reserves fail.
  TestRunInput in;
  in.ctx_in = bytes_of(RbArgs{200, 0, BPF_RB_NO_WAKEUP, 0, 0, 0, 0, 0});
  const uint64_t wakeups_before = maps::ringbuf_wakeups(*ring);
  auto out = test_run(produce, in);
  ASSERT_TRUE(out);
  RbArgs a = from_bytes<RbArgs>(out->ctx_out);
  EXPECT_EQ(a.reserved_fail, 30u);
  EXPECT_EQ(a.output_result, -EAGAIN);
  EXPECT_EQ(maps::ringbuf_wakeups(*ring), wakeups_before);  // BPF_RB_NO_WAKEUP
  EXPECT_EQ((*consumer)->consume(), 170);
}

TEST(RingbufHelpers, CheckedRunRefusesBadSamplePointer) {
  // A program that submits a pointer it never reserved must not corrupt memory in a checked run.
  std::vector<uint8_t> junk(64, 0xab);
  ASSERT_FALSE(maps::ringbuf_is_reserved(junk.data() + 8));
  ASSERT_FALSE(maps::ringbuf_is_reserved(nullptr));
}

struct PerfArgs {
  uint32_t index;
  uint32_t count;
  int64_t last_result;
};

TEST(PerfEventHelpers, OutputToSlotsAndLostCounts) {
  WholeObject o("ringbuf_events.bpf.o");
  ASSERT_TRUE(o.error.empty()) << o.error;
  RunnableProgram& prog = *o.progs.at("perf_out");
  auto perf = o.map(prog, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
  ASSERT_TRUE(perf);
  EXPECT_EQ(perf->spec().max_entries, maps::possible_cpus());  // libbpf's default size
  TestRunInput in;
  in.ctx_in = bytes_of(PerfArgs{0, 1, 0});
  auto out = test_run(prog, in);
  ASSERT_TRUE(out);
  EXPECT_EQ(from_bytes<PerfArgs>(out->ctx_out).last_result, -ENOENT);  // nobody consumes yet
  in.ctx_in = bytes_of(PerfArgs{perf->spec().max_entries, 1, 0});
  out = test_run(prog, in);
  ASSERT_TRUE(out);
  EXPECT_EQ(from_bytes<PerfArgs>(out->ctx_out).last_result, -E2BIG);

  std::vector<std::pair<int, Event>> samples;
  uint64_t lost = 0;
  auto pb = maps::PerfBuffer::create(
      perf,
      [&](int cpu, const void* data, uint32_t size) {
        // Raw data padded so header + u32 size + data is a multiple of 8: 16 -> 20.
        EXPECT_EQ(size, 20u);
        Event e;
        std::memcpy(&e, data, sizeof(e));
        samples.push_back({cpu, e});
      },
      [&](int, uint64_t n) { lost += n; });
  ASSERT_TRUE(pb);
  for (bool checked : {true, false}) {
    samples.clear();
    in.checked = checked;
    in.ctx_in = bytes_of(PerfArgs{0, 5, 1});
    out = test_run(prog, in);
    ASSERT_TRUE(out) << out.error().to_string();
    EXPECT_EQ(from_bytes<PerfArgs>(out->ctx_out).last_result, 0);
    in.ctx_in = bytes_of(PerfArgs{static_cast<uint32_t>(BPF_F_CURRENT_CPU), 2, 1});
    out = test_run(prog, in);
    ASSERT_TRUE(out);
    EXPECT_EQ((*pb)->consume(), 7);
    ASSERT_EQ(samples.size(), 7u);
    for (int i = 0; i < 5; ++i) {
      EXPECT_EQ(samples[i].first, 0);
      EXPECT_EQ(samples[i].second.seq, static_cast<uint32_t>(i));
      EXPECT_EQ(samples[i].second.kind, 3u);
    }
  }
  // 64 KiB per slot, 32-byte records: 2048 fit, the rest are lost and reported once there is
  // room again.
  samples.clear();
  in.ctx_in = bytes_of(PerfArgs{0, 2100, 1});
  out = test_run(prog, in);
  ASSERT_TRUE(out);
  EXPECT_EQ(from_bytes<PerfArgs>(out->ctx_out).last_result, -ENOSPC);
  EXPECT_EQ((*pb)->consume(), 2048);
  EXPECT_EQ(lost, 0u);
  in.ctx_in = bytes_of(PerfArgs{0, 1, 1});
  out = test_run(prog, in);
  ASSERT_TRUE(out);
  EXPECT_EQ((*pb)->consume(), 2);  // the LOST record, then the new sample
  EXPECT_EQ(lost, 52u);
  EXPECT_EQ(samples.size(), 2049u);
}

struct MimArgs {
  uint32_t outer_key;
  uint32_t inner_key;
  uint64_t add;
  int64_t found;
};

TEST(MapInMapHelpers, LookupThroughOuterMap) {
  WholeObject o("ringbuf_events.bpf.o");
  ASSERT_TRUE(o.error.empty()) << o.error;
  RunnableProgram& prog = *o.progs.at("through_outer");
  auto outer = o.map(prog, BPF_MAP_TYPE_ARRAY_OF_MAPS);
  ASSERT_TRUE(outer);
  EXPECT_EQ(maps::inner_map_template(*outer).type, uint32_t{BPF_MAP_TYPE_ARRAY});
  // The object's `.values` put inner_a at 0 and inner_b at 1.
  uint32_t key = 1, inner_id = 0;
  ASSERT_EQ(outer->lookup_copy(&key, &inner_id), 0);
  auto inner_b = o.rt->open_map(inner_id);
  ASSERT_TRUE(inner_b);
  EXPECT_EQ((*inner_b)->spec().name, "inner_b");
  for (bool checked : {true, false}) {
    TestRunInput in;
    in.checked = checked;
    in.ctx_in = bytes_of(MimArgs{1, 1, 5, -1});
    auto out = test_run(prog, in);
    ASSERT_TRUE(out) << out.error().to_string();
    EXPECT_EQ(from_bytes<MimArgs>(out->ctx_out).found, 1);
    in.ctx_in = bytes_of(MimArgs{2, 0, 5, -1});  // past max_entries
    out = test_run(prog, in);
    ASSERT_TRUE(out);
    EXPECT_EQ(from_bytes<MimArgs>(out->ctx_out).found, 0);
  }
  uint32_t inner_key = 1;
  uint64_t value = 0;
  ASSERT_EQ((*inner_b)->lookup_copy(&inner_key, &value), 0);
  EXPECT_EQ(value, 10u);
  // Deleting the slot makes the program's lookup fail.
  ASSERT_EQ(outer->delete_copy(&key), 0);
  TestRunInput in;
  in.ctx_in = bytes_of(MimArgs{1, 1, 5, -1});
  auto out = test_run(prog, in);
  ASSERT_TRUE(out);
  EXPECT_EQ(from_bytes<MimArgs>(out->ctx_out).found, 0);
}

}  // namespace
}  // namespace userbpf::runtime
