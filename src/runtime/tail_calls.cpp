// bpf_tail_call support in the runtime: prog_array slots hold runtime program ids; a program's
// ProgramEnv::resolve_program turns an id into an instance in this process, made on first use
// and kept for later runs. Every program of one tail-call chain shares one cache (owned by the
// program the run started in), so cycles (a program tail-calling itself) instantiate once.
// Also fills the slots an object declares for prog_array and map-in-map maps at load.
#include <linux/bpf.h>

#include <map>
#include <mutex>

#include "runtime/runtime.hpp"
#include "userbpf/map_in_map.hpp"

namespace userbpf::runtime {

struct RunnableProgram::TailTargets {
  std::filesystem::path root;
  std::mutex mutex;
  std::optional<Runtime> rt;  // opened on the first tail call
  std::map<uint32_t, std::unique_ptr<RunnableProgram>> programs;
};

namespace {

// The target sees the run as the caller saw it (checked mode, packet, task, cookies: every
// per-run fact, including ones added to ProgramEnv later) but keeps its own maps, trace buffer,
// license and resolver.
void copy_run_facts(const helpers::ProgramEnv& from, helpers::ProgramEnv& to) {
  if (&from == &to) return;  // a program tail-calling itself
  auto maps = std::move(to.maps);
  auto resolve = std::move(to.resolve_program);
  trace::TraceBuffer* trace = to.trace;
  const bool gpl = to.gpl;
  to = from;
  to.maps = std::move(maps);
  to.resolve_program = std::move(resolve);
  to.trace = trace;
  to.gpl = gpl;
}

}  // namespace

void Runtime::enable_tail_calls(RunnableProgram& prog) {
  prog.tail_targets_ = std::make_shared<RunnableProgram::TailTargets>();
  prog.tail_targets_->root = dir_.root();
  // A resolver bound to the shared cache and to the env of the program that calls it.
  struct Resolver {
    RunnableProgram::TailTargets* targets;
    helpers::ProgramEnv* caller;
    helpers::TailCallTarget operator()(uint32_t id) const {
      std::lock_guard<std::mutex> guard(targets->mutex);
      auto it = targets->programs.find(id);
      if (it == targets->programs.end()) {
        if (!targets->rt) {
          auto rt = Runtime::open(targets->root);
          if (!rt) return {};
          targets->rt.emplace(std::move(*rt));
        }
        auto record = targets->rt->program(id);
        if (!record) return {};
        auto instance = targets->rt->instantiate(*record);
        if (!instance) return {};
        RunnableProgram& target = **instance;
        target.tail_targets_.reset();  // the chain's cache is this one
        target.env_.resolve_program = Resolver{targets, &target.env_};
        it = targets->programs.emplace(id, std::move(*instance)).first;
      }
      RunnableProgram& target = *it->second;
      copy_run_facts(*caller, target.env_);
      return {&*target.interp_, &target.env_};
    }
  };
  prog.env_.resolve_program = Resolver{prog.tail_targets_.get(), &prog.env_};
}

Status Runtime::fill_initial_slots(const object::Object& obj, const std::vector<uint32_t>& map_ids,
                                   const std::vector<ProgramRecord>& loaded) {
  for (size_t i = 0; i < obj.maps.size() && i < map_ids.size(); ++i) {
    const object::MapDef& def = obj.maps[i];
    if (def.initial_slots.empty()) continue;
    auto map = open_map(map_ids[i]);
    if (!map) return map.take_error();
    for (const object::InitialSlot& slot : def.initial_slots) {
      uint32_t value = 0;
      if (def.type == BPF_MAP_TYPE_PROG_ARRAY) {
        for (const ProgramRecord& r : loaded)
          if (r.name == slot.target) value = r.id;
        // libbpf fails when the program is not loaded; a partial load (only_program) leaves the
        // slot empty instead, so a single program of an object can still be run.
        if (value == 0) continue;
      } else {
        for (size_t j = 0; j < obj.maps.size() && j < map_ids.size(); ++j)
          if (obj.maps[j].name == slot.target) value = map_ids[j];
        if (value == 0) {
          Location where;
          where.file = obj.path;
          where.section = def.section;
          return make_error(Errc::invalid_argument,
                            "map '" + def.name + "': slot " + std::to_string(slot.index) +
                                " names unknown map '" + slot.target + "'",
                            where);
        }
      }
      const uint32_t key = slot.index;
      if (int err = (*map)->update_copy(&key, &value, BPF_ANY); err != 0) {
        Location where;
        where.file = obj.path;
        where.section = def.section;
        return make_error(Errc::invalid_argument,
                          "map '" + def.name + "': cannot set slot " + std::to_string(key) +
                              " to '" + slot.target + "' (errno " + std::to_string(-err) + ")",
                          where);
      }
    }
  }
  return ok_status();
}

}  // namespace userbpf::runtime
