// How commands reach the runtime: opening it in the state directory the user chose, and bpftool's
// object handles (PROG := { id ID | pinned PATH | tag TAG | name NAME },
// MAP := { id ID | pinned PATH | name NAME }, LINK := { id ID | pinned PATH }) resolved to
// record ids.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/command_table.hpp"
#include "runtime/runtime.hpp"

namespace userbpf::cli {

// --state-dir DIR when given, else the runtime's default ($USERBPF_STATE_DIR, ...).
Result<runtime::Runtime> open_runtime(const Context& ctx);

enum class HandleKind { prog, map, link };

// Does `word` start a handle of `kind` ("id", "pinned", "tag" (prog only), "name")?
bool is_handle_keyword(HandleKind kind, std::string_view word);

struct HandleMatch {
  std::vector<uint32_t> ids;  // every object the handle names, ascending
  size_t consumed = 0;        // arguments the handle took (2)
};

// Parses the handle at the front of `args` and finds what it names. `id` and `pinned` name one
// object (or fail: "can't get prog by id (7): No such file or directory", "bpf obj get (PATH):
// ..."); `name` and `tag` may name several, or none (an error, as bpftool).
Result<HandleMatch> resolve_handle(runtime::Runtime& rt, HandleKind kind, Args args);

// resolve_handle, insisting on exactly one object (bpftool's prog_parse_fd / map_parse_fd).
Result<HandleMatch> resolve_single(runtime::Runtime& rt, HandleKind kind, Args args);

// The words of a command line with the global options (-j, -p, --state-dir DIR, ...) taken out
// and applied to ctx; bpftool's getopt accepts them anywhere. Everything else stays, in order.
Result<std::vector<std::string>> strip_global_options(Context& ctx, Args args);

// Linux's memlock accounting for small objects: whole pages.
uint64_t round_to_pages(uint64_t bytes);

}  // namespace userbpf::cli
