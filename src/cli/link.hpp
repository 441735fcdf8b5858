// The `link` object: `userbpf link { show | list | pin | detach | help }` (bpftool's grammar), and
// `prog attach` / `prog detach`, which make and end links.
#pragma once

#include <string>

#include "cli/command_table.hpp"
#include "userbpf/error.hpp"

namespace userbpf::cli {

Status do_link(Context& ctx, Args args);
Status do_prog_attach(Context& ctx, Args args);
Status do_prog_detach(Context& ctx, Args args);

// The hook in SEC() form that `prog attach`'s ATTACH_TYPE [TARGET] words name:
//   tracepoint CATEGORY:NAME (or CATEGORY/NAME)  -> tracepoint/CATEGORY/NAME
//   raw_tracepoint NAME                          -> raw_tracepoint/NAME
//   { kprobe | kretprobe } FUNCTION[+OFFSET]     -> kprobe/FUNCTION[+OFFSET]
//   { ksyscall | kretsyscall } NAME              -> ksyscall/NAME
//   { uprobe | uretprobe } BINARY:FUNCTION[+OFF] -> uprobe/BINARY:FUNCTION[+OFF]
//   usdt BINARY:PROVIDER:NAME                    -> usdt/BINARY:PROVIDER:NAME
// `consumed` tells how many words it took.
Result<std::string> hook_target_from_words(Args words, size_t& consumed);

}  // namespace userbpf::cli
