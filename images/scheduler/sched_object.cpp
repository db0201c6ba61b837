#include "images/scheduler/sched_object.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <span>
#include <utility>

#include "images/scheduler/object_patch.hpp"
#include "images/scheduler/sched_skel.hpp"

namespace kstep::sched {
namespace {

// Missing from Debian 12's uapi headers (kernel 6.1): struct_ops links came
// with 6.4.
constexpr __u32 kBpfFLink = 1U << 13;                                   // BPF_F_LINK
constexpr auto kBpfStructOpsAttach = static_cast<bpf_attach_type>(44);  // BPF_STRUCT_OPS

std::string errno_text(int err) {
  return std::strerror(err < 0 ? -err : err);
}

// A bounded copy of a NUL-terminated buffer the BPF side writes.
template <std::size_t N>
std::string bounded_string(const char (&buffer)[N]) {
  return std::string(buffer, strnlen(buffer, N));
}

}  // namespace

void SchedObject::SkeletonDeleter::operator()(kstep_sched_bpf* skel) const noexcept {
  kstep_sched_bpf__destroy(skel);
}

SchedObject::SchedObject(SchedObject&&) noexcept = default;
SchedObject& SchedObject::operator=(SchedObject&&) noexcept = default;

SchedObject::~SchedObject() {
  detach();
}

Result<SchedObject> SchedObject::open(const SchedOptions& options) {
  SchedObject sched;

  std::size_t size = 0;
  const auto* bytes = static_cast<const unsigned char*>(kstep_sched_bpf__elf_bytes(&size));
  auto patched = patch_watchdog(std::span(bytes, size), static_cast<std::uint32_t>(options.watchdog_ms));
  if (!patched) {
    return Unexpected{patched.error()};
  }
  sched.elf_ = std::move(*patched);

  // kstep_sched_bpf__open() would open the embedded bytes; this is the same
  // sequence with the patched copy swapped in.
  sched.skel_.reset(static_cast<kstep_sched_bpf*>(std::calloc(1, sizeof(kstep_sched_bpf))));
  if (!sched.skel_) {
    return fail("out of memory");
  }
  if (int err = kstep_sched_bpf__create_skeleton(sched.skel_.get()); err != 0) {
    return fail("creating the skeleton: {}", errno_text(err));
  }
  sched.skel_->skeleton->data = sched.elf_.data();
  sched.skel_->skeleton->data_sz = sched.elf_.size();
  if (int err = bpf_object__open_skeleton(sched.skel_->skeleton, nullptr); err != 0) {
    return fail("opening the BPF object: {}", errno_text(err));
  }

  auto& skel = *sched.skel_;
  skel.rodata->sched_mode = options.mode == SchedMode::kLocal ? KSTEP_MODE_LOCAL : KSTEP_MODE_GLOBAL;
  skel.rodata->fail_verifier = options.fail_verifier;
  skel.bss->stall_after_ms = options.stall_after_ms;
  skel.bss->error_after_ms = options.error_after_ms;
  skel.bss->exit_after_ms = options.exit_after_ms;
  skel.bss->slow_dispatch_us = options.slow_dispatch_us;

  // libbpf 1.1 neither knows the ".struct_ops.link" section nor the
  // "struct_ops.s/" prefix, so link mode and the sleepable ops.init (it
  // creates a DSQ, which may sleep) are set by hand.
  bpf_map* ops = skel.maps.kstep_ops;
  if (int err = bpf_map__set_map_flags(ops, bpf_map__map_flags(ops) | kBpfFLink); err != 0) {
    return fail("setting BPF_F_LINK on the struct_ops map: {}", errno_text(err));
  }
  if (int err = bpf_program__set_flags(skel.progs.kstep_init,
                                       bpf_program__flags(skel.progs.kstep_init) | BPF_F_SLEEPABLE);
      err != 0) {
    return fail("making ops.init sleepable: {}", errno_text(err));
  }
  return sched;
}

Result<void> SchedObject::load() {
  if (int err = kstep_sched_bpf__load(skel_.get()); err != 0) {
    return fail("loading the BPF scheduler failed: {}", errno_text(err));
  }
  return {};
}

Result<void> SchedObject::attach() {
  bpf_map* ops = skel_->maps.kstep_ops;
  // In libbpf 1.1 this writes the program fds into the struct_ops map value.
  // For a BPF_F_LINK map the kernel only stores that value; registration
  // happens at link creation below.
  bpf_link* value_link = bpf_map__attach_struct_ops(ops);
  if (value_link == nullptr) {
    return fail("initialising the struct_ops map: {}", errno_text(errno));
  }
  // That libbpf "link" would detach by deleting the map element, which link
  // maps refuse; it owns no fd, so drop it without detaching.
  bpf_link__disconnect(value_link);
  bpf_link__destroy(value_link);

  const int fd = bpf_link_create(bpf_map__fd(ops), 0, kBpfStructOpsAttach, nullptr);
  if (fd < 0) {
    return fail("attaching the scheduler (struct_ops link): {}", errno_text(fd));
  }
  link_.reset(fd);
  return {};
}

void SchedObject::detach() noexcept {
  link_.reset();
}

std::optional<ExitRecord> SchedObject::exit_record() const {
  if (!skel_ || skel_->bss == nullptr) {
    return std::nullopt;
  }
  const kstep_exit_info& info = skel_->bss->exit_info;
  // Pairs with the BPF side writing kind last.
  const int kind = __atomic_load_n(&info.kind, __ATOMIC_ACQUIRE);
  if (kind == 0) {
    return std::nullopt;
  }
  ExitRecord exit{kind, info.exit_code, bounded_string(info.reason), bounded_string(info.msg), {}};
  if (skel_->data_exit_dump != nullptr) {
    exit.dump = bounded_string(skel_->data_exit_dump->exit_dump);
  }
  return exit;
}

Counters SchedObject::counters() const {
  const auto& bss = *skel_->bss;
  return Counters{bss.nr_enqueued, bss.nr_dispatched, bss.nr_local,   bss.nr_shared,
                  bss.nr_stalled,  bss.nr_ticks,      bss.fault_at_ns};
}

}  // namespace kstep::sched
