/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kstep-sched: the sched_ext scheduler kstep bundles for its own tests.
 *
 * Two modes (the .rodata const sched_mode, fixed before load):
 *   global  every task goes to one shared FIFO DSQ that ops.dispatch consumes;
 *   local   tasks go straight to the CPU-local DSQ from select_cpu/enqueue.
 *
 * Faults, read from .bss on every decision so the host can flip them at run
 * time with BPF map writes (u64; 0 = off; times count from ops.init):
 *   stall_after_ms    stop dispatching: tasks stay queued in the shared DSQ
 *                     until the kernel watchdog ejects the scheduler;
 *   error_after_ms    scx_bpf_error() (kind SCX_EXIT_ERROR_BPF);
 *   exit_after_ms     scx_bpf_exit() with code 0 (kind SCX_EXIT_UNREG_BPF);
 *   slow_dispatch_us  busy-wait this long in every ops.dispatch.
 * Error and exit are checked from ops.tick, ops.dispatch and a 10 ms BPF
 * timer, so they fire on time on an idle machine too.
 */
#include "vmlinux.h"

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "kstep_sched_kfuncs.bpf.h"
#include "kstep_sched_shared.h"

char _license[] SEC("license") = "GPL";

#define SHARED_DSQ 0
#define NSEC_PER_USEC 1000ULL
#define NSEC_PER_MSEC 1000000ULL
#define FAULT_TIMER_PERIOD_NS (10 * NSEC_PER_MSEC)
#define CLOCK_MONOTONIC 1
/* bpf_loop's iteration cap (BPF_MAX_LOOPS); bounds slow_dispatch_us. */
#define MAX_SPIN_ITERATIONS (1U << 23)

/* Set by the loader before load. */
const volatile u32 sched_mode = KSTEP_MODE_GLOBAL;
/* Test hook: makes ops.enqueue dereference a scalar, which the verifier
 * rejects, so tests can see kstep report a verifier log. */
const volatile bool fail_verifier = false;

/* Fault knobs (see the top of the file). The host writes these at run time. */
volatile u64 stall_after_ms;
volatile u64 error_after_ms;
volatile u64 exit_after_ms;
volatile u64 slow_dispatch_us;

/* Counters, for the host and for humans. */
volatile u64 nr_enqueued;    /* ops.enqueue calls */
volatile u64 nr_dispatched;  /* tasks moved from the shared DSQ to a CPU */
volatile u64 nr_local;       /* tasks inserted straight into a local DSQ */
volatile u64 nr_shared;      /* tasks inserted into the shared DSQ */
volatile u64 nr_stalled;     /* ops.dispatch calls skipped by stall_after_ms */
volatile u64 nr_ticks;       /* ops.tick calls */

/* bpf_ktime_get_ns() at ops.init; 0 before. */
volatile u64 attach_ns;
/* Each injected fault fires once: the kernel ignores later exits anyway. */
volatile u32 error_fired;
volatile u32 exit_fired;
/* CLOCK_MONOTONIC (ns) when an injected error or exit fired: the moment the
 * kernel starts disabling the scheduler, for kstep's detection latency. */
volatile u64 fault_at_ns;
volatile u32 timer_armed;

struct kstep_exit_info exit_info;
/*
 * The kernel's debug dump of an error or stall exit (ei->dump), copied by
 * ops.exit like UEI_RECORD does; empty after a clean exit (the kernel dumps
 * only for errors). A section of its own, so the 32 KiB stay out of .bss
 * (the map kstep renders and writes field by field); libbpf maps it as
 * ".data.exit_dump", mmaped like .bss.
 */
char exit_dump[KSTEP_EXIT_DUMP_LEN] SEC(".data.exit_dump");

struct fault_timer {
  struct bpf_timer timer;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, u32);
  __type(value, struct fault_timer);
} fault_timers SEC(".maps");

static bool past(u64 after_ms, u64 now)
{
  u64 start = attach_ns;

  return after_ms && start && now - start >= after_ms * NSEC_PER_MSEC;
}

static bool stalled(u64 now)
{
  return past(stall_after_ms, now);
}

static void check_faults(u64 now)
{
  u64 ms = error_after_ms;

  if (past(ms, now) && !error_fired) {
    error_fired = 1;
    fault_at_ns = bpf_ktime_get_ns();
    scx_bpf_error("kstep-sched: injected error after %llu ms", ms);
  }
  ms = exit_after_ms;
  if (past(ms, now) && !exit_fired) {
    exit_fired = 1;
    fault_at_ns = bpf_ktime_get_ns();
    scx_bpf_exit(0, "kstep-sched: injected exit after %llu ms", ms);
  }
}

static int fault_timer_fn(void *map, int *key, struct bpf_timer *timer)
{
  check_faults(bpf_ktime_get_ns());
  /* Once the scheduler is gone, let the timer die with the map. */
  if (!exit_info.kind)
    bpf_timer_start(timer, FAULT_TIMER_PERIOD_NS, 0);
  return 0;
}

/* ops.init is sleepable and bpf_timer_init is not allowed there on every
 * kernel, so the first non-sleepable callback arms the timer. A racing
 * second arming only gets -EBUSY from bpf_timer_init. */
