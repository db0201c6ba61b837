// Includes the bpftool-generated skeleton of kstep_sched.bpf.c from C++.
//
// The skeleton spells its .bss/.rodata layouts with the kernel's type names
// (u32, u64) and with struct kstep_exit_info, so both must be declared first.
#pragma once

#include <linux/types.h>

using u32 = __u32;
using u64 = __u64;

#include "images/scheduler/kstep_sched_shared.h"
#include "kstep_sched.skel.h"
