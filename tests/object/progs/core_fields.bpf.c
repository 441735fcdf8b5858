// CO-RE reads of every kind against the local header core_kernel.h: BPF_CORE_READ through
// nested, anonymous and array members, bitfields, existence/size/offset checks, a flavor, type
// and enum relocations, and direct (LDX) loads whose size follows the field. The tests relocate
// it against hand-built target BTFs and against libbpf's own relocation of the same object.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#include "core_kernel.h"

char LICENSE[] SEC("license") = "GPL";

long long out[32];

SEC("raw_tp/sys_enter")
int core_fields(void *ctx) {
  struct core_sample *s = (void *)bpf_get_current_task();
  out[0] = BPF_CORE_READ(s, wide);
  out[1] = BPF_CORE_READ(s, narrow);
  out[2] = BPF_CORE_READ(s, anon_y);
  out[3] = BPF_CORE_READ(s, inner.b);
  out[4] = BPF_CORE_READ(s, arr[2]);
  out[5] = BPF_CORE_READ(s, next, first);
  out[6] = BPF_CORE_READ_BITFIELD_PROBED(s, bf_hi);
  out[7] = BPF_CORE_READ_BITFIELD_PROBED(s, bf_signed);
  out[8] = bpf_core_field_exists(s->gone);
  out[9] = bpf_core_field_size(s->name);
  out[10] = bpf_core_field_exists(((struct core_sample___v2 *)s)->renamed_in_v2);
  out[11] = bpf_core_type_exists(struct core_missing);
  out[12] = bpf_core_type_size(struct core_sample);
  out[13] = bpf_core_enum_value_exists(enum core_color, CORE_GONE);
  out[14] = bpf_core_enum_value(enum core_color, CORE_BLUE);
  out[15] = bpf_core_field_size(s->signed_narrow);
  if (bpf_core_field_exists(s->gone)) out[16] = BPF_CORE_READ(s, gone);
  out[17] = bpf_core_type_id_kernel(struct core_sample);
  out[18] = bpf_core_type_id_local(struct core_sample);
  return 0;
}

// Direct loads: the relocated instruction is the LDX itself, whose access size must follow the
// field when an unsigned field changes size (and be poisoned when a signed one does).
SEC("raw_tp/sys_exit")
int core_direct(struct core_sample *s) {
  out[20] = s->narrow;
  out[21] = s->signed_narrow;
  out[22] = s->inner.a;
  out[23] = s->arr[3];
  return 0;
}
