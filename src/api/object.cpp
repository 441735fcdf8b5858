// userbpf::Object: opening, globals, loading, maps (include/userbpf/object.hpp).
#include "userbpf/object.hpp"

#include <bpf/btf.h>

#include <fstream>
#include <iterator>

#include "api/object_state.hpp"

namespace userbpf {
namespace api {

Error object_error(const object::Object& obj, Errc code, const std::string& message) {
  Location where;
  where.file = obj.path;
  return make_error(code, "object '" + obj.name + "': " + message, where);
}

}  // namespace api

namespace {

bool is_internal(object::MapOrigin origin) {
  return origin != object::MapOrigin::btf_defined && origin != object::MapOrigin::legacy;
}

// Static variables (function-local ones like bpf_printk's format strings among them) are not
// part of the object's interface: a skeleton does not expose them, and their names may repeat.
bool is_static(const object::Object& obj, const object::Variable& var) {
  const auto& def = obj.maps[var.map_index];
  if (!obj.btf || def.value_type_id == 0) return false;
  const btf_type* sec = btf__type_by_id(obj.btf.get(), def.value_type_id);
  if (!sec || !btf_is_datasec(sec)) return false;
  for (uint16_t i = 0; i < btf_vlen(sec); ++i) {
    const btf_var_secinfo& info = btf_var_secinfos(sec)[i];
    const btf_type* v = btf__type_by_id(obj.btf.get(), info.type);
    if (info.offset != var.offset || !v || !btf_is_var(v)) continue;
    const char* name = btf__name_by_offset(obj.btf.get(), v->name_off);
    if (name && var.name == name) return btf_var(v)->linkage == BTF_VAR_STATIC;
  }
  return false;
}

// The non-static .rodata/.data/.bss variable `name`, or not_found.
Result<const object::Variable*> find_global(const object::Object& obj, std::string_view name) {
  const object::Variable* var = obj.find_variable(name);
  if (!var || obj.maps[var->map_index].origin == object::MapOrigin::kconfig || is_static(obj, *var))
    return api::object_error(obj, Errc::not_found,
                             "no global variable '" + std::string(name) + "'");
  return var;
}

Result<std::vector<uint8_t>> read_whole_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return make_error(Errc::io, "can't open " + path.string() + ": No such file or directory");
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

std::shared_ptr<api::ObjectState> wrap(object::Object opened) {
  auto state = std::make_shared<api::ObjectState>();
  state->obj = std::move(opened);
  return state;
}

}  // namespace

Result<Object> Object::open(const std::filesystem::path& path, const OpenOptions& options) {
  if (options.object_name.empty()) {
    auto opened = object::open(path.string());
    if (!opened) return opened.take_error();
    return Object(wrap(std::move(*opened)));
  }
  // The object's name decides its internal maps' names: open the image under that name.
  auto image = read_whole_file(path);
  if (!image) return image.take_error();
  auto opened = object::open(*image, options.object_name);
  if (!opened) {
    Error e = opened.take_error();
    if (e.where.file == options.object_name) e.where.file = path.string();
    return e;
  }
  opened->path = path.string();
  return Object(wrap(std::move(*opened)));
}

Result<Object> Object::open_memory(std::span<const uint8_t> image, const std::string& name,
                                   const OpenOptions& options) {
  auto opened = object::open(image, options.object_name.empty() ? name : options.object_name);
  if (!opened) return opened.take_error();
  opened->path = name;
  return Object(wrap(std::move(*opened)));
}

Object::Object(Object&&) noexcept = default;
Object& Object::operator=(Object&&) noexcept = default;
Object::~Object() = default;

const std::string& Object::name() const {
  return state_->obj.name;
}
const std::string& Object::path() const {
  return state_->obj.path;
}
const std::string& Object::license() const {
  return state_->obj.license;
}

std::vector<Program> Object::programs() const {
  std::vector<Program> out;
  for (size_t i = 0; i < state_->obj.programs.size(); ++i) out.push_back(Program(state_, i));
  return out;
}

Result<Program> Object::program(std::string_view name) const {
  const auto& progs = state_->obj.programs;
  for (size_t i = 0; i < progs.size(); ++i)
    if (progs[i].name == name) return Program(state_, i);
  return api::object_error(state_->obj, Errc::not_found, "no program '" + std::string(name) + "'");
}

std::vector<MapInfo> Object::maps() const {
  std::vector<MapInfo> out;
  const auto& defs = state_->obj.maps;
  for (size_t i = 0; i < defs.size(); ++i) {
    const auto& d = defs[i];
    MapInfo m;
    m.name = d.name;
    m.section = d.section;
    m.type = d.type;
    m.key_size = d.key_size;
    m.value_size = d.value_size;
    m.max_entries = d.max_entries;
    m.map_flags = d.map_flags;
    m.internal = is_internal(d.origin);
    if (state_->loaded() && i < state_->map_ids.size()) m.id = state_->map_ids[i];
    out.push_back(std::move(m));
  }
  return out;
}

Result<MapInfo> Object::map_info(std::string_view name) const {
  for (MapInfo& m : maps())
    if (m.name == name) return std::move(m);
  return api::object_error(state_->obj, Errc::not_found, "no map '" + std::string(name) + "'");
}

Status Object::set_max_entries(std::string_view map, uint32_t max_entries) {
  std::lock_guard<std::mutex> guard(state_->mutex);
  auto index = state_->obj.find_map(map);
  if (!index)
    return api::object_error(state_->obj, Errc::not_found, "no map '" + std::string(map) + "'");
  if (state_->loaded())
    return api::object_error(
        state_->obj, Errc::invalid_argument,
        "map '" + std::string(map) + "': max_entries is set before load, the object is loaded");
  auto& def = state_->obj.maps[*index];
  if (is_internal(def.origin))
    return api::object_error(
        state_->obj, Errc::invalid_argument,
        "map '" + std::string(map) + "' holds global data: its size is the section's");
  if (max_entries == 0)
    return api::object_error(state_->obj, Errc::invalid_argument,
                             "map '" + std::string(map) + "': max_entries must not be 0");
  def.max_entries = max_entries;
  return ok_status();
}

std::vector<GlobalInfo> Object::globals() const {
  std::vector<GlobalInfo> out;
  for (const auto& v : state_->obj.variables) {
    const auto& def = state_->obj.maps[v.map_index];
    if (def.origin == object::MapOrigin::kconfig) continue;  // externs, not globals
    if (is_static(state_->obj, v)) continue;
    out.push_back({v.name, def.section, v.offset, v.size, def.origin == object::MapOrigin::rodata});
  }
  return out;
}

Status Object::set_global(std::string_view name, std::span<const uint8_t> bytes) {
  std::lock_guard<std::mutex> guard(state_->mutex);
  if (state_->loaded())
    return api::object_error(
        state_->obj, Errc::invalid_argument,
        "global variable '" + std::string(name) +
            "' is set before load, the object is loaded (.rodata is frozen; update .data/.bss "
            "through their map)");
  if (auto var = find_global(state_->obj, name); !var) return var.take_error();
  if (Status set = object::set_global(state_->obj, name, bytes); !set) {
    Error e = set.take_error();
    return api::object_error(state_->obj, e.code, e.message);
  }
  return ok_status();
}

Result<std::vector<uint8_t>> Object::global(std::string_view name) const {
  std::lock_guard<std::mutex> guard(state_->mutex);
  auto found = find_global(state_->obj, name);
  if (!found) return found.take_error();
  const object::Variable* var = *found;
  std::vector<uint8_t> out(var->size, 0);
  if (state_->loaded()) {
    const auto& map = state_->maps.at(var->map_index);
    const auto* data = static_cast<const uint8_t*>(map->data());
    if (!data)
      return api::object_error(state_->obj, Errc::io,
                               "map '" + map->spec().name + "' has no value memory");
    std::memcpy(out.data(), data + var->offset, var->size);
    return out;
  }
  const auto& initial = state_->obj.maps[var->map_index].initial_data;  // empty: .bss, zeroes
  if (initial.size() >= var->offset + var->size)
    std::memcpy(out.data(), initial.data() + var->offset, var->size);
  return out;
}

Status Object::load(const LoadOptions& options) {
  auto rt = Runtime::open_private();
  if (!rt) return rt.take_error();
  return load(*rt, options);
}

const std::string& Object::verifier_log() const {
  return state_->verifier_log;
}

Status Object::load(const Runtime& runtime, const LoadOptions& options) {
  std::lock_guard<std::mutex> guard(state_->mutex);
  if (state_->loaded())
    return api::object_error(state_->obj, Errc::invalid_argument, "the object is already loaded");
  std::vector<runtime::ProgramRecord> records;
  {
    std::lock_guard<std::mutex> rt_guard(runtime.state_->mutex);
    runtime::LoadOptions load_options;
    load_options.unverified = options.unverified;
    load_options.verifier.privileged = !options.unprivileged;
    load_options.verifier.log_level = options.log_level;
    state_->verifier_log.clear();
    load_options.on_verdict = [this](const object::Program&, const verifier::Verdict& verdict) {
      state_->verifier_log += verdict.log;
    };
    auto loaded = runtime.state_->rt.load(state_->obj, load_options);
    if (!loaded) return loaded.take_error();
    records = std::move(*loaded);
  }
  if (records.size() != state_->obj.programs.size())
    return api::object_error(state_->obj, Errc::invalid_argument,
                             "the runtime registered " + std::to_string(records.size()) + " of " +
                                 std::to_string(state_->obj.programs.size()) + " programs");
  // Every record lists the object's maps by index; open them in this process.
  std::vector<uint32_t> map_ids = records.front().map_ids;
  std::vector<std::shared_ptr<maps::Map>> opened;
  for (uint32_t id : map_ids) {
    auto map = runtime.state_->rt.open_map(id);
    if (!map) return map.take_error();
    opened.push_back(std::move(*map));
  }
  for (auto& record : records) {
    auto p = std::make_unique<api::LoadedProgram>();
    p->record = std::move(record);
    state_->programs.push_back(std::move(p));
  }
  state_->map_ids = std::move(map_ids);
  state_->maps = std::move(opened);
  state_->runtime = runtime.state_;
  return ok_status();
}

bool Object::loaded() const {
  return state_->loaded();
}

Result<Runtime> Object::runtime() const {
  if (!state_->loaded())
    return api::object_error(state_->obj, Errc::not_found, "the object is not loaded");
  return Runtime(state_->runtime);
}

Result<std::shared_ptr<maps::Map>> Object::map(std::string_view name) const {
  auto index = state_->obj.find_map(name);
  if (!index)
    return api::object_error(state_->obj, Errc::not_found, "no map '" + std::string(name) + "'");
  if (!state_->loaded())
    return api::object_error(
        state_->obj, Errc::invalid_argument,
        "map '" + std::string(name) + "' exists once the object is loaded: call load() first");
  return state_->maps.at(*index);
}

Status Object::pin_map(std::string_view name, const std::string& path) const {
  auto index = state_->obj.find_map(name);
  if (!index)
    return api::object_error(state_->obj, Errc::not_found, "no map '" + std::string(name) + "'");
  if (!state_->loaded())
    return api::object_error(state_->obj, Errc::invalid_argument,
                             "map '" + std::string(name) + "' is pinned after load");
  std::lock_guard<std::mutex> guard(state_->runtime->mutex);
  return state_->runtime->rt.pin(path, {runtime::PinKind::map, state_->map_ids.at(*index)});
}

}  // namespace userbpf
