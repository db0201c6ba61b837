#include "guest/bpf/bpf_map_set.hpp"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <string_view>

#include <fmt/format.h>

#include "guest/bpf/btf_layout.hpp"

namespace kstep::guest {
namespace {

constexpr std::uint32_t kDefaultMaxEntries = 64;
constexpr std::uint32_t kDefaultMaxBytes = 64U * 1024U;

// The kernel's ENOTSUPP (not ENOTSUP): what bpf() answers for an operation a
// map type does not have. It is kernel-internal, so libc has no text for it.
constexpr int kKernelEnotsupp = 524;

std::string errno_text(int error) {
  if (error == kKernelEnotsupp) {
    return "not supported for this map type (ENOTSUPP)";
  }
  return std::strerror(error);
}

std::string describe(const wire::BpfMapInfo& info) {
  return fmt::format("map {} (id {})", info.name(), info.id());
}

std::string map_type_name(std::uint32_t type) {
  // libbpf names the types; past the last one Debian 12's <linux/bpf.h>
  // declares, a cast to its enum would be out of range, so those are ours.
  if (type <= static_cast<std::uint32_t>(BPF_MAP_TYPE_USER_RINGBUF)) {
    if (const char* name = libbpf_bpf_map_type_str(static_cast<enum bpf_map_type>(type))) {
      return name;
    }
  }
  switch (type) {
    case 32: return "cgrp_storage";
    case 33: return "arena";
    default: return fmt::format("type {}", type);
  }
}

bool is_per_cpu(std::uint32_t type) {
  return type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_ARRAY ||
         type == BPF_MAP_TYPE_LRU_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
}

// Arrays have every index from 0 to max_entries - 1; fd arrays (prog,
// perf event, ...) have holes and are iterated like hash maps.
bool is_plain_array(std::uint32_t type) {
  return type == BPF_MAP_TYPE_ARRAY || type == BPF_MAP_TYPE_PERCPU_ARRAY;
}

struct BtfDeleter {
  void operator()(struct btf* btf) const noexcept { btf__free(btf); }
};
using BtfPtr = std::unique_ptr<struct btf, BtfDeleter>;

// The maps of one BPF object share one BTF: load each id once.
class BtfCache {
 public:
  // nullptr, with why in `error`, when the kernel would not give it.
  const struct btf* get(std::uint32_t btf_id, std::string& error) {
    auto found = loaded_.find(btf_id);
    if (found == loaded_.end()) {
      Loaded loaded{BtfPtr{btf__load_from_kernel_by_id(btf_id)}, {}};
      if (!loaded.btf) {
        loaded.error = errno_text(errno);
      }
      found = loaded_.emplace(btf_id, std::move(loaded)).first;
    }
    error = found->second.error;
    return found->second.btf.get();
  }

