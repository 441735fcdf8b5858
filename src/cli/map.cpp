// `userbpf map ...`: bpftool's map commands over the runtime's maps (shared-memory maps any
// process can open). MAP := { id MAP_ID | pinned FILE | name MAP_NAME }.
//   show/list [MAP]      12: array  name counts  flags 0x0 / key 4B  value 8B  max_entries 4 ...
//   dump MAP             every entry, then "Found N elements"; -j an array of entries
//   lookup MAP key ...   one entry, or "Not found" (-j null)
//   update MAP key ... value ... [any|exist|noexist]
//   delete MAP key ...
//   getnext MAP [key ...]
//   pin MAP PATH
//   peek|pop|dequeue MAP, push|enqueue MAP value ...   (queue and stack maps)
// Under -j an entry of a map with BTF also has bpftool's "formatted" member (map_btf.hpp); plain
// dump and lookup of such a map print that formatted form as bpftool does (bpftool_json_writer).
#include "cli/map.hpp"

#include <bpf/btf.h>
#include <linux/bpf.h>
#include <string.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>

#include "cli/bpftool_json_writer.hpp"
#include "cli/map_btf.hpp"
#include "cli/map_format.hpp"
#include "cli/prefix_match.hpp"
#include "cli/runtime_access.hpp"

