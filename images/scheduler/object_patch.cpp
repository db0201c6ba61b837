#include "images/scheduler/object_patch.hpp"

#include <gelf.h>
#include <libelf.h>

#include <cstring>
#include <memory>
#include <optional>
#include <string_view>

#include "images/scheduler/kstep_sched_shared.h"

namespace kstep::sched {
namespace {

struct ElfCloser {
  void operator()(Elf* elf) const { elf_end(elf); }
};
using ElfHandle = std::unique_ptr<Elf, ElfCloser>;

struct SectionRange {
  std::size_t offset;
  std::size_t size;
};

Result<SectionRange> find_section(Elf* elf, std::string_view wanted, std::size_t file_size) {
  std::size_t strtab = 0;
  if (elf_getshdrstrndx(elf, &strtab) != 0) {
    return fail("no section name table: {}", elf_errmsg(-1));
  }
  for (Elf_Scn* scn = elf_nextscn(elf, nullptr); scn != nullptr; scn = elf_nextscn(elf, scn)) {
    GElf_Shdr shdr;
    if (gelf_getshdr(scn, &shdr) == nullptr) {
      continue;
    }
    const char* name = elf_strptr(elf, strtab, shdr.sh_name);
    if (name == nullptr || wanted != name) {
      continue;
    }
    if (shdr.sh_type != SHT_PROGBITS || shdr.sh_offset + shdr.sh_size > file_size) {
      return fail("section {} is not file data", wanted);
    }
    return SectionRange{shdr.sh_offset, shdr.sh_size};
  }
  return fail("no {} section", wanted);
}

// The offset of the sentinel word in `elf`, which libelf only reads.
Result<std::size_t> find_sentinel(std::span<const unsigned char> elf_bytes) {
  elf_version(EV_CURRENT);
  // elf_memory takes a non-const pointer for ELF_C_RDWR users; it does not write here.
  ElfHandle elf{
      elf_memory(const_cast<char*>(reinterpret_cast<const char*>(elf_bytes.data())), elf_bytes.size())};
  if (!elf || elf_kind(elf.get()) != ELF_K_ELF) {
    return fail("embedded BPF object is not ELF: {}", elf_errmsg(-1));
  }
  auto section = find_section(elf.get(), ".struct_ops", elf_bytes.size());
  if (!section) {
    return Unexpected{section.error().context("embedded BPF object")};
  }

  // Struct fields are naturally aligned: timeout_ms (u32) sits at a 4-byte
  // offset within the section, which the object file aligns at least as much.
  std::optional<std::size_t> hit;
  for (std::size_t at = section->offset; at + 4 <= section->offset + section->size; at += 4) {
    std::uint32_t word = 0;
    std::memcpy(&word, elf_bytes.data() + at, sizeof word);
    if (word != KSTEP_WATCHDOG_SENTINEL) {
      continue;
    }
    if (hit) {
      return fail("embedded BPF object: watchdog sentinel found twice in .struct_ops");
    }
    hit = at;
  }
  if (!hit) {
    return fail("embedded BPF object: no watchdog sentinel in .struct_ops");
  }
  return *hit;
}

}  // namespace

Result<std::vector<unsigned char>> patch_watchdog(std::span<const unsigned char> elf_bytes,
                                                  std::uint32_t timeout_ms) {
  auto offset = find_sentinel(elf_bytes);
  if (!offset) {
    return Unexpected{offset.error()};
  }
  std::vector<unsigned char> copy(elf_bytes.begin(), elf_bytes.end());
  std::memcpy(copy.data() + *offset, &timeout_ms, sizeof timeout_ms);
  return copy;
}

}  // namespace kstep::sched
