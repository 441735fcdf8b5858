// The runtime: the user-space counterpart of the kernel's BPF subsystem. It loads objects
// (creating their maps in shared memory and registering their programs), keeps the registry of
// programs and maps in the state directory so every userbpf process sees the same system, pins
// them in a bpffs-style namespace, and instantiates programs to run.
//
// Lifetime, as in the kernel: a program or map lives while the process that loaded it lives
// (its "fd") or while a pin names it; a map also lives while a live program uses it. Records of
// dead owners with nothing pinned are removed by collect_garbage(), which every listing runs.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "helpers/environment.hpp"
#include "jit/jit.hpp"
#include "object/object.hpp"
#include "runtime/engine.hpp"
#include "runtime/records.hpp"
#include "runtime/state_dir.hpp"
#include "trace/trace_buffer.hpp"
#include "userbpf/error.hpp"
#include "userbpf/map.hpp"
#include "verifier/verifier.hpp"
#include "vm/interpreter.hpp"

namespace userbpf::runtime {

enum class PinKind : uint8_t { prog, map, link };

struct PinTarget {
  PinKind kind = PinKind::prog;
  uint32_t id = 0;
};

struct LoadOptions {
  std::string only_program;  // function or section name; empty: every program
  uint32_t prog_type = 0;    // overrides the section's type when not 0 (bpftool's `type`)
  // Every selected program is verified before anything is created; a refused one fails the
  // load with its diagnosis (Errc::verify, runtime/verify.hpp). `unverified` skips the verifier:
  // such a program is recorded as unverified and always runs in the checked interpreter.
  bool unverified = false;
  verifier::Options verifier;  // privilege, log level, instruction limit
  // Called with each verified program's verdict, accepted or refused (e.g. to print its log).
  std::function<void(const object::Program&, const verifier::Verdict&)> on_verdict;
};

struct LinkOptions {
  uint64_t cookie = 0;      // bpf_get_attach_cookie
  bool persistent = false;  // lasts until detached (`prog attach`); else owned by this process
};

// A program ready to run: its interpreter, its maps (mapped into this process) and the helper
// environment.
class RunnableProgram {
 public:
  const ProgramRecord& record() const { return record_; }
  helpers::ProgramEnv& env() { return env_; }
  const vm::Interpreter& interpreter() const { return *interp_; }
  const std::vector<std::shared_ptr<maps::Map>>& maps() const { return maps_; }
  // What the JIT is told about this instance (the array maps at its helper calls, from the
  // record's call_maps): instantiate compiles with it, and so should anyone recompiling.
  const jit::CompileOptions& jit_options() const { return jit_options_; }

  struct RunOutput {
    uint64_t retval = 0;
    uint64_t duration_ns = 0;  // mean over the repetitions
  };
  // Called before every repetition of run(): refreshes what may change between repetitions, as
  // the `extra` regions and the LD_ABS packet after bpf_xdp_adjust_head (both are run()'s copies).
  // With `needed` it is called only before the first repetition and after one that left *needed
  // set (the repetitions in between then follow each other with nothing in between).
  using BeforeRepetition =
      std::function<void(std::span<vm::Region> extra, std::span<const uint8_t>& packet)>;

  // Runs `repeat` times with r1 = ctx, as Linux's bpf_test_run: the set-up is done once and the
  // repetitions follow each other on the same context; retval is the last one's, duration_ns the
  // mean. Checked runs may touch only `ctx_region`, `extra` regions, the program's global data
  // and what helpers hand out. A program the verifier did not accept (record().verified false)
  // always runs checked, whatever `checked` says.
  Result<RunOutput> run(uint64_t ctx, const vm::Region& ctx_region, bool checked,
                        uint32_t repeat = 1, std::span<const vm::Region> extra = {},
                        std::span<const uint8_t> packet = {}, const BeforeRepetition& before = {},
                        const bool* needed = nullptr);

