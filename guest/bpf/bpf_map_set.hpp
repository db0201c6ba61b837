// BpfMapSet: the BPF maps of a running scheduler, held open by this process
// so the host can see them (catalog), set fields in them (write) and read
// them (dump).
//
// Contract: the set holds one fd per map. A BPF map lives as long as any fd,
// program or pin refers to it, so the maps stay alive and readable through
// this set after the scheduler process exits or is killed, until the set is
// destroyed. That is the point of holding them: a failure dump reads the
// state the scheduler died with. (bpf() fds are always O_CLOEXEC: the set
// leaks nothing into the processes the scenario starts.)
//
// Every operation answers on the wire: a map that cannot be opened is left
// out with a reason in warning(); a write or a map that cannot be read
// carries error text naming the map and the errno; nothing throws.
//
// A write replaces the whole value (lookup, patch the field, update): a BPF
// program's store to another field of the same value between our lookup and
// update is lost. The window is microseconds; writes set knobs, they do not
// race counters on purpose.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/unique_fd.hpp"
#include "kstep.pb.h"

namespace kstep::guest {

class BpfMapSet {
 public:
  // An empty set: no maps, no warning.
  BpfMapSet() = default;

  // Opens every map by id (process_map_ids) and describes it: bpf_map_info,
  // and the value's BTF layout when the map has BTF. Needs CAP_SYS_ADMIN
  // (the agent is root). A map that is gone or cannot be described is
  // skipped and named in warning(); a map whose BTF cannot be loaded is
  // kept without fields, also with a warning.
  [[nodiscard]] static BpfMapSet open(const std::vector<std::uint32_t>& ids);

  BpfMapSet(BpfMapSet&&) noexcept = default;
  BpfMapSet& operator=(BpfMapSet&&) noexcept = default;
  BpfMapSet(const BpfMapSet&) = delete;
  BpfMapSet& operator=(const BpfMapSet&) = delete;
  ~BpfMapSet() = default;

  [[nodiscard]] std::size_t size() const noexcept { return maps_.size(); }
  [[nodiscard]] bool empty() const noexcept { return maps_.empty(); }
  // What open() could not read, "; "-separated; empty when all went well.
  [[nodiscard]] const std::string& warning() const noexcept { return warning_; }

  // The held maps in id order, for BpfMapCatalog.
  [[nodiscard]] wire::BpfMapCatalog catalog(const std::string& scheduler, pid_t pid) const;

  // Writes w.value at w.offset of entry w.key of map w.map_id: only plain
  // (not per-CPU) array maps, which global data (.bss, .data) is. The result
  // holds the field's bytes before and as read back after, or `error`.
  [[nodiscard]] wire::BpfFieldWriteResult write(const wire::BpfFieldWrite& w);

  // Reads every held map now. Arrays are read by index, other maps by
  // iterating their keys; at most max_entries_per_map keys (0: 64) and
  // max_bytes_per_map bytes of keys and values (0: 64 KiB) per map, with
  // `truncated` set when there was more (the entry that crosses the byte
  // bound is kept, its value cut at the bound). A per-CPU value is every
  // possible CPU's copy, each padded to a multiple of 8 bytes, CPU 0 first.
  // A map the kernel will not read from user space (struct_ops, ring
  // buffers, queues, ...) gets `error` text; the other maps are still read.
  [[nodiscard]] wire::BpfMapDump dump(const wire::DumpRequest& request) const;

 private:
  struct HeldMap {
    UniqueFd fd;
    wire::BpfMapInfo info;
  };

  std::vector<HeldMap> maps_;
  std::string warning_;
};

}  // namespace kstep::guest
