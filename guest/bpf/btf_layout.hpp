// The layout of a BPF map's value, from the map's BTF, as the host needs it
// to name, decode and write fields (wire::BtfField).
//
// Two shapes have fields: a DATASEC (the .bss/.data/.rodata maps libbpf
// creates for global variables: one field per variable) and a struct or
// union (one field per member; members of anonymous embedded structs and
// unions are flattened into their parent, as C lets you name them).
// Bitfield members are skipped: a field is written whole bytes at a time,
// and writing the bytes that cover a bitfield would clobber its neighbours.
// Any other value type (a hash map of u64, ...) has no fields.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kstep.pb.h"

struct btf;

namespace kstep::guest {

// One field per variable or member, in BTF order. Empty when `type_id` is
// not a DATASEC, struct or union (typedefs and qualifiers are looked
// through) or is not in `btf`.
[[nodiscard]] std::vector<wire::BtfField> value_layout(const struct btf* btf, std::uint32_t type_id);

// A readable C name for `type_id`: "u64" (typedefs are kept), "volatile u64",
// "char[128]", "struct kstep_exit_info", "struct bpf_cpumask __kptr *"; a
// DATASEC's name (".bss"); a VAR's type. "void" for id 0, "<bad type N>" for
// an id `btf` does not have.
[[nodiscard]] std::string btf_type_name(const struct btf* btf, std::uint32_t type_id);

}  // namespace kstep::guest