 private:
  friend class Runtime;
  // A run's error with the program's name, object, section and source line.
  Error run_error(Error e) const;
  ProgramRecord record_;
  std::vector<std::shared_ptr<maps::Map>> maps_;  // by the record's map index
  std::vector<vm::Region> global_regions_;        // array map values (global data)
  helpers::ProgramEnv env_;
  std::optional<vm::Interpreter> interp_;
  jit::CompileOptions jit_options_;
  // Programs reached by bpf_tail_call, instantiated on first use (runtime/tail_calls.cpp).
  struct TailTargets;
  std::shared_ptr<TailTargets> tail_targets_;
};

class Runtime {
 public:
  static Result<Runtime> open(const std::optional<std::filesystem::path>& state_dir = {});

  const StateDir& dir() const { return dir_; }
  trace::TraceBuffer& trace() { return *trace_; }

  // Loads an object: creates its maps (reusing pinned ones for LIBBPF_PIN_BY_NAME), fills
  // global data, registers its programs. Returns the records of the programs registered.
  Result<std::vector<ProgramRecord>> load(const object::Object& obj,
                                          const LoadOptions& options = {});

  std::vector<ProgramRecord> programs();
  std::vector<MapRecord> maps();
  Result<ProgramRecord> program(uint32_t id);
  Result<MapRecord> map_record(uint32_t id);
  Result<std::shared_ptr<maps::Map>> open_map(uint32_t id);

  // The engine instantiate() gives verified programs (runtime/engine.hpp; default_engine() at
  // open). Unverified programs always get the checked interpreter.
  Engine engine() const { return engine_; }
  void set_engine(Engine engine) { engine_ = engine; }

  // Builds a runnable instance of a registered program in this process: the interpreter, with
  // the JIT's machine code attached when the program is verified and the engine is the JIT.
  Result<std::unique_ptr<RunnableProgram>> instantiate(const ProgramRecord& record);

  // Links (runtime/links.cpp). create_link records that program `prog_id` is attached to
  // `target`, a hook in SEC() form; the hooks layer checks the target and the program's type
  // before. Hook sources read the links when they start.
  Result<LinkRecord> create_link(uint32_t prog_id, const std::string& target,
                                 const LinkOptions& options = {});
  std::vector<LinkRecord> links();
  Result<LinkRecord> link(uint32_t id);
  // Ends a link: its record and every pin naming it go.
  Status detach_link(uint32_t id);

  // Pins: bpffs-style paths (/sys/fs/bpf/...). Pinning a path that exists fails.
  Status pin(const std::string& path, PinTarget target);
  Result<PinTarget> resolve_pin(const std::string& path);
  Status unpin(const std::string& path);
  // Every pin naming the target, as bpffs paths.
  std::vector<std::string> pins_of(PinTarget target);

  // Removes records (and map memory) whose owner died and that nothing pins or uses.
  void collect_garbage();

  // A record written by this process is owned by it; keep_alive() hands ownership to nobody so
  // the object lives until unpinned (what pinning at load does).
  Status release_ownership(PinTarget target);

 private:
  explicit Runtime(StateDir dir, trace::TraceBuffer trace);
  Result<std::filesystem::path> pin_file(const std::string& path) const;
  Result<uint32_t> create_map(const object::Object& obj, const object::MapDef& def,
                              uint32_t btf_id);
  // Lets bpf_tail_call in `prog` reach the programs prog_array slots name (by runtime id).
  void enable_tail_calls(RunnableProgram& prog);
  // Fills the prog_array and map-in-map slots an object declares (`.values = {...}`).
  Status fill_initial_slots(const object::Object& obj, const std::vector<uint32_t>& map_ids,
                            const std::vector<ProgramRecord>& loaded);

  StateDir dir_;
  std::unique_ptr<trace::TraceBuffer> trace_;
  Engine engine_ = Engine::interpreter;
};

// Is the process that owns a record still alive? (pid plus its start time, so a reused pid does
// not keep a dead owner's objects.)
bool owner_alive(int32_t pid, uint64_t start_time);
uint64_t process_start_time(int32_t pid);

}  // namespace userbpf::runtime