namespace userbpf::cli {
namespace {

std::string errno_text(int negative_errno) {
  return strerror(-negative_errno);
}

// The map a command works on, opened in this process, and the words after its handle.
struct MapTarget {
  runtime::MapRecord record;
  std::shared_ptr<maps::Map> map;
  std::vector<std::string> rest;
  // The map's BTF when the record names a value type and the BTF file exists (for "formatted").
  std::shared_ptr<::btf> btf;
};

std::shared_ptr<::btf> load_map_btf(runtime::Runtime& rt, const runtime::MapRecord& rec) {
  if (rec.btf_id == 0 || rec.value_type_id == 0) return nullptr;
  const std::string path = (rt.dir().btf() / (std::to_string(rec.btf_id) + ".btf")).string();
  ::btf* b = btf__parse_raw(path.c_str());
  if (!b) return nullptr;
  return std::shared_ptr<::btf>(b, btf__free);
}

// bpftool's "formatted" member: the key and value through their BTF types (per-CPU maps: one
// value per CPU). Empty when a part cannot be formatted.
nlohmann::ordered_json formatted(const MapTarget& t, std::span<const uint8_t> key,
                                 std::span<const uint8_t> value) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  if (t.record.key_type_id != 0 && !key.empty()) {
    auto k = btf_format(t.btf.get(), t.record.key_type_id, key);
    if (!k) return nullptr;
    j["key"] = std::move(*k);
  }
  const maps::MapSpec& spec = t.map->spec();
  if (!t.map->is_percpu()) {
    auto v = btf_format(t.btf.get(), t.record.value_type_id, value.subspan(0, spec.value_size));
    if (!v) return nullptr;
    j["value"] = std::move(*v);
    return j;
  }
  nlohmann::ordered_json values = nlohmann::ordered_json::array();
  const size_t step = (spec.value_size + 7) / 8 * 8;
  for (uint32_t cpu = 0; cpu < t.map->ncpus(); ++cpu) {
    auto v =
        btf_format(t.btf.get(), t.record.value_type_id, value.subspan(cpu * step, spec.value_size));
    if (!v) return nullptr;
    values.push_back({{"cpu", cpu}, {"value", std::move(*v)}});
  }
  j["values"] = std::move(values);
  return j;
}

nlohmann::ordered_json entry_json_of(const MapTarget& t, std::span<const uint8_t> key,
                                     std::span<const uint8_t> value) {
  nlohmann::ordered_json j = entry_json(t.map->spec(), t.map->ncpus(), key, value);
  if (t.btf) {
    nlohmann::ordered_json f = formatted(t, key, value);
    if (!f.is_null()) j["formatted"] = std::move(f);
  }
  return j;
}

Result<MapTarget> open_target(Context& ctx, runtime::Runtime& rt, Args args) {
  auto words = strip_global_options(ctx, args);
  if (!words) return words.take_error();
  auto match = resolve_single(rt, HandleKind::map, *words);
  if (!match) return match.take_error();
  MapTarget target;
  auto record = rt.map_record(match->ids[0]);
  if (!record) return record.take_error();
  target.record = std::move(*record);
  auto map = rt.open_map(target.record.id);
  if (!map) return map.take_error();
  target.map = std::move(*map);
  target.rest.assign(words->begin() + long(match->consumed), words->end());
  target.btf = load_map_btf(rt, target.record);
  return target;
}

// The same for a command that needs nothing else of the runtime: the target holds its own
// record and map, so the runtime can be closed once it is resolved.
Result<MapTarget> open_target(Context& ctx, Args args) {
  auto rt = open_runtime(ctx);
  if (!rt) return rt.take_error();
  return open_target(ctx, *rt, args);
}

Status expect_end(const std::vector<std::string>& words, size_t pos) {
  if (pos < words.size()) {
    return make_error(Errc::invalid_argument, "unexpected argument '" + words[pos] + "'");
  }
  return ok_status();
}

// `key BYTES` at words[*pos].
Result<std::vector<uint8_t>> take_key(const std::vector<std::string>& words, size_t* pos,
                                      uint32_t size) {
  if (*pos >= words.size() || words[*pos] != "key") {
    return make_error(Errc::invalid_argument, "did not find key");
  }
  ++*pos;
  return parse_bytes(words, pos, "key", size);
}

Result<std::vector<uint8_t>> take_value(const std::vector<std::string>& words, size_t* pos,
                                        uint32_t size) {
  if (*pos >= words.size() || words[*pos] != "value") {
    return make_error(Errc::invalid_argument, "did not find value");
  }
  ++*pos;
  return parse_bytes(words, pos, "value", size);
}

bool is_per_cpu(const maps::Map& map) {
  return map.is_percpu();
}

// A per-CPU map's value from the command line goes to every CPU's slot, as bpftool does.
std::vector<uint8_t> user_value(const maps::Map& map, const std::vector<uint8_t>& value) {
  if (!is_per_cpu(map)) return value;
  std::vector<uint8_t> all(map.user_value_size(), 0);
  const uint32_t step = (map.spec().value_size + 7) / 8 * 8;
  for (uint32_t cpu = 0; cpu < map.ncpus(); ++cpu) {
    std::copy(value.begin(), value.end(), all.begin() + long(cpu) * step);
  }
  return all;
}

void print_entry(Context& ctx, const MapTarget& t, std::span<const uint8_t> key,
                 std::span<const uint8_t> value) {
  if (ctx.json) {
    ctx.print_json(entry_json_of(t, key, value));
    return;
  }
  // bpftool writes an entry of a map with BTF through btf_dumper in plain-text mode.
  if (t.btf) {
    nlohmann::ordered_json f = formatted(t, key, value);
    if (!f.is_null()) {
      BpftoolJsonWriter writer(ctx.out);
      writer.value(f);
      writer.finish();
      return;
    }
  }
  ctx.out << entry_plain(t.map->spec(), t.map->ncpus(), key, value);
}

// ---- show / list ----

void show_plain(Context& ctx, const runtime::MapRecord& rec, const std::vector<std::string>& pins) {
  const maps::MapSpec& s = rec.spec;
  ctx.out << rec.id << ": " << runtime::map_type_name(s.type) << "  ";
  if (!s.name.empty()) ctx.out << "name " << s.name << "  ";
  ctx.out << "flags 0x" << std::hex << s.map_flags << std::dec << "\n";
  ctx.out << "\tkey " << s.key_size << "B  value " << s.value_size << "B  max_entries "
          << s.max_entries << "  memlock " << map_memlock(rec) << "B";
  for (const std::string& pin : pins) ctx.out << "\n\tpinned " << pin;
  if (rec.btf_id || rec.frozen) ctx.out << "\n\t";
  if (rec.btf_id) ctx.out << "btf_id " << rec.btf_id;
  if (rec.frozen) ctx.out << (rec.btf_id ? "  " : "") << "frozen";
  ctx.out << "\n";
}

nlohmann::ordered_json show_json(const runtime::MapRecord& rec,
                                 const std::vector<std::string>& pins) {
  const maps::MapSpec& s = rec.spec;
  nlohmann::ordered_json j;
  j["id"] = rec.id;
  j["type"] = runtime::map_type_name(s.type);
  if (!s.name.empty()) j["name"] = s.name;
  j["flags"] = s.map_flags;
  j["bytes_key"] = s.key_size;
  j["bytes_value"] = s.value_size;
  j["max_entries"] = s.max_entries;
  j["bytes_memlock"] = map_memlock(rec);
  j["frozen"] = rec.frozen ? 1 : 0;
  if (rec.btf_id) j["btf_id"] = rec.btf_id;
  if (!pins.empty()) j["pinned"] = pins;
  return j;
}

Status do_show(Context& ctx, Args args) {
  auto words = strip_global_options(ctx, args);
  if (!words) return words.take_error();
  auto rt = open_runtime(ctx);
  if (!rt) return rt.take_error();
  std::vector<runtime::MapRecord> records;
  const bool subset = !words->empty();
  if (subset) {
    auto match = resolve_handle(*rt, HandleKind::map, *words);
    if (!match) return match.take_error();
    if (Status s = expect_end(*words, match->consumed); !s) return s;
    for (uint32_t id : match->ids) {
      auto rec = rt->map_record(id);
      if (!rec) return rec.take_error();
      records.push_back(std::move(*rec));
    }
  } else {
    records = rt->maps();
  }
  if (ctx.json) {
    nlohmann::ordered_json all = nlohmann::ordered_json::array();
    for (const auto& rec : records) {
      all.push_back(show_json(rec, rt->pins_of({runtime::PinKind::map, rec.id})));
    }
    ctx.print_json(subset && all.size() == 1 ? all[0] : all);
    return ok_status();
  }
  for (const auto& rec : records)
    show_plain(ctx, rec, rt->pins_of({runtime::PinKind::map, rec.id}));
  return ok_status();
}

// ---- element commands ----

Status do_dump(Context& ctx, Args args) {
  auto t = open_target(ctx, args);
  if (!t) return t.take_error();
  if (Status s = expect_end(t->rest, 0); !s) return s;
  maps::Map& map = *t->map;
  const maps::MapSpec& spec = map.spec();
  if (spec.type == BPF_MAP_TYPE_QUEUE || spec.type == BPF_MAP_TYPE_STACK ||
      spec.type == BPF_MAP_TYPE_BLOOM_FILTER) {
    return make_error(Errc::invalid_argument, "can't dump a " + runtime::map_type_name(spec.type) +
                                                  " map, use peek or pop instead");
  }
  nlohmann::ordered_json entries = nlohmann::ordered_json::array();
  // Plain output of a map with BTF: bpftool's `[{ "key": ..., "value": ... },...]` listing
  // (btf_dumper, plain-text mode) instead of hex lines and the "Found N elements" count.
  std::optional<BpftoolJsonWriter> btf_writer;
  if (!ctx.json && t->btf) {
    btf_writer.emplace(ctx.out);
    btf_writer->begin_array();
  }
  std::vector<uint8_t> key(spec.key_size), next(spec.key_size), value(map.user_value_size());
  uint32_t count = 0;
  bool first = true;
  for (;;) {
    const int rc = map.get_next_key(first ? nullptr : key.data(), next.data());
    if (rc == -ENOENT) break;
    if (rc < 0) return make_error(Errc::io, "can't get next key: " + errno_text(rc));
    first = false;
    key = next;
    const int lookup = map.lookup_copy(key.data(), value.data());
    if (lookup < 0) {
      // An entry deleted between get_next_key and lookup, as bpftool shows it.
      if (ctx.json) {
        entries.push_back(
            {{"key", hex_bytes_json(key)}, {"value", {{"error", errno_text(lookup)}}}});
      } else {
        ctx.out << "key: " << hex_bytes(key)
                << "  value: " << (lookup == -ENOENT ? "<no entry>" : errno_text(lookup)) << "\n";
      }
      continue;
    }
    if (ctx.json) {
      entries.push_back(entry_json_of(*t, key, value));
    } else if (nlohmann::ordered_json f; btf_writer && !(f = formatted(*t, key, value)).is_null()) {
      btf_writer->value(f);
    } else {
      ctx.out << entry_plain(spec, map.ncpus(), key, value);
    }
    ++count;
  }
  if (ctx.json) {
    ctx.print_json(entries);
  } else if (btf_writer) {
    btf_writer->end_array();
    btf_writer->finish();
  } else {
    ctx.out << "Found " << count << " element" << (count == 1 ? "" : "s") << "\n";
  }
  return ok_status();
}

Status do_lookup(Context& ctx, Args args) {
  auto t = open_target(ctx, args);
  if (!t) return t.take_error();
  size_t pos = 0;
  auto key = take_key(t->rest, &pos, t->map->spec().key_size);
  if (!key) return key.take_error();
  if (Status s = expect_end(t->rest, pos); !s) return s;
  std::vector<uint8_t> value(t->map->user_value_size());
  const int rc = t->map->lookup_copy(key->data(), value.data());
  if (rc == -ENOENT) {
    if (ctx.json) {
      ctx.print_json(nullptr);
    } else {
      ctx.out << "key:\n" << hex_bytes(*key) << "\n\nNot found\n";
    }
    return ok_status();
  }
  if (rc < 0) return make_error(Errc::invalid_argument, "lookup failed: " + errno_text(rc));
  print_entry(ctx, *t, *key, value);
  return ok_status();
}

Status do_update(Context& ctx, Args args) {
  auto t = open_target(ctx, args);
  if (!t) return t.take_error();
  size_t pos = 0;
  auto key = take_key(t->rest, &pos, t->map->spec().key_size);
  if (!key) return key.take_error();
  auto value = take_value(t->rest, &pos, t->map->spec().value_size);
  if (!value) return value.take_error();
  uint64_t flags = BPF_ANY;
  if (pos < t->rest.size()) {
    const std::string& word = t->rest[pos++];
    if (word == "any") {
      flags = BPF_ANY;
    } else if (word == "exist") {
      flags = BPF_EXIST;
    } else if (word == "noexist") {
      flags = BPF_NOEXIST;
    } else {
      return make_error(Errc::invalid_argument, "unknown update flags: " + word);
    }
  }
  if (Status s = expect_end(t->rest, pos); !s) return s;
  if (t->record.frozen) {
    return make_error(Errc::invalid_argument, "update failed: Operation not permitted");
  }
  const std::vector<uint8_t> full = user_value(*t->map, *value);
  const int rc = t->map->update_copy(key->data(), full.data(), flags);
  if (rc < 0) return make_error(Errc::invalid_argument, "update failed: " + errno_text(rc));
  if (ctx.json) ctx.print_json(nullptr);
  return ok_status();
}

Status do_delete(Context& ctx, Args args) {
  auto t = open_target(ctx, args);
  if (!t) return t.take_error();
  size_t pos = 0;
  auto key = take_key(t->rest, &pos, t->map->spec().key_size);
  if (!key) return key.take_error();
  if (Status s = expect_end(t->rest, pos); !s) return s;
  const int rc = t->map->delete_copy(key->data());
  if (rc < 0) return make_error(Errc::invalid_argument, "delete failed: " + errno_text(rc));
  if (ctx.json) ctx.print_json(nullptr);
  return ok_status();
}

Status do_getnext(Context& ctx, Args args) {
  auto t = open_target(ctx, args);
  if (!t) return t.take_error();
  const uint32_t key_size = t->map->spec().key_size;
  std::optional<std::vector<uint8_t>> key;
  size_t pos = 0;
  if (!t->rest.empty()) {
    auto parsed = take_key(t->rest, &pos, key_size);
    if (!parsed) return parsed.take_error();
    key = std::move(*parsed);
  }
  if (Status s = expect_end(t->rest, pos); !s) return s;
  std::vector<uint8_t> next(key_size);
  const int rc = t->map->get_next_key(key ? key->data() : nullptr, next.data());
  if (rc < 0) return make_error(Errc::invalid_argument, "can't get next key: " + errno_text(rc));
  if (ctx.json) {
    nlohmann::ordered_json j;
    j["key"] = key ? hex_bytes_json(*key) : nlohmann::ordered_json(nullptr);
    j["next_key"] = hex_bytes_json(next);
    ctx.print_json(j);
  } else {
    ctx.out << (key ? "key:\n" + hex_bytes(*key) + "\n" : "key: None\n");
    ctx.out << "next key:\n" << hex_bytes(next) << "\n";
  }
  return ok_status();
}

Status do_pin(Context& ctx, Args args) {
  auto rt = open_runtime(ctx);
  if (!rt) return rt.take_error();
  auto t = open_target(ctx, *rt, args);
  if (!t) return t.take_error();
  if (t->rest.size() != 1)
    return make_error(Errc::invalid_argument, "'map pin' needs MAP and PATH");
  if (Status s = rt->pin(t->rest[0], {runtime::PinKind::map, t->record.id}); !s) return s;
  if (ctx.json) ctx.print_json(nullptr);
  return ok_status();
}

Status queue_only(const MapTarget& t, const char* command) {
  const uint32_t type = t.map->spec().type;
  if (type != BPF_MAP_TYPE_QUEUE && type != BPF_MAP_TYPE_STACK &&
      !(type == BPF_MAP_TYPE_BLOOM_FILTER && std::string_view(command) != "pop")) {
    return make_error(Errc::invalid_argument, std::string(command) +
                                                  " is only for queue and stack maps, not " +
                                                  runtime::map_type_name(type));
  }
  return ok_status();
}

Status take_element(Context& ctx, Args args, bool remove) {
  auto t = open_target(ctx, args);
  if (!t) return t.take_error();
  if (Status s = queue_only(*t, remove ? "pop" : "peek"); !s) return s;
  if (Status s = expect_end(t->rest, 0); !s) return s;
  std::vector<uint8_t> value(t->map->user_value_size());
  const int rc = remove ? t->map->pop(value.data()) : t->map->peek(value.data());
  if (rc < 0) {
    return make_error(Errc::invalid_argument,
                      std::string(remove ? "pop" : "peek") + " failed: " + errno_text(rc));
  }
  print_entry(ctx, *t, {}, value);
  return ok_status();
}

Status do_peek(Context& ctx, Args args) {
  return take_element(ctx, args, false);
}
Status do_pop(Context& ctx, Args args) {
  return take_element(ctx, args, true);
}

Status do_push(Context& ctx, Args args) {
  auto t = open_target(ctx, args);
  if (!t) return t.take_error();
  if (Status s = queue_only(*t, "push"); !s) return s;
  size_t pos = 0;
  auto value = take_value(t->rest, &pos, t->map->spec().value_size);
  if (!value) return value.take_error();
  if (Status s = expect_end(t->rest, pos); !s) return s;
  const int rc = t->map->push(value->data(), BPF_ANY);
  if (rc < 0) return make_error(Errc::invalid_argument, "update failed: " + errno_text(rc));
  if (ctx.json) ctx.print_json(nullptr);
  return ok_status();
}

Status do_map_help(Context& ctx, Args) {
  if (ctx.json) {
    ctx.print_json(nullptr);
    return ok_status();
  }
  const std::string& bin = ctx.bin_name;
  ctx.err << "Usage: " << bin << " map { show | list }   [MAP]\n"
          << "       " << bin << " map dump       MAP\n"
          << "       " << bin << " map update     MAP key DATA value VALUE [UPDATE_FLAGS]\n"
          << "       " << bin << " map lookup     MAP key DATA\n"
          << "       " << bin << " map getnext    MAP [key DATA]\n"
          << "       " << bin << " map delete     MAP key DATA\n"
          << "       " << bin << " map pin        MAP FILE\n"
          << "       " << bin << " map peek       MAP\n"
          << "       " << bin << " map push       MAP value VALUE\n"
          << "       " << bin << " map pop        MAP\n"
          << "       " << bin << " map enqueue    MAP value VALUE\n"
          << "       " << bin << " map dequeue    MAP\n"
          << "       " << bin << " map help\n"
          << "\n"
          << "       MAP := { id MAP_ID | pinned FILE | name MAP_NAME }\n"
          << "       DATA := { [hex] BYTES }\n"
          << "       VALUE := { DATA }\n"
          << "       UPDATE_FLAGS := { any | exist | noexist }\n"
          << "       OPTIONS := { {-j|--json} [{-p|--pretty}] | {-d|--debug} | --state-dir DIR }\n";
  return ok_status();
}

// bpftool's map commands in bpftool's order; `list` and `dump` win their prefix ties.
constexpr Command kMapCommands[] = {
    {"show", do_show},       {"list", do_show, true}, {"help", do_map_help},
    {"dump", do_dump, true}, {"update", do_update},   {"lookup", do_lookup},
    {"getnext", do_getnext}, {"delete", do_delete},   {"pin", do_pin},
    {"event_pipe", nullptr}, {"create", nullptr},     {"peek", do_peek},
    {"push", do_push},       {"enqueue", do_push},    {"pop", do_pop},
    {"dequeue", do_pop},     {"freeze", nullptr},
};

}  // namespace

uint64_t map_memlock(const runtime::MapRecord& rec) {
  return round_to_pages(uint64_t(rec.spec.key_size + rec.spec.value_size) * rec.spec.max_entries);
}

Status do_map(Context& ctx, Args args) {
  return dispatch(ctx, CommandTable{"map", kMapCommands, "show", do_map_help}, args);
}

}  // namespace userbpf::cli
