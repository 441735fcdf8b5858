// `prog run --ctx-json` (or a ctx_in file holding JSON): a program's context written as a JSON
// object whose members are the context struct's fields, encoded through the runtime's BTF, the
// same description programs are compiled against (`btf dump runtime format c`).
//
//   {"data_end": 64, "ingress_ifindex": 1}                        xdp_md
//   {"id": 59, "args": [4096, 0, 0, 0, 0, 0]}                     trace_event_raw_sys_enter
//   {"di": 1, "si": 2}                                             pt_regs
//   {"args": [1, 2, 3]}                                            bpf_raw_tracepoint_args
//
// Fields left out are zero. Integers take numbers in their type's range (negative only for
// signed types), arrays take JSON arrays (a trailing flexible array grows the context), nested
// structs take objects, pointers take numbers.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "runtime/records.hpp"
#include "userbpf/error.hpp"

struct btf;

namespace userbpf::cli {

// The BTF struct the program's context is, by program type (and tracepoint), e.g. "xdp_md".
Result<std::string> context_type_name(const runtime::ProgramRecord& program);

// Encodes `value` as the struct `type_name` of `b`. Errors name the field ("ctx field
// 'args[7]': ...").
Result<std::vector<uint8_t>> context_from_json(const btf* b, const std::string& type_name,
                                               const nlohmann::json& value);

}  // namespace userbpf::cli
