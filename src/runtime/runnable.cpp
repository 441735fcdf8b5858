// Instantiating a registered program in this process: map its maps, resolve its map references,
// translate it for the interpreter, and run it.
#include <linux/bpf.h>

#include <algorithm>
#include <chrono>

#include "helpers/linux_helpers.hpp"
#include "isa/decode.hpp"
#include "jit/jit.hpp"
#include "runtime/jit_options.hpp"
#include "runtime/runtime.hpp"
#include "vm/repeated_run.hpp"

namespace userbpf::runtime {
namespace {

Error at_insn(const ProgramRecord& record, size_t index, const std::string& message) {
  Location where;
  where.file = record.object_path;
  where.section = record.section;
  where.insn = static_cast<int64_t>(index);
  return make_error(Errc::invalid_argument, "prog '" + record.name + "': " + message, where);
}

}  // namespace

Result<std::unique_ptr<RunnableProgram>> Runtime::instantiate(const ProgramRecord& record) {
  auto prog = std::make_unique<RunnableProgram>();
  prog->record_ = record;
  for (uint32_t id : record.map_ids) {
    auto map = open_map(id);
    if (!map) return map.take_error();
    prog->maps_.push_back(*map);
    prog->env_.maps.insert(map->get());
    if (void* data = (*map)->data(); data && (*map)->spec().type == BPF_MAP_TYPE_ARRAY) {
      const auto& spec = (*map)->spec();
      auto rec = map_record(id);
      const bool writable = !(rec && rec->frozen) && !(spec.map_flags & BPF_F_RDONLY_PROG);
      prog->global_regions_.push_back({reinterpret_cast<uint64_t>(data),
                                       uint64_t{spec.value_size} * spec.max_entries, writable,
                                       "global data"});
    }
  }
  prog->env_.trace = trace_.get();
  prog->env_.gpl = record.gpl;

  auto decoded = isa::decode(record.insns);
  if (!decoded) {
    Error e = decoded.take_error();
    e.message = "prog '" + record.name + "': " + e.message;
    e.where.file = record.object_path;
    e.where.section = record.section;
    return e;
  }

  // Linux's check_helper_call(): a program without a GPL-compatible license may not call a
  // gpl_only helper, and the load fails naming the call.
  if (!record.gpl) {
    for (size_t i = 0; i < decoded->insns.size(); ++i) {
      const isa::Insn& insn = decoded->insns[i];
      if (insn.kind != isa::Kind::call || insn.call != isa::CallKind::helper) continue;
      const vm::Helper* helper = helpers::linux_helpers().find(static_cast<uint32_t>(insn.imm));
      if (helper && helper->gpl_only)
        return at_insn(record, i,
                       std::string("cannot call GPL-restricted function from non-GPL compatible "
                                   "program (bpf_") +
                           helper->name + "#" + std::to_string(insn.imm) + ", license '" +
                           record.license + "')");
    }
  }

  vm::LoadOptions options;
  const auto& maps = prog->maps_;
  options.resolve_lddw = [&record, &maps](const isa::Insn& insn, size_t index) -> Result<uint64_t> {
    switch (insn.src) {
      case BPF_PSEUDO_MAP_IDX:
      case BPF_PSEUDO_MAP_IDX_VALUE: {
        if (insn.imm < 0 || static_cast<size_t>(insn.imm) >= maps.size())
          return at_insn(record, index, "map index " + std::to_string(insn.imm) + " out of range");
        maps::Map* map = maps[insn.imm].get();
        if (insn.src == BPF_PSEUDO_MAP_IDX) return reinterpret_cast<uint64_t>(map);
        void* data = map->data();
        if (!data)
          return at_insn(record, index,
                         "map '" + map->spec().name + "' has no direct value access");
        const uint64_t limit = uint64_t{map->spec().value_size} * map->spec().max_entries;
        if (insn.next_imm < 0 || static_cast<uint64_t>(insn.next_imm) >= limit)
          return at_insn(record, index,
                         "direct value offset " + std::to_string(insn.next_imm) + " outside map '" +
                             map->spec().name + "'");
        return reinterpret_cast<uint64_t>(data) + static_cast<uint64_t>(insn.next_imm);
      }
      case BPF_PSEUDO_MAP_FD:
      case BPF_PSEUDO_MAP_VALUE:
        return at_insn(record, index, "map referenced by fd: load objects through the runtime");
      default:
        return at_insn(
            record, index,
            "ld_imm64 pseudo form " + std::to_string(insn.src) + " is not supported yet");
    }
  };
  auto interp = vm::Interpreter::load(*decoded, helpers::linux_helpers(), options);
  if (!interp) {
    Error e = interp.take_error();
    if (e.message.find("prog '") != 0) e.message = "prog '" + record.name + "': " + e.message;
    e.where.file = record.object_path;
    e.where.section = record.section;
    return e;
  }
  prog->interp_.emplace(std::move(*interp));
  // Only verified programs reach the JIT: its code has no run-time checks.
  if (record.verified) {
    prog->jit_options_ = jit_options_for(record.call_maps, prog->maps_);
  }
  if (record.verified && engine_ == Engine::jit) {
    if (auto jitted = jit::attach(*prog->interp_, prog->jit_options_); !jitted) {
      Error e = jitted.take_error();
      e.message = "prog '" + record.name + "': JIT: " + e.message;
      e.where.file = record.object_path;
      e.where.section = record.section;
      return e;
    }
  }
  enable_tail_calls(*prog);
  return prog;
}

Result<RunnableProgram::RunOutput> RunnableProgram::run(uint64_t ctx, const vm::Region& ctx_region,
                                                        bool checked, uint32_t repeat,
                                                        std::span<const vm::Region> extra,
                                                        std::span<const uint8_t> packet,
                                                        const BeforeRepetition& before,
                                                        const bool* needed) {
  std::vector<vm::Region> regions = global_regions_;
  if (ctx_region.size) regions.push_back(ctx_region);
  const size_t extra_at = regions.size();
  regions.insert(regions.end(), extra.begin(), extra.end());
  const std::span<vm::Region> own_extra = std::span<vm::Region>(regions).subspan(extra_at);
  if (!record_.verified) checked = true;  // nothing proved it safe: the interpreter checks it
  env_.checked = checked;

  vm::RunOptions options;
  options.checked = checked;
  options.insn_budget = checked ? 1'000'000 : 0;  // Linux's processed-instruction limit
  options.regions = regions;
  options.packet = packet;
  options.user = &env_;

  RunOutput out;
  if (repeat == 0) repeat = 1;
  // Repetitions run in batches between the calls of `before`: one repetition each when it has to
  // run every time, else as many as follow each other until one leaves *needed set.
  static constexpr bool kNever = false;
  const bool* watch = needed != nullptr ? needed : &kNever;
  const bool every_time = before && needed == nullptr;
  vm::RepeatedRun runner(*interp_, options);  // the run state is built once, as in Linux
  const auto start = std::chrono::steady_clock::now();
  for (uint32_t done = 0; done < repeat;) {
    if (before) before(own_extra, options.packet);
    uint32_t ran = 0;
    uint64_t r0 = 0;
    const bool quick = runner.run_batch(ctx, every_time ? 1 : repeat - done, watch, ran, r0);
    done += ran;
    if (ran != 0) out.retval = r0;
    if (!quick) [[unlikely]] {
      auto result = runner.finish();  // a fault, or a tail call's hops still to run
      if (!result) return run_error(result.take_error());
      out.retval = result->r0;
      ++done;
    }
  }
  const auto elapsed = std::chrono::steady_clock::now() - start;
  out.duration_ns =
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count()) /
      repeat;
  return out;
}

Error RunnableProgram::run_error(Error e) const {
  e.message = "prog '" + record_.name + "': " + e.message;
  e.where.file = record_.object_path;
  e.where.section = record_.section;
  // Name the source line of the faulting instruction when line info has it.
  if (e.where.insn >= 0) {
    const SourceLineRecord* best = nullptr;
    for (const auto& l : record_.lines)
      if (l.insn <= e.where.insn) best = &l;
    if (best) {
      e.where.line = static_cast<int>(best->line);
      e.message += " (" + best->file + ":" + std::to_string(best->line) + ": " + best->text + ")";
    }
  }
  return e;
}

}  // namespace userbpf::runtime