 private:
  struct Loaded {
    BtfPtr btf;
    std::string error;
  };
  std::map<std::uint32_t, Loaded> loaded_;
};

void append_warning(std::string& warning, const std::string& what) {
  warning += warning.empty() ? what : "; " + what;
}

std::string bytes_at(const std::vector<std::uint8_t>& value, std::uint32_t offset, std::size_t size) {
  return std::string{reinterpret_cast<const char*>(value.data()) + offset, size};
}

// Adds one entry within the map's byte budget. False when the budget is
// spent: the entry was cut (or left out when not even its key fit), and the
// map's dump ends there.
bool add_entry(wire::BpfMapValues& values, std::string key, std::string value, std::size_t& budget) {
  const std::size_t size = key.size() + value.size();
  if (size <= budget) {
    budget -= size;
    auto* entry = values.add_entries();
    entry->set_key(std::move(key));
    entry->set_value(std::move(value));
    return true;
  }
  values.set_truncated(true);
  if (budget > key.size()) {
    value.resize(budget - key.size());
    auto* entry = values.add_entries();
    entry->set_key(std::move(key));
    entry->set_value(std::move(value));
  }
  budget = 0;
  return false;
}

}  // namespace

BpfMapSet BpfMapSet::open(const std::vector<std::uint32_t>& ids) {
  BpfMapSet set;
  BtfCache btfs;
  std::vector<std::uint32_t> unique_ids = ids;
  std::sort(unique_ids.begin(), unique_ids.end());
  unique_ids.erase(std::unique(unique_ids.begin(), unique_ids.end()), unique_ids.end());
  for (const std::uint32_t id : unique_ids) {
    // libbpf 1.x returns -errno.
    const int fd_or_error = bpf_map_get_fd_by_id(id);
    if (fd_or_error < 0) {
      append_warning(set.warning_, fmt::format("map id {}: opening: {}", id, errno_text(-fd_or_error)));
      continue;
    }
    UniqueFd fd{fd_or_error};
    struct bpf_map_info kernel_info {};
    std::uint32_t length = sizeof kernel_info;
    if (const int error = bpf_obj_get_info_by_fd(fd.get(), &kernel_info, &length); error < 0) {
      append_warning(set.warning_, fmt::format("map id {}: reading its info: {}", id, errno_text(-error)));
      continue;
    }
    wire::BpfMapInfo info;
    info.set_id(kernel_info.id);
    info.set_name(std::string{kernel_info.name, strnlen(kernel_info.name, sizeof kernel_info.name)});
    info.set_type(kernel_info.type);
    info.set_type_name(map_type_name(kernel_info.type));
    info.set_key_size(kernel_info.key_size);
    info.set_value_size(kernel_info.value_size);
    info.set_max_entries(kernel_info.max_entries);
    info.set_map_flags(kernel_info.map_flags);
    // BPF_F_RDONLY_PROG: libbpf's .rodata, which it also freezes (so the
    // syscall side cannot write either). BPF_F_RDONLY: read-only for us.
    info.set_read_only((kernel_info.map_flags & (BPF_F_RDONLY_PROG | BPF_F_RDONLY)) != 0);
    // struct_ops maps describe their value with vmlinux BTF
    // (btf_vmlinux_value_type_id) and have no btf_value_type_id: no fields.
    if (kernel_info.btf_id != 0 && kernel_info.btf_value_type_id != 0) {
      std::string error;
      if (const struct btf* btf = btfs.get(kernel_info.btf_id, error)) {
        info.set_btf_value_type(btf_type_name(btf, kernel_info.btf_value_type_id));
        for (auto& field : value_layout(btf, kernel_info.btf_value_type_id)) {
          *info.add_fields() = std::move(field);
        }
      } else {
        append_warning(set.warning_, fmt::format("{}: loading BTF id {}: {}; its value has no field layout",
                                                 describe(info), kernel_info.btf_id, error));
      }
    }
    set.maps_.push_back(HeldMap{std::move(fd), std::move(info)});
  }
  return set;
}

wire::BpfMapCatalog BpfMapSet::catalog(const std::string& scheduler, pid_t pid) const {
  wire::BpfMapCatalog catalog;
  catalog.set_scheduler(scheduler);
  catalog.set_pid(pid);
  for (const auto& map : maps_) {
    *catalog.add_maps() = map.info;
  }
  catalog.set_warning(warning_);
  return catalog;
}

wire::BpfFieldWriteResult BpfMapSet::write(const wire::BpfFieldWrite& w) {
  wire::BpfFieldWriteResult result;
  result.set_map_id(w.map_id());
  result.set_map(w.map());
  result.set_field(w.field());
  const auto held = std::find_if(maps_.begin(), maps_.end(),
                                 [&](const HeldMap& map) { return map.info.id() == w.map_id(); });
  if (held == maps_.end()) {
    result.set_error(fmt::format("writing field {}: map {} (id {}) is not held by the agent", w.field(),
                                 w.map(), w.map_id()));
    return result;
  }
  const auto& info = held->info;
  const std::string map = describe(info);
  auto refuse = [&](const std::string& why) {
    result.set_error(fmt::format("writing field {} of {}: {}", w.field(), map, why));
    return result;
  };
  if (is_per_cpu(info.type())) {
    return refuse(
        fmt::format("it is a per-CPU map ({}); writing one CPU's copy is not supported", info.type_name()));
  }
  if (info.type() != BPF_MAP_TYPE_ARRAY || info.key_size() != sizeof(std::uint32_t)) {
    return refuse(fmt::format("it is a {} map; only array maps (global data, arrays) can be written",
                              info.type_name()));
  }
  if (w.key() >= info.max_entries()) {
    return refuse(
        fmt::format("key {} is out of range (the map has {} entries)", w.key(), info.max_entries()));
  }
  const std::size_t size = w.value().size();
  if (size == 0) {
    return refuse("no bytes to write");
  }
  if (std::uint64_t{w.offset()} + size > info.value_size()) {
    return refuse(fmt::format("bytes {}..{} are outside the {}-byte value", w.offset(), w.offset() + size,
                              info.value_size()));
  }

  const std::uint32_t key = w.key();
  std::vector<std::uint8_t> value(info.value_size());
  if (const int error = bpf_map_lookup_elem(held->fd.get(), &key, value.data()); error < 0) {
    return refuse(fmt::format("reading key {}: {}", key, errno_text(-error)));
  }
  result.set_before(bytes_at(value, w.offset(), size));
  std::memcpy(value.data() + w.offset(), w.value().data(), size);
  if (const int error = bpf_map_update_elem(held->fd.get(), &key, value.data(), BPF_ANY); error < 0) {
    if (-error == EPERM) {
      return refuse(fmt::format("the map is read-only (a frozen .rodata, or created read-only): {}",
                                errno_text(-error)));
    }
    return refuse(fmt::format("updating key {}: {}", key, errno_text(-error)));
  }
  if (const int error = bpf_map_lookup_elem(held->fd.get(), &key, value.data()); error < 0) {
    return refuse(fmt::format("reading key {} back after the write: {}", key, errno_text(-error)));
  }
  result.set_after(bytes_at(value, w.offset(), size));
  return result;
}

wire::BpfMapDump BpfMapSet::dump(const wire::DumpRequest& request) const {
  const std::uint32_t max_entries =
      request.max_entries_per_map() == 0 ? kDefaultMaxEntries : request.max_entries_per_map();
  const std::uint32_t max_bytes =
      request.max_bytes_per_map() == 0 ? kDefaultMaxBytes : request.max_bytes_per_map();

  wire::BpfMapDump dump;
  dump.set_request(request.request());
  for (const auto& map : maps_) {
    const auto& info = map.info;
    auto& values = *dump.add_maps();
    values.set_id(info.id());
    values.set_name(info.name());
    auto fail_map = [&](const std::string& why) {
      values.set_error(fmt::format("{}: {}", describe(info), why));
    };

    // The kernel copies a per-CPU value out for every possible CPU, each
    // rounded up to 8 bytes: the buffer must hold all of them.
    std::size_t value_bytes = info.value_size();
    if (is_per_cpu(info.type())) {
      const int cpus = libbpf_num_possible_cpus();
      if (cpus <= 0) {
        fail_map(fmt::format("counting possible CPUs: {}", errno_text(-cpus)));
        continue;
      }
      value_bytes = ((std::size_t{info.value_size()} + 7) / 8 * 8) * static_cast<std::size_t>(cpus);
    }
    if (info.key_size() == 0) {
      fail_map(fmt::format("{} maps have no keys to read values by", info.type_name()));
      continue;
    }

    std::size_t budget = max_bytes;
    std::vector<std::uint8_t> key(info.key_size());
    std::vector<std::uint8_t> value(value_bytes);
    auto as_bytes = [](const std::vector<std::uint8_t>& bytes) { return bytes_at(bytes, 0, bytes.size()); };

    if (is_plain_array(info.type()) && info.key_size() == sizeof(std::uint32_t)) {
      const std::uint32_t count = std::min(info.max_entries(), max_entries);
      values.set_truncated(info.max_entries() > max_entries);
      for (std::uint32_t index = 0; index < count; ++index) {
        if (const int error = bpf_map_lookup_elem(map.fd.get(), &index, value.data()); error < 0) {
          fail_map(fmt::format("reading index {}: {}", index, errno_text(-error)));
          break;
        }
        std::memcpy(key.data(), &index, sizeof index);
        if (!add_entry(values, as_bytes(key), as_bytes(value), budget)) {
          break;
        }
      }
      continue;
    }

    // Other maps: walk the keys. Keys deleted while we walk are skipped; a
    // hash map walk restarts from its first key when the current one is
    // deleted, so the walk counts keys visited, not entries read, against
    // the bound: it always ends.
    std::vector<std::uint8_t> next(info.key_size());
    bool first = true;
    for (std::uint32_t visited = 0;; ++visited) {
      const int step = bpf_map_get_next_key(map.fd.get(), first ? nullptr : key.data(), next.data());
      if (step == -ENOENT) {
        break;  // no more keys
      }
      if (step < 0) {
        fail_map(fmt::format("listing keys: {}", errno_text(-step)));
        break;
      }
      if (visited == max_entries) {
        values.set_truncated(true);
        break;
      }
      first = false;
      key.swap(next);
      if (const int error = bpf_map_lookup_elem(map.fd.get(), key.data(), value.data()); error < 0) {
        if (error == -ENOENT) {
          continue;  // deleted (or an empty slot of an fd array)
        }
        fail_map(fmt::format("reading an entry: {}", errno_text(-error)));
        break;
      }
      if (!add_entry(values, as_bytes(key), as_bytes(value), budget)) {
        break;
      }
    }
  }
  return dump;
}

}  // namespace kstep::guest
