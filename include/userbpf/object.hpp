// userbpf::Object: a BPF ELF object as clang builds it (bpf_object in libbpf). Open it, look at
// its programs, maps and global variables, set globals, load it into a Runtime, then run its
// programs and use its maps:
//
//   auto obj = userbpf::Object::open("filter.bpf.o");          // Result<Object>
//   obj->set_global("blocked_port", uint16_t{53});             // before load
//   obj->load();                                               // a private runtime
//   auto ret = obj->program("xdp_filter")->run_packet(frame);  // BPF_PROG_TEST_RUN
//   auto counters = obj->map("counters");                      // std::shared_ptr<maps::Map>
//
// Every call returns Result/Status and never throws for bad input or prints.
#pragma once

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "userbpf/error.hpp"
#include "userbpf/map.hpp"
#include "userbpf/program.hpp"
#include "userbpf/runtime.hpp"

namespace userbpf {

struct OpenOptions {
  // libbpf's bpf_object_open_opts.object_name: the object's name (default: the file name without
  // directories and extension). Internal maps are named after it (".rodata" of "filter" is
  // "filter.rodata", at most 15 characters).
  std::string object_name;
};

// How Object::load treats the verifier. Every program is verified before anything is created; a
// refused program fails load() with Errc::verify and a diagnosis (the kernel's message, the
// instruction and its source line, the registers involved, a suggestion).
struct LoadOptions {
  // Skip the verifier. Such programs always run in the checked interpreter (every memory access
  // checked, an instruction budget), whatever RunOptions::checked says.
  bool unverified = false;
  bool unprivileged = false;  // verify as an unprivileged user would be verified
  int log_level = 0;          // the verifier's kernel-style log (1, 2): Object::verifier_log()
};

// A map of the object as declared; `id` is the runtime's map id once loaded (else 0).
struct MapInfo {
  std::string name;     // libbpf's name; internal maps "<object>.rodata", ".data", ".bss", ...
  std::string section;  // ".maps", ".rodata", ...
  uint32_t type = 0;    // enum bpf_map_type
  uint32_t key_size = 0;
  uint32_t value_size = 0;
  uint32_t max_entries = 0;
  uint32_t map_flags = 0;
  bool internal = false;  // global data (.rodata, .data, .bss, .kconfig)
  uint32_t id = 0;
};

// A global variable of the object's .rodata/.data/.bss sections, found by its BTF name. Static
// variables are left out, as a skeleton leaves them out (their names need not be unique).
struct GlobalInfo {
  std::string name;
  std::string section;  // ".rodata", ".data", ".bss", ".data.custom", ...
  uint32_t offset = 0;  // inside its section
  uint32_t size = 0;
  bool read_only = false;  // .rodata: `const volatile` configuration, frozen at load
};

// A type that set_global/global<T> copy as bytes.
template <class T>
concept GlobalValue =
    std::is_trivially_copyable_v<T> && !std::is_convertible_v<const T&, std::span<const uint8_t>>;

class Object {
 public:
  static Result<Object> open(const std::filesystem::path& path, const OpenOptions& options = {});
  // An object image already in memory; `name` plays the file's role in names and errors.
  static Result<Object> open_memory(std::span<const uint8_t> image, const std::string& name,
                                    const OpenOptions& options = {});

  Object(Object&&) noexcept;
  Object& operator=(Object&&) noexcept;
  ~Object();

  const std::string& name() const;
  const std::string& path() const;
  const std::string& license() const;

  // Programs in the object's order; by function name (bpf_object__find_program_by_name).
  std::vector<Program> programs() const;
  Result<Program> program(std::string_view name) const;

  std::vector<MapInfo> maps() const;
  Result<MapInfo> map_info(std::string_view name) const;
  // bpf_map__set_max_entries, before load (e.g. a ring buffer's size).
  Status set_max_entries(std::string_view map, uint32_t max_entries);

  // ---- Global variables, as a skeleton's rodata/data/bss members. ----
  std::vector<GlobalInfo> globals() const;
  // Sets a variable's initial value, before load; `bytes` must be exactly its size.
  Status set_global(std::string_view name, std::span<const uint8_t> bytes);
  template <GlobalValue T>
  Status set_global(std::string_view name, const T& value) {
    return set_global(
        name, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(&value), sizeof(T)));
  }
  // A variable's value: before load its initial value, after load the live value in the map's
  // memory (what the programs see now).
  Result<std::vector<uint8_t>> global(std::string_view name) const;
  template <GlobalValue T>
  Result<T> global(std::string_view name) const {
    auto bytes = global(name);
    if (!bytes) return bytes.take_error();
    if (bytes->size() != sizeof(T))
      return make_error(Errc::invalid_argument, "variable '" + std::string(name) + "' has " +
                                                    std::to_string(bytes->size()) + " bytes, not " +
                                                    std::to_string(sizeof(T)));
    T value;
    std::memcpy(&value, bytes->data(), sizeof(T));
    return value;
  }

  // ---- Loading. ----
  // bpf_object__load: creates the maps (filled with the globals' values; .rodata then frozen),
  // applies CO-RE against the runtime's types and registers every program. load() without a
  // runtime uses a private one. An object loads once.
  Status load(const LoadOptions& options = {});
  Status load(const Runtime& runtime, const LoadOptions& options = {});
  // The verifier logs of the last load() at LoadOptions::log_level, program after program (also
  // when the verifier refused one).
  const std::string& verifier_log() const;
  bool loaded() const;
  // The runtime the object was loaded into (not_found before load).
  Result<Runtime> runtime() const;

  // A map of the loaded object, for user-space access (lookup_copy, update_copy, ... or the
  // typed helpers of userbpf/map_access.hpp) and for RingBuffer/PerfBuffer consumers. The map
  // stays usable as long as the pointer lives.
  Result<std::shared_ptr<maps::Map>> map(std::string_view name) const;
  // bpf_map__pin: names a loaded map at a /sys/fs/bpf/... path of the runtime.
  Status pin_map(std::string_view name, const std::string& path) const;

 private:
  explicit Object(std::shared_ptr<api::ObjectState> state) : state_(std::move(state)) {}
  std::shared_ptr<api::ObjectState> state_;
};

}  // namespace userbpf
