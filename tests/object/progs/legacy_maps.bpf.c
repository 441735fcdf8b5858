// The pre-BTF map definition style: struct bpf_map_def in the "maps" section (libbpf 1.0 dropped
// it; userbpf accepts it with a warning), plus a "version" section.
#include <linux/bpf.h>
#include <linux/version.h>
#include <bpf/bpf_helpers.h>

struct bpf_map_def {
  unsigned int type;
  unsigned int key_size;
  unsigned int value_size;
  unsigned int max_entries;
  unsigned int map_flags;
};

struct bpf_map_def SEC("maps") legacy_hash = {
    .type = BPF_MAP_TYPE_HASH,
    .key_size = sizeof(int),
    .value_size = sizeof(long),
    .max_entries = 128,
};

struct bpf_map_def SEC("maps") legacy_array = {
    .type = BPF_MAP_TYPE_ARRAY,
    .key_size = 4,
    .value_size = 8,
    .max_entries = 2,
    .map_flags = 0,
};

char _license[] SEC("license") = "GPL";
unsigned int _version SEC("version") = 0x050a00;

SEC("kprobe/__x64_sys_execve")
int legacy_prog(void *ctx) {
  int key = 0;
  long *v = bpf_map_lookup_elem(&legacy_hash, &key);
  if (v) *v += 1;
  bpf_map_lookup_elem(&legacy_array, &key);
  return 0;
}
