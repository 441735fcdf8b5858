// Syscall programs exercising the string and callback helpers. Syscall programs take their
// context from ctx_in and Linux copies it back, so the host kernel can run exactly the same
// program on the same input for comparison.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct strtox_args {
  char text[32];
  __u32 len;      // bytes of text to parse
  __u32 flags;    // base
  __s64 value;    // out
  __s64 result;   // out: the helper's return
  __u64 uvalue;   // out (strtoul)
  __s64 uresult;  // out
  __s32 cmp[3];   // out: strncmp(text, "abc", len), against "abd", against ""
};

const char abc[] = "abc";
const char abd[] = "abd";
const char empty[] = "";

// Linux lets helpers read and write the stack, not a syscall program's context: the programs work
// on a stack copy and write it back.
SEC("syscall")
int strtox(struct strtox_args *ctx) {
  struct strtox_args copy = *ctx;
  struct strtox_args *a = &copy;
  __u32 len = ((a->len - 1) & (sizeof(a->text) - 1)) + 1;  // 1..32, provably for the verifier
  long value = 0;
  unsigned long uvalue = 0;
  a->result = bpf_strtol(a->text, len, a->flags, &value);
  a->value = value;
  a->uresult = bpf_strtoul(a->text, len, a->flags, &uvalue);
  a->uvalue = uvalue;
  a->cmp[0] = bpf_strncmp(a->text, len, abc);
  a->cmp[1] = bpf_strncmp(a->text, len, abd);
  a->cmp[2] = bpf_strncmp(a->text, len, empty);
  *ctx = copy;
  return 0;
}

struct loop_args {
  __u32 n;         // iterations asked for
  __u32 stop_at;   // the callback stops after this index (0xffffffff: never)
  __u64 flags;
  __u64 sum;       // out: sum of indexes seen
  __s64 result;    // out: bpf_loop's answer
};

static int loop_step(__u32 index, struct loop_args *a) {
  a->sum += index;
  return index == a->stop_at ? 1 : 0;
}

SEC("syscall")
int loop(struct loop_args *ctx) {
  struct loop_args a = *ctx;
  a.result = bpf_loop(a.n, loop_step, &a, a.flags);
  *ctx = a;
  return 0;
}

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 8);
  __type(key, __u32);
  __type(value, __u64);
} numbers SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 64);
  __type(key, __u32);
  __type(value, __u64);
} table SEC(".maps");

struct each_args {
  __u32 stop_key;   // the callback stops at this key (0xffffffff: never)
  __u32 delete_odd; // hash walk: delete elements with odd keys
  __u64 key_sum;    // out
  __u64 value_sum;  // out
  __s64 visited;    // out: bpf_for_each_map_elem's answer
};

static __u64 visit(void *map, __u32 *key, __u64 *value, struct each_args *a) {
  a->key_sum += *key;
  a->value_sum += *value;
  *value += 1;  // values are the map's own
  if (a->delete_odd && (*key & 1)) bpf_map_delete_elem(map, key);
  return *key == a->stop_key ? 1 : 0;
}

// Fills the array with i*i and the hash with keys 100+i -> i, then walks one of them.
SEC("syscall")
int each_array(struct each_args *ctx) {
  struct each_args copy = *ctx;
  struct each_args *a = &copy;
#pragma clang loop unroll(full)
  for (__u32 i = 0; i < 8; i++) {
    __u32 k = i;
    __u64 v = i * i;
    bpf_map_update_elem(&numbers, &k, &v, BPF_ANY);
  }
  a->visited = bpf_for_each_map_elem(&numbers, visit, a, 0);
  *ctx = copy;
  return 0;
}

SEC("syscall")
int each_hash(struct each_args *ctx) {
  struct each_args copy = *ctx;
  struct each_args *a = &copy;
#pragma clang loop unroll(full)
  for (__u32 i = 0; i < 10; i++) {
    __u32 k = 100 + i;
    __u64 v = i;
    bpf_map_update_elem(&table, &k, &v, BPF_ANY);
  }
  a->visited = bpf_for_each_map_elem(&table, visit, a, 0);
  *ctx = copy;
  // After the walk: how many elements are left and the sum of their values.
  __u64 left = 0;
#pragma clang loop unroll(full)
  for (__u32 i = 0; i < 10; i++) {
    __u32 k = 100 + i;
    __u64 *v = bpf_map_lookup_elem(&table, &k);
    if (v) left += 1000 + *v;
  }
  return left;
}
