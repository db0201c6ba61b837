/*
 * Declarations shared by the BPF program (kstep_sched.bpf.c) and its loader.
 *
 * Compiled as BPF C (after vmlinux.h) and as C++ (before the skeleton, which
 * names struct kstep_exit_info in its .bss layout), so it uses only builtin
 * types and no kernel or libc header.
 */
#ifndef KSTEP_SCHED_SHARED_H
#define KSTEP_SCHED_SHARED_H

/* The two scheduling modes, chosen through the .rodata const sched_mode. */
enum kstep_sched_mode {
  KSTEP_MODE_GLOBAL = 0, /* one shared FIFO DSQ, consumed in ops.dispatch */
  KSTEP_MODE_LOCAL = 1,  /* tasks go straight to the CPU-local DSQ */
};

#define KSTEP_EXIT_REASON_LEN 128
#define KSTEP_EXIT_MSG_LEN 1024
/*
 * The kernel's debug dump of an error exit (CPU and task states), as
 * ops.exit_dump_len asks the kernel to make it and as ops.exit copies it:
 * the kernel's default size (SCX_EXIT_DUMP_DFL_LEN), like tools/sched_ext.
 */
#define KSTEP_EXIT_DUMP_LEN 32768

/*
 * Filled by ops.exit, like the kernel's tools/sched_ext user_exit_info.
 * Contract: `kind` is written last, so once the loader reads a non-zero kind
 * the other fields, and the exit_dump buffer, are complete.
 */
struct kstep_exit_info {
  int kind; /* enum scx_exit_kind; 0 while the scheduler runs */
  int reserved;
  long long exit_code;
  char reason[KSTEP_EXIT_REASON_LEN];
  char msg[KSTEP_EXIT_MSG_LEN];
};

/*
 * ops.timeout_ms as compiled into the object. libbpf 1.1 offers no way to
 * change a struct_ops field before load, so the loader patches this value in
 * a copy of the embedded ELF (sched_object_patch.cpp). It is above the
 * kernel's 30000 ms cap, so an unpatched object is refused, never silently
 * run with a surprising watchdog.
 */
#define KSTEP_WATCHDOG_SENTINEL 0x6b737770u

#endif /* KSTEP_SCHED_SHARED_H */
