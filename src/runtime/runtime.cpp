// The registry half of the runtime: records, liveness, pins.
#include "runtime/runtime.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "runtime/record_files.hpp"

namespace userbpf::runtime {
namespace {

constexpr std::string_view kBpffsPrefix = "/sys/fs/bpf";

const char* kind_name(PinKind kind) {
  switch (kind) {
    case PinKind::prog: return "prog";
    case PinKind::map: return "map";
    case PinKind::link: return "link";
  }
  return "prog";
}

}  // namespace

uint64_t process_start_time(int32_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return 0;
  // The command name (field 2) may hold spaces and parentheses: fields resume after the last ')'.
  const size_t close = line.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(line.substr(close + 2));
  std::string field;
  for (int i = 3; i <= 22 && fields >> field; ++i)
    if (i == 22) return std::strtoull(field.c_str(), nullptr, 10);
  return 0;
}

bool owner_alive(int32_t pid, uint64_t start_time) {
  if (pid <= 0) return false;
  if (kill(pid, 0) != 0 && errno != EPERM) return false;
  return start_time == 0 || process_start_time(pid) == start_time;
}

Runtime::Runtime(StateDir dir, trace::TraceBuffer trace)
    : dir_(std::move(dir)), trace_(std::make_unique<trace::TraceBuffer>(std::move(trace))) {}

Result<Runtime> Runtime::open(const std::optional<std::filesystem::path>& state_dir) {
  auto dir = StateDir::open(StateDir::default_root(state_dir));
  if (!dir) return dir.take_error();
  auto trace = trace::TraceBuffer::open(dir->trace_file());
  if (!trace) return trace.take_error();
  auto engine = default_engine();
  if (!engine) return engine.take_error();
  Runtime rt(std::move(*dir), std::move(*trace));
  rt.engine_ = *engine;
  return rt;
}

std::vector<ProgramRecord> Runtime::programs() {
  collect_garbage();
  return read_records<ProgramRecord>(dir_.progs(), program_from_json);
}

std::vector<MapRecord> Runtime::maps() {
  collect_garbage();
  return read_records<MapRecord>(dir_.maps(), map_from_json);
}

Result<ProgramRecord> Runtime::program(uint32_t id) {
  const auto path = dir_.progs() / (std::to_string(id) + ".json");
  auto text = read_file(path);
  if (!text)
    return make_error(Errc::not_found, "can't get prog by id (" + std::to_string(id) +
                                           "): No such file or directory");
  return program_from_json(*text, path.string());
}

Result<MapRecord> Runtime::map_record(uint32_t id) {
  const auto path = dir_.maps() / (std::to_string(id) + ".json");
  auto text = read_file(path);
  if (!text)
    return make_error(Errc::not_found, "can't get map by id (" + std::to_string(id) +
                                           "): No such file or directory");
  return map_from_json(*text, path.string());
}

Result<std::shared_ptr<maps::Map>> Runtime::open_map(uint32_t id) {
  auto record = map_record(id);
  if (!record) return record.take_error();
  return maps::open_map(record->file);
}

Result<std::filesystem::path> Runtime::pin_file(const std::string& path) const {
  std::string_view p = path;
  if (!p.starts_with(kBpffsPrefix) ||
      (p.size() > kBpffsPrefix.size() && p[kBpffsPrefix.size()] != '/'))
    return make_error(Errc::invalid_argument,
                      "pin path '" + path + "' is not on a BPF file system (/sys/fs/bpf)");
  p.remove_prefix(kBpffsPrefix.size());
  while (p.starts_with('/')) p.remove_prefix(1);
  if (p.empty())
    return make_error(Errc::invalid_argument, "pin path '" + path + "' names the file system root");
  const std::filesystem::path rel = std::filesystem::path(p).lexically_normal();
  if (rel.empty() || *rel.begin() == "..")
    return make_error(Errc::invalid_argument, "pin path '" + path + "' leaves /sys/fs/bpf");
  return dir_.bpffs() / rel;
}

Status Runtime::pin(const std::string& path, PinTarget target) {
  auto file = pin_file(path);
  if (!file) return file.take_error();
  std::error_code ec;
  if (std::filesystem::exists(*file, ec))
    return make_error(Errc::invalid_argument, "can't pin the object (" + path + "): File exists");
  std::filesystem::create_directories(file->parent_path(), ec);
  nlohmann::json j = {{"kind", kind_name(target.kind)}, {"id", target.id}};
  StateLock lock(dir_);
  return write_file_atomic(*file, j.dump() + "\n");
}

Result<PinTarget> Runtime::resolve_pin(const std::string& path) {
  auto file = pin_file(path);
  if (!file) return file.take_error();
  auto text = read_file(*file);
  if (!text)
    return make_error(Errc::not_found, "bpf obj get (" + path + "): No such file or directory");
  try {
    const auto j = nlohmann::json::parse(*text);
    PinTarget t;
    const std::string kind = j.at("kind").get<std::string>();
    t.kind = kind == "map" ? PinKind::map : kind == "link" ? PinKind::link : PinKind::prog;
    t.id = j.at("id").get<uint32_t>();
    return t;
  } catch (const std::exception& e) {
    return make_error(Errc::io, "corrupt pin " + path + ": " + e.what());
  }
}

Status Runtime::unpin(const std::string& path) {
  auto file = pin_file(path);
  if (!file) return file.take_error();
  std::error_code ec;
  if (!std::filesystem::remove(*file, ec))
    return make_error(Errc::not_found, "can't unpin " + path + ": No such file or directory");
  return ok_status();
}

std::vector<std::string> Runtime::pins_of(PinTarget target) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir_.bpffs(), ec);
       it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    if (!it->is_regular_file()) continue;
    const std::string rel = std::filesystem::relative(it->path(), dir_.bpffs()).string();
    if (rel.find(".tmp.") != std::string::npos) continue;
    auto t = resolve_pin(std::string(kBpffsPrefix) + "/" + rel);
    if (t && t->kind == target.kind && t->id == target.id)
      out.push_back(std::string(kBpffsPrefix) + "/" + rel);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Status Runtime::release_ownership(PinTarget target) {
  StateLock lock(dir_);
  switch (target.kind) {
    case PinKind::prog: {
      auto record = program(target.id);
      if (!record) return record.take_error();
      record->owner_pid = 0;
      record->owner_start = 0;
      return write_file_atomic(record_path(dir_.progs(), target.id), to_json(*record));
    }
    case PinKind::map: {
      auto record = map_record(target.id);
      if (!record) return record.take_error();
      record->owner_pid = 0;
      record->owner_start = 0;
      return write_file_atomic(record_path(dir_.maps(), target.id), to_json(*record));
    }
    case PinKind::link: {
      auto record = link(target.id);
      if (!record) return record.take_error();
      record->owner_pid = 0;
      record->owner_start = 0;
      return write_file_atomic(record_path(dir_.links(), target.id), to_json(*record));
    }
  }
  return make_error(Errc::invalid_argument, "unknown object kind");
}

