#include "cli/runtime_access.hpp"

#include <algorithm>

#include "cli/command_args.hpp"

namespace userbpf::cli {

Result<runtime::Runtime> open_runtime(const Context& ctx) {
  std::optional<std::filesystem::path> dir;
  if (!ctx.state_dir.empty()) dir = ctx.state_dir;
  auto rt = runtime::Runtime::open(dir);
  if (!rt || ctx.engine.empty()) return rt;
  auto engine = runtime::parse_engine(ctx.engine);
  if (!engine) return engine.take_error();
  rt->set_engine(*engine);
  return rt;
}

bool is_handle_keyword(HandleKind kind, std::string_view word) {
  if (kind == HandleKind::link) return word == "id" || word == "pinned";  // bpftool's LINK
  return word == "id" || word == "pinned" || word == "name" ||
         (kind == HandleKind::prog && word == "tag");
}

namespace {

std::string_view noun(HandleKind kind) {
  switch (kind) {
    case HandleKind::prog: return "prog";
    case HandleKind::map: return "map";
    case HandleKind::link: return "link";
  }
  return "object";
}

std::string expected_keywords(HandleKind kind) {
  switch (kind) {
    case HandleKind::prog: return "'id', 'tag', 'name' or 'pinned'";
    case HandleKind::map: return "'id', 'name' or 'pinned'";
    case HandleKind::link: return "'id' or 'pinned'";
  }
  return "a handle";
}

runtime::PinKind pin_kind(HandleKind kind) {
  switch (kind) {
    case HandleKind::prog: return runtime::PinKind::prog;
    case HandleKind::map: return runtime::PinKind::map;
    case HandleKind::link: return runtime::PinKind::link;
  }
  return runtime::PinKind::prog;
}

}  // namespace

Result<HandleMatch> resolve_handle(runtime::Runtime& rt, HandleKind kind, Args args) {
  if (args.empty()) {
    return make_error(Errc::invalid_argument,
                      "expected " + expected_keywords(kind) + ", got nothing");
  }
  const std::string& word = args[0];
  if (!is_handle_keyword(kind, word)) {
    return make_error(Errc::invalid_argument,
                      "expected " + expected_keywords(kind) + ", got: '" + word + "'?");
  }
  if (args.size() < 2) return make_error(Errc::invalid_argument, "'" + word + "' needs a value");
  const std::string& value = args[1];
  HandleMatch match;
  match.consumed = 2;

  if (word == "id") {
    auto id = parse_unsigned(value, "ID");
    if (!id || *id > UINT32_MAX) {
      return make_error(Errc::invalid_argument, "can't parse " + value + " as ID");
    }
    const uint32_t id32 = static_cast<uint32_t>(*id);
    if (kind == HandleKind::prog) {
      if (auto rec = rt.program(id32); !rec) return rec.take_error();
    } else if (kind == HandleKind::map) {
      if (auto rec = rt.map_record(id32); !rec) return rec.take_error();
    } else {
      if (auto rec = rt.link(id32); !rec) return rec.take_error();
    }
    match.ids.push_back(id32);
    return match;
  }
  if (word == "pinned") {
    auto target = rt.resolve_pin(value);
    if (!target) return target.take_error();
    if (target->kind != pin_kind(kind)) {
      const char* got = target->kind == runtime::PinKind::prog  ? "prog"
                        : target->kind == runtime::PinKind::map ? "map"
                                                                : "link";
      return make_error(Errc::invalid_argument, std::string("incorrect object type: ") + got);
    }
    match.ids.push_back(target->id);
    return match;
  }
  if (word == "tag") {
    if (value.size() != 16 || value.find_first_not_of("0123456789abcdefABCDEF") != value.npos) {
      return make_error(Errc::invalid_argument, "can't parse tag");
    }
    std::string lower = value;
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    for (const auto& rec : rt.programs()) {
      if (rec.tag == lower) match.ids.push_back(rec.id);
    }
  } else {  // name
    if (kind == HandleKind::prog) {
      for (const auto& rec : rt.programs()) {
        if (rec.name == value) match.ids.push_back(rec.id);
      }
    } else {
      for (const auto& rec : rt.maps()) {
        if (rec.spec.name == value) match.ids.push_back(rec.id);
      }
    }
  }
  if (match.ids.empty()) {
    return make_error(Errc::not_found, std::string("no ") + std::string(noun(kind)) + " matches " +
                                           word + " " + value);
  }
  std::sort(match.ids.begin(), match.ids.end());
  return match;
}

Result<HandleMatch> resolve_single(runtime::Runtime& rt, HandleKind kind, Args args) {
  auto match = resolve_handle(rt, kind, args);
  if (!match) return match;
  if (match->ids.size() > 1) {
    return make_error(Errc::invalid_argument, std::string("several ") + std::string(noun(kind)) +
                                                  "s match this handle, use 'id' or 'pinned'");
  }
  return match;
}

Result<std::vector<std::string>> strip_global_options(Context& ctx, Args args) {
  // Every bare word is a positional: as many slots as there are words.
  const std::vector<std::string_view> slots(args.size(), "WORD");
  auto parsed = parse_args(args, global_option_specs(), ParseRules{"", slots, false});
  if (!parsed) return parsed.take_error();
  apply_global_options(*parsed, ctx);
  return std::move(parsed->positionals);
}

uint64_t round_to_pages(uint64_t bytes) {
  constexpr uint64_t kPage = 4096;
  return std::max<uint64_t>(1, (bytes + kPage - 1) / kPage) * kPage;
}

}  // namespace userbpf::cli