static void arm_fault_timer(void)
{
  struct fault_timer *ft;
  u32 key = 0;

  if (timer_armed)
    return;
  timer_armed = 1;
  ft = bpf_map_lookup_elem(&fault_timers, &key);
  if (!ft)
    return;
  if (bpf_timer_init(&ft->timer, &fault_timers, CLOCK_MONOTONIC))
    return;
  bpf_timer_set_callback(&ft->timer, fault_timer_fn);
  bpf_timer_start(&ft->timer, FAULT_TIMER_PERIOD_NS, 0);
}

static void insert(struct task_struct *p, u64 dsq_id, u64 enq_flags)
{
  if (bpf_ksym_exists(scx_bpf_dsq_insert))
    scx_bpf_dsq_insert(p, dsq_id, SCX_SLICE_DFL, enq_flags);
  else
    scx_bpf_dispatch(p, dsq_id, SCX_SLICE_DFL, enq_flags);
}

static bool move_to_local(u64 dsq_id)
{
  if (bpf_ksym_exists(scx_bpf_dsq_move_to_local))
    return scx_bpf_dsq_move_to_local(dsq_id);
  return scx_bpf_consume(dsq_id);
}

static long spin_until(u64 index, void *ctx)
{
  u64 *deadline = ctx;

  return bpf_ktime_get_ns() >= *deadline ? 1 : 0;
}

s32 BPF_STRUCT_OPS(kstep_select_cpu, struct task_struct *p, s32 prev_cpu, u64 wake_flags)
{
  bool is_idle = false;
  s32 cpu = scx_bpf_select_cpu_dfl(p, prev_cpu, wake_flags, &is_idle);

  /* In global mode the task still goes through ops.enqueue into the shared
   * FIFO; the chosen (idle) CPU is woken by the enqueue and dispatches it. */
  if (sched_mode == KSTEP_MODE_LOCAL && is_idle && !stalled(bpf_ktime_get_ns())) {
    insert(p, SCX_DSQ_LOCAL, 0);
    __sync_fetch_and_add(&nr_local, 1);
  }
  return cpu;
}

void BPF_STRUCT_OPS(kstep_enqueue, struct task_struct *p, u64 enq_flags)
{
  __sync_fetch_and_add(&nr_enqueued, 1);
  if (fail_verifier) {
    /* Deliberately invalid: a load through a scalar. */
    u64 *bogus = (u64 *)(unsigned long)p->pid;

    __sync_fetch_and_add(&nr_enqueued, *bogus);
  }
  if (sched_mode == KSTEP_MODE_LOCAL && !stalled(bpf_ktime_get_ns())) {
    insert(p, SCX_DSQ_LOCAL, enq_flags);
    __sync_fetch_and_add(&nr_local, 1);
    return;
  }
  /* Global mode, and every mode once stalled: the shared FIFO. */
  insert(p, SHARED_DSQ, enq_flags);
  __sync_fetch_and_add(&nr_shared, 1);
}

void BPF_STRUCT_OPS(kstep_dispatch, s32 cpu, struct task_struct *prev)
{
  u64 now = bpf_ktime_get_ns();
  u64 spin_us = slow_dispatch_us;

  arm_fault_timer();
  check_faults(now);
  if (stalled(now)) {
    __sync_fetch_and_add(&nr_stalled, 1);
    return;
  }
  if (spin_us) {
    u64 deadline = now + spin_us * NSEC_PER_USEC;

    bpf_loop(MAX_SPIN_ITERATIONS, spin_until, &deadline, 0);
  }
  if (move_to_local(SHARED_DSQ))
    __sync_fetch_and_add(&nr_dispatched, 1);
}

void BPF_STRUCT_OPS(kstep_tick, struct task_struct *p)
{
  __sync_fetch_and_add(&nr_ticks, 1);
  arm_fault_timer();
  check_faults(bpf_ktime_get_ns());
}

s32 BPF_STRUCT_OPS(kstep_init)
{
  attach_ns = bpf_ktime_get_ns();
  return scx_bpf_create_dsq(SHARED_DSQ, -1);
}

void BPF_STRUCT_OPS(kstep_exit, struct scx_exit_info *ei)
{
  bpf_probe_read_kernel_str(exit_info.reason, sizeof(exit_info.reason), ei->reason);
  bpf_probe_read_kernel_str(exit_info.msg, sizeof(exit_info.msg), ei->msg);
  bpf_probe_read_kernel_str(exit_dump, sizeof(exit_dump), ei->dump);
  exit_info.exit_code = ei->exit_code;
  /* The loader polls kind: it must become visible after the strings. */
  asm volatile("" ::: "memory");
  exit_info.kind = ei->kind;
}

SEC(".struct_ops")
struct sched_ext_ops kstep_ops = {
  .select_cpu = (void *)kstep_select_cpu,
  .enqueue = (void *)kstep_enqueue,
  .dispatch = (void *)kstep_dispatch,
  .tick = (void *)kstep_tick,
  .init = (void *)kstep_init,
  .exit = (void *)kstep_exit,
  .timeout_ms = KSTEP_WATCHDOG_SENTINEL,
  .exit_dump_len = KSTEP_EXIT_DUMP_LEN,
  .name = "kstep",
};