void Runtime::collect_garbage() {
  StateLock lock(dir_);
  // Pinned ids.
  std::set<uint32_t> pinned_progs, pinned_maps, pinned_links;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir_.bpffs(), ec);
       it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    if (!it->is_regular_file()) continue;
    auto text = read_file(it->path());
    if (!text) continue;
    try {
      const auto j = nlohmann::json::parse(*text);
      const std::string kind = j.at("kind").get<std::string>();
      auto& pinned = kind == "map" ? pinned_maps : kind == "link" ? pinned_links : pinned_progs;
      pinned.insert(j.at("id").get<uint32_t>());
    } catch (...) {
    }
  }
  // Links: persistent (no owner), owned by a live process, or pinned. They hold their programs.
  std::set<uint32_t> linked_progs;
  for (const auto& link : read_records<LinkRecord>(dir_.links(), link_from_json)) {
    if (link.owner_pid == 0 || owner_alive(link.owner_pid, link.owner_start) ||
        pinned_links.count(link.id)) {
      linked_progs.insert(link.prog_id);
      continue;
    }
    std::filesystem::remove(record_path(dir_.links(), link.id), ec);
  }
  // Programs: alive while owned by a live process, pinned or linked.
  std::set<uint32_t> used_maps;
  for (const auto& prog : read_records<ProgramRecord>(dir_.progs(), program_from_json)) {
    if (owner_alive(prog.owner_pid, prog.owner_start) || pinned_progs.count(prog.id) ||
        linked_progs.count(prog.id)) {
      used_maps.insert(prog.map_ids.begin(), prog.map_ids.end());
      continue;
    }
    std::filesystem::remove(record_path(dir_.progs(), prog.id), ec);
  }
  // Maps: alive while owned, pinned or used by a live program.
  for (const auto& map : read_records<MapRecord>(dir_.maps(), map_from_json)) {
    if (owner_alive(map.owner_pid, map.owner_start) || pinned_maps.count(map.id) ||
        used_maps.count(map.id))
      continue;
    std::filesystem::remove(record_path(dir_.maps(), map.id), ec);
    if (!map.file.empty()) std::filesystem::remove(map.file, ec);
  }
}

}  // namespace userbpf::runtime
