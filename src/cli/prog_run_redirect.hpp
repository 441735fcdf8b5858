// Where a test run's packet was redirected (bpf_redirect or bpf_redirect_map), for `prog run`.
// bpftool prints nothing of it; userbpf adds "redirect": {...} to -j output and a plain line
// only with -d.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "runtime/runtime.hpp"
#include "runtime/test_run.hpp"

namespace userbpf::cli {

// {"ifindex":N,"flags":F} for bpf_redirect; for bpf_redirect_map {"map_id":N,"map_type":"devmap",
// "key":K, ...} with the entry's target when it can be read: "ifindex" (devmaps), "cpu"
// (cpumap), "queue" (xskmap); a broadcast lists every entry's ifindex as "ifindexes" and sets
// "exclude_ingress". Null when the packet was not redirected.
nlohmann::ordered_json redirect_json(runtime::Runtime& rt, const runtime::TestRunOutput& out);

// "Redirect: devmap id 3 key 5 -> ifindex 1 (lo)" and the like; empty when not redirected.
std::string redirect_line(runtime::Runtime& rt, const runtime::TestRunOutput& out);

}  // namespace userbpf::cli
