// A function's BTF signature as bpftool prints it before the function's first instruction in
// `prog dump xlated` ("int hello(void * ctx)"), from a func_info type id (BTF_KIND_FUNC).
#pragma once

#include <cstdint>
#include <string>

struct btf;

namespace userbpf::cli {

// bpftool's btf_dumper_type_only: every type name followed by a space, pointers as "* ",
// parameters as "type name" joined by ", ", "..." for varargs. Empty when the type cannot be
// written (a kind bpftool does not write, a broken id), as bpftool then prints no line.
std::string func_signature(const btf* b, uint32_t type_id);

}  // namespace userbpf::cli
