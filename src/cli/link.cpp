// `userbpf link { show | list } [LINK]`, `link pin LINK PATH`, `link detach LINK`: bpftool's link
// commands over the runtime's links. Links show as the kernel reports the same attachment:
// tracepoints, kprobes and uprobes are perf_event links, raw tracepoints raw_tracepoint links.
#include "cli/link.hpp"

#include <fmt/format.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <ostream>

#include "cli/runtime_access.hpp"

namespace userbpf::cli {
namespace {

using json = nlohmann::ordered_json;

// One link as bpftool shows it: the link type, the detail after the header (plain) and the
// same facts as JSON fields.
struct LinkView {
  std::string type = "unspec";
  std::string detail;
  json fields = json::object();
};

bool take_prefix(std::string_view& s, std::initializer_list<std::string_view> prefixes) {
  for (std::string_view p : prefixes) {
    if (s.starts_with(p)) {
      s.remove_prefix(p.size());
      return true;
    }
  }
  return false;
}

// "FUNC+0x10" -> FUNC and 16.
void split_offset(std::string_view spec, std::string& func, uint64_t& offset) {
  const size_t plus = spec.rfind('+');
  func = std::string(spec.substr(0, plus));
  offset = plus == std::string_view::npos
               ? 0
               : std::strtoull(std::string(spec.substr(plus + 1)).c_str(), nullptr, 0);
}

LinkView describe(const runtime::LinkRecord& link) {
  LinkView v;
  std::string_view t = link.target;
  const std::string cookie =
      link.cookie ? "cookie " + std::to_string(link.cookie) + "  " : std::string();
  if (take_prefix(t, {"tracepoint/", "tp/"})) {
    const std::string name(t.substr(t.find('/') + 1));
    v.type = "perf_event";
    v.detail = "\n\ttracepoint " + name + "  " + cookie;
    v.fields = {{"tracepoint", name}, {"cookie", link.cookie}};
  } else if (take_prefix(t, {"raw_tracepoint/", "raw_tp/", "raw_tracepoint.w/", "raw_tp.w/"})) {
    v.type = "raw_tracepoint";
    v.detail = "\n\ttp '" + std::string(t) + "'  ";
    v.fields = {{"tp_name", std::string(t)}};
  } else if (std::string_view k = t;
             take_prefix(k, {"kprobe/", "kretprobe/", "ksyscall/", "kretsyscall/"})) {
    const bool ret = t.starts_with("kret");
    std::string func;
    uint64_t offset = 0;
    split_offset(k, func, offset);
    // libbpf attaches ksyscall programs to the syscall's x86-64 wrapper.
    if (t.starts_with("ksyscall/") || t.starts_with("kretsyscall/")) func = "__x64_sys_" + func;
    v.type = "perf_event";
    v.detail = std::string(ret ? "\n\tkretprobe " : "\n\tkprobe ") + func;
    if (offset) v.detail += "+" + fmt::format("{:#x}", offset);
    v.detail += "  " + cookie;
    v.fields = {{"retprobe", ret},  {"addr", 0},   {"func", func},
                {"offset", offset}, {"missed", 0}, {"cookie", link.cookie}};
  } else if (std::string_view u = t;
             take_prefix(u, {"uprobe/", "uretprobe/", "usdt/", "uprobe.s/", "uretprobe.s/"})) {
    const bool ret = t.starts_with("uret");
    v.type = "perf_event";
    v.detail = std::string(ret ? "\n\turetprobe " : "\n\tuprobe ") + std::string(u) + "  " + cookie;
    v.fields = {{"retprobe", ret}, {"file", std::string(u)}, {"cookie", link.cookie}};
  }
  return v;
}

std::string comm_of(int32_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
  std::string comm;
  std::getline(in, comm);
  return comm;
}

void show_plain(Context& ctx, const runtime::LinkRecord& link,
                const std::vector<std::string>& pins) {
  const LinkView v = describe(link);
  ctx.out << link.id << ": " << v.type << "  prog " << link.prog_id << "  " << v.detail;
  for (const std::string& pin : pins) ctx.out << "\n\tpinned " << pin;
  if (link.owner_pid)
    ctx.out << "\n\tpids " << comm_of(link.owner_pid) << "(" << link.owner_pid << ")";
  ctx.out << "\n";
}

json show_json(const runtime::LinkRecord& link, const std::vector<std::string>& pins) {
  const LinkView v = describe(link);
  json j = {{"id", link.id}, {"type", v.type}, {"prog_id", link.prog_id}};
  for (auto& [key, value] : v.fields.items()) j[key] = value;
  j["target"] = link.target;  // userbpf's own: the hook in SEC() form
  if (!pins.empty()) j["pinned"] = pins;
  if (link.owner_pid) {
    j["pids"] = json::array({{{"pid", link.owner_pid}, {"comm", comm_of(link.owner_pid)}}});
  }
  return j;
}

Status do_show(Context& ctx, Args args) {
  auto words = strip_global_options(ctx, args);
  if (!words) return words.take_error();
  auto rt = open_runtime(ctx);
  if (!rt) return rt.take_error();
  std::vector<runtime::LinkRecord> links;
  if (words->empty()) {
    links = rt->links();
  } else {
    auto match = resolve_single(*rt, HandleKind::link, *words);
    if (!match) return match.take_error();
    if (words->size() != match->consumed) {
      return make_error(Errc::invalid_argument, "unexpected '" + (*words)[match->consumed] + "'");
    }
    auto link = rt->link(match->ids[0]);
    if (!link) return link.take_error();
    links.push_back(std::move(*link));
  }
  if (ctx.json) {
    json all = json::array();
    for (const auto& link : links) {
      all.push_back(show_json(link, rt->pins_of({runtime::PinKind::link, link.id})));
    }
    ctx.print_json(words->empty() ? all : all[0]);
    return ok_status();
  }
  for (const auto& link : links)
    show_plain(ctx, link, rt->pins_of({runtime::PinKind::link, link.id}));
  return ok_status();
}

Result<uint32_t> single_link(runtime::Runtime& rt, Args words, size_t extra,
                             std::string_view usage) {
  auto match = resolve_single(rt, HandleKind::link, words);
  if (!match) return match.take_error();
  if (words.size() != match->consumed + extra) {
    return make_error(Errc::invalid_argument, "usage: " + std::string(usage));
  }
  return match->ids[0];
}

Status do_pin(Context& ctx, Args args) {
  auto words = strip_global_options(ctx, args);
  if (!words) return words.take_error();
  auto rt = open_runtime(ctx);
  if (!rt) return rt.take_error();
  auto id = single_link(*rt, *words, 1, "link pin LINK PATH");
  if (!id) return id.take_error();
  if (Status s = rt->pin(words->back(), {runtime::PinKind::link, *id}); !s) return s;
  if (ctx.json) ctx.print_json(nullptr);
  return ok_status();
}

Status do_detach(Context& ctx, Args args) {
  auto words = strip_global_options(ctx, args);
  if (!words) return words.take_error();
  auto rt = open_runtime(ctx);
  if (!rt) return rt.take_error();
  auto id = single_link(*rt, *words, 0, "link detach LINK");
  if (!id) return id.take_error();
  if (Status s = rt->detach_link(*id); !s) return s;
  if (ctx.json) ctx.print_json(nullptr);
  return ok_status();
}

Status do_help(Context& ctx, Args) {
  if (ctx.json) {
    ctx.print_json(nullptr);
    return ok_status();
  }
  const std::string& bin = ctx.bin_name;
  ctx.err << "Usage: " << bin << " link { show | list } [LINK]\n"
          << "       " << bin << " link pin        LINK  PATH\n"
          << "       " << bin << " link detach     LINK\n"
          << "       " << bin << " link help\n"
          << "\n"
          << "       LINK := { id LINK_ID | pinned PATH }\n"
          << "       OPTIONS := { {-j|--json} [{-p|--pretty}] | {-d|--debug} | --state-dir DIR }\n";
  return ok_status();
}

constexpr Command kLinkCommands[] = {
    {"show", do_show}, {"list", do_show}, {"help", do_help}, {"pin", do_pin}, {"detach", do_detach},
};

}  // namespace

Status do_link(Context& ctx, Args args) {
  return dispatch(ctx, CommandTable{"link", kLinkCommands, "show", do_help}, args);
}

}  // namespace userbpf::cli
