// The native engines: the twin compiled from the same C (native/native_twins.c), called directly
// on a copy of the frame, timed with the thread's CPU clock around the whole batch; and the map
// programs' twins against userbpf's own maps (native/native_twins_maps.c), each map created from
// the eBPF object's definition of it.
#include <algorithm>
#include <memory>

#include "engines.hpp"
#include "maps/program_entries.hpp"
#include "native/shared_maps.h"
#include "object/object.hpp"
#include "thread_clock.hpp"
#include "userbpf/map.hpp"

namespace userbpf::bench::suite {
namespace {

// Mean nanoseconds per call of `fn` over `repeat` calls on one copy of `frame`, timed with the
// thread's CPU clock, as the userbpf engines are (thread_clock.hpp).
double time_twin(suite_native_fn fn, const std::vector<uint8_t>& frame, uint32_t repeat) {
  std::vector<uint8_t> copy = frame;
  uint8_t* data = copy.data();
  uint8_t* end = data + copy.size();
  volatile uint32_t sink = 0;
  const double start = thread_cpu_ns();
  for (uint32_t i = 0; i < repeat; ++i) sink = sink + fn(data, end);
  const double elapsed = thread_cpu_ns() - start;
  (void)sink;
  return elapsed / (repeat ? repeat : 1);
}

class NativeProgram final : public PreparedProgram {
 public:
  explicit NativeProgram(const SuiteCase& c) : case_(c) {}

  Result<Outcome> run_once(const std::vector<uint8_t>& frame) override {
    suite_native_reset();
    Outcome out;
    out.frame_out = frame;
    out.r0 = case_.native(out.frame_out.data(), out.frame_out.data() + out.frame_out.size());
    if (case_.map_name) {
      const size_t n = suite_native_map_entries(case_.native_map, nullptr, nullptr, 0);
      std::vector<__u64> keys(n), values(n);
      suite_native_map_entries(case_.native_map, keys.data(), values.data(), n);
      for (size_t i = 0; i < n; ++i) out.map.emplace_back(keys[i], values[i]);
      std::sort(out.map.begin(), out.map.end());
    }
    return out;
  }

  Result<double> mean_ns(const std::vector<uint8_t>& frame, uint32_t repeat) override {
    return time_twin(case_.native, frame, repeat);
  }

 private:
  const SuiteCase& case_;
};

// The twin against userbpf's maps: a fresh map for the first run, the same one for the timed
// batches (changes accumulate, as in the other engines).
class NativeMapsProgram final : public PreparedProgram {
 public:
  static Result<std::unique_ptr<PreparedProgram>> load(const SuiteCase& c) {
    auto out = std::make_unique<NativeMapsProgram>();
    out->case_ = &c;
    if (c.map_name != nullptr) {
      auto obj = object::open(object_path(c));
      if (!obj) return obj.take_error();
      for (const object::MapDef& def : obj->maps) {
        if (def.name != c.map_name) continue;
        out->spec_.name = def.name;
        out->spec_.type = def.type;
        out->spec_.key_size = def.key_size;
        out->spec_.value_size = def.value_size;
        out->spec_.max_entries = def.max_entries;
        out->spec_.map_flags = def.map_flags;
      }
      if (out->spec_.name.empty())
        return make_error(Errc::not_found, std::string("object has no map ") + c.map_name);
    }
    return std::unique_ptr<PreparedProgram>(std::move(out));
  }

  Result<Outcome> run_once(const std::vector<uint8_t>& frame) override {
    if (auto fresh = make_map(); !fresh) return fresh.take_error();
    Outcome out;
    out.frame_out = frame;
    out.r0 = case_->native_maps(out.frame_out.data(), out.frame_out.data() + out.frame_out.size());
    if (map_) {
      auto entries = map_contents(*map_);
      if (!entries) return entries.take_error();
      out.map = std::move(*entries);
    }
    return out;
  }

  Result<double> mean_ns(const std::vector<uint8_t>& frame, uint32_t repeat) override {
    return time_twin(case_->native_maps, frame, repeat);
  }

 private:
  // Creates the program's map (keys and values of at most 8 bytes, as the suite's) and points
  // the twins at it: its program entries, or an array map's values.
  Status make_map() {
    if (case_->map_name == nullptr) return ok_status();
    auto map = maps::create_map(spec_);
    if (!map) return map.take_error();
    map_ = std::move(*map);
    suite_shared_map& shared = suite_shared_maps[case_->native_map];
    shared = {};
    if (spec_.type == BPF_MAP_TYPE_ARRAY) {
      const uint32_t zero = 0, one = 1;
      auto* values = static_cast<__u64*>(map_->lookup(&zero));
      if (spec_.value_size != 8 || values == nullptr ||
          (spec_.max_entries > 1 && map_->lookup(&one) != values + 1))
        return make_error(Errc::unsupported, "native-maps: array values are not 8 bytes apart");
      shared.values = values;
      return ok_status();
    }
    const maps::ProgramEntries entries = maps::program_entries(*map_);
    if (entries.lookup == nullptr || entries.update == nullptr)
      return make_error(Errc::unsupported,
                        std::string("native-maps: map ") + case_->map_name + " has no entries");
    shared.object = map_.get();
    shared.lookup = entries.lookup;
    shared.update = entries.update;
    return ok_status();
  }

  const SuiteCase* case_ = nullptr;
  maps::MapSpec spec_;
  std::shared_ptr<maps::Map> map_;
};

}  // namespace

Result<std::unique_ptr<PreparedProgram>> prepare_native(const SuiteCase& c) {
  return std::unique_ptr<PreparedProgram>(std::make_unique<NativeProgram>(c));
}

Result<std::unique_ptr<PreparedProgram>> prepare_native_maps(const SuiteCase& c) {
  return NativeMapsProgram::load(c);
}

}  // namespace userbpf::bench::suite
