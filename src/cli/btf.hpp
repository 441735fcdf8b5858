// The `btf` object: `userbpf btf dump { file OBJ | id BTF_ID } [format { raw | c }]`, bpftool's
// listing of BTF types (raw, the default) or a C header of them (libbpf's btf_dump).
#pragma once

#include "cli/command_table.hpp"

namespace userbpf::cli {

Status do_btf(Context& ctx, Args args);

}  // namespace userbpf::cli
