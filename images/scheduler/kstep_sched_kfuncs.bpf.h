/*
 * The sched_ext kfuncs and helper macros kstep_sched.bpf.c needs.
 *
 * Debian 12 ships no scx headers, so this is a minimal stand-in for the
 * kernel's tools/sched_ext/include/scx/common.bpf.h. Prototypes follow the
 * target kernel's BTF (`bpftool btf dump file VMLINUX | grep -A8 scx_bpf_`).
 * Kfuncs that were renamed across kernel versions are declared __weak: libbpf
 * leaves an unresolved weak kfunc as a call to id 0, which the verifier
 * accepts only in code it proves dead, so every use sits behind
 * bpf_ksym_exists().
 */
#ifndef KSTEP_SCHED_KFUNCS_BPF_H
#define KSTEP_SCHED_KFUNCS_BPF_H

/* 6.13+: scx_bpf_dsq_insert / scx_bpf_dsq_move_to_local. */
void scx_bpf_dsq_insert(struct task_struct *p, u64 dsq_id, u64 slice, u64 enq_flags) __ksym __weak;
bool scx_bpf_dsq_move_to_local(u64 dsq_id) __ksym __weak;
/* 6.12 and older: the same operations under their first names. */
void scx_bpf_dispatch(struct task_struct *p, u64 dsq_id, u64 slice, u64 enq_flags) __ksym __weak;
bool scx_bpf_consume(u64 dsq_id) __ksym __weak;

s32 scx_bpf_create_dsq(u64 dsq_id, s32 node) __ksym;
s32 scx_bpf_select_cpu_dfl(struct task_struct *p, s32 prev_cpu, u64 wake_flags, bool *is_idle) __ksym;
void scx_bpf_error_bstr(char *fmt, unsigned long long *data, u32 data__sz) __ksym;
void scx_bpf_exit_bstr(s64 exit_code, char *fmt, unsigned long long *data, u32 data__sz) __ksym;

/* libbpf 1.2 added this macro; Debian 12 has libbpf 1.1. */
#ifndef bpf_ksym_exists
#define bpf_ksym_exists(sym)                                                              \
  ({                                                                                      \
    _Static_assert(!__builtin_constant_p(!!sym), #sym " should be marked as __weak");     \
    !!sym;                                                                                \
  })
#endif

/* struct_ops callbacks; the loader marks ops.init sleepable (libbpf 1.1 does
 * not know the "struct_ops.s/" section prefix). */
#define BPF_STRUCT_OPS(name, args...) SEC("struct_ops/" #name) BPF_PROG(name, ##args)

/*
 * The printf-like wrappers of the *_bstr kfuncs: the format must live in
 * writable global data and the arguments in a u64 array. At least one array
 * slot is passed so a format without arguments still hands the kfunc a
 * valid buffer.
 */
#define KSTEP_BSTR_PREAMBLE(fmt, args...)                              \
  static char ___fmt[] = fmt;                                          \
  unsigned long long ___param[___bpf_narg(args) + 1] = {};             \
  _Pragma("GCC diagnostic push")                                       \
  _Pragma("GCC diagnostic ignored \"-Wint-conversion\"")               \
  ___bpf_fill(___param, args);                                         \
  _Pragma("GCC diagnostic pop")

#define scx_bpf_error(fmt, args...)                                    \
  ({                                                                   \
    KSTEP_BSTR_PREAMBLE(fmt, args)                                     \
    scx_bpf_error_bstr(___fmt, ___param, sizeof(___param));            \
  })

#define scx_bpf_exit(code, fmt, args...)                               \
  ({                                                                   \
    KSTEP_BSTR_PREAMBLE(fmt, args)                                     \
    scx_bpf_exit_bstr(code, ___fmt, ___param, sizeof(___param));       \
  })

#endif /* KSTEP_SCHED_KFUNCS_BPF_H */
