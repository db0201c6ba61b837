#include "guest/bpf/btf_layout.hpp"

#include <bpf/btf.h>

#include <string_view>

#include <fmt/format.h>

namespace kstep::guest {
namespace {

using Encoding = wire::BtfField::Encoding;

// BTF from the kernel is acyclic except through pointers, and naming a
// struct does not look into it; the bound only guards hand-built or corrupt
// BTF against unbounded recursion.
constexpr int kMaxDepth = 32;

const struct btf_type* type_of(const struct btf* btf, std::uint32_t id) {
  return btf__type_by_id(btf, id);
}

std::string_view name_at(const struct btf* btf, std::uint32_t offset) {
  const char* name = btf__name_by_offset(btf, offset);
  return name == nullptr ? std::string_view{} : std::string_view{name};
}

std::string_view name_of(const struct btf* btf, const struct btf_type* t) {
  return name_at(btf, t->name_off);
}

// "struct foo", or "struct (anonymous)" for an unnamed one.
std::string tagged_name(std::string_view tag, std::string_view name) {
  return fmt::format("{} {}", tag, name.empty() ? "(anonymous)" : name);
}

std::string type_name(const struct btf* btf, std::uint32_t id, int depth);

std::string array_name(const struct btf* btf, const struct btf_type* t, int depth) {
  // int[2][3] is an array of 2 arrays of 3 ints: dimensions outermost first.
  std::string dims;
  while (btf_is_array(t) && depth < kMaxDepth) {
    const auto* array = btf_array(t);
    dims += fmt::format("[{}]", array->nelems);
    const auto* element = type_of(btf, array->type);
    if (element == nullptr || !btf_is_array(element)) {
      return type_name(btf, array->type, depth + 1) + dims;
    }
    t = element;
    ++depth;
  }
  return "<too deep>" + dims;
}

std::string pointer_name(std::string pointee) {
  // "char *", and "char **" rather than "char * *".
  return pointee + (pointee.ends_with('*') ? "*" : " *");
}

std::string type_name(const struct btf* btf, std::uint32_t id, int depth) {
  if (id == 0) {
    return "void";
  }
  const auto* t = type_of(btf, id);
  if (t == nullptr) {
    return fmt::format("<bad type {}>", id);
  }
  if (depth >= kMaxDepth) {
    return "<too deep>";
  }
  switch (btf_kind(t)) {
    case BTF_KIND_INT:
    case BTF_KIND_FLOAT:
    case BTF_KIND_TYPEDEF:
    case BTF_KIND_FUNC:
    case BTF_KIND_DATASEC: return std::string{name_of(btf, t)};
    case BTF_KIND_STRUCT: return tagged_name("struct", name_of(btf, t));
    case BTF_KIND_UNION: return tagged_name("union", name_of(btf, t));
    case BTF_KIND_ENUM:
    case BTF_KIND_ENUM64: return tagged_name("enum", name_of(btf, t));
    case BTF_KIND_FWD: return tagged_name(btf_kflag(t) ? "union" : "struct", name_of(btf, t));
    case BTF_KIND_PTR: return pointer_name(type_name(btf, t->type, depth + 1));
    case BTF_KIND_ARRAY: return array_name(btf, t, depth);
    case BTF_KIND_CONST:
    case BTF_KIND_VOLATILE:
    case BTF_KIND_RESTRICT: {
      const std::string_view qualifier = btf_is_const(t)      ? "const"
                                         : btf_is_volatile(t) ? "volatile"
                                                              : "restrict";
      const auto* inner = type_of(btf, t->type);
      // A qualified pointer is "int * const"; anything else "const int".
      if (inner != nullptr && btf_is_ptr(inner)) {
        return fmt::format("{} {}", type_name(btf, t->type, depth + 1), qualifier);
      }
      return fmt::format("{} {}", qualifier, type_name(btf, t->type, depth + 1));
    }
    // kptrs: PTR -> TYPE_TAG "kptr" -> STRUCT reads "struct foo __kptr *",
    // as the BPF C source spells it.
    case BTF_KIND_TYPE_TAG:
      return fmt::format("{} __{}", type_name(btf, t->type, depth + 1), name_of(btf, t));
    case BTF_KIND_VAR:
    case BTF_KIND_DECL_TAG: return type_name(btf, t->type, depth + 1);
    case BTF_KIND_FUNC_PROTO: {
      std::string params;
      const auto* param = btf_params(t);
      for (std::uint16_t i = 0; i < btf_vlen(t); ++i) {
        params += fmt::format("{}{}", i == 0 ? "" : ", ",
                              param[i].type == 0 ? "..." : type_name(btf, param[i].type, depth + 1));
      }
      return fmt::format("{} ({})", type_name(btf, t->type, depth + 1), params);
    }
    default: return fmt::format("<kind {}>", btf_kind(t));
  }
}

// Looks through typedefs and qualifiers (const, volatile, restrict, type
// tags) to the type that decides how the bytes read. nullptr when broken.
const struct btf_type* resolved(const struct btf* btf, std::uint32_t id) {
  const auto* t = type_of(btf, id);
  for (int depth = 0; t != nullptr && (btf_is_mod(t) || btf_is_typedef(t)); ++depth) {
    if (depth >= kMaxDepth) {
      return nullptr;
    }
    t = type_of(btf, t->type);
  }
  return t;
}

Encoding encoding_of(const struct btf* btf, std::uint32_t id) {
  const auto* t = resolved(btf, id);
  if (t == nullptr) {
    return wire::BtfField::BYTES;
  }
  if (btf_is_int(t)) {
    const auto encoding = btf_int_encoding(t);
    if ((encoding & BTF_INT_BOOL) != 0) {
      return wire::BtfField::BOOL;
    }
    return (encoding & BTF_INT_SIGNED) != 0 ? wire::BtfField::SIGNED : wire::BtfField::UNSIGNED;
  }
  if (btf_is_any_enum(t)) {
    // kflag marks a signed enum (BTF since Linux 6.0; older BTF: unsigned).
    return btf_kflag(t) ? wire::BtfField::SIGNED : wire::BtfField::UNSIGNED;
  }
  if (btf_is_array(t)) {
    // BTF has no separate char type: clang emits char as a 1-byte INT. So
    // u8[N] reads as a string too; the bytes are the same either way.
    const auto* element = resolved(btf, btf_array(t)->type);
    if (element != nullptr && btf_is_int(element) && element->size == 1 &&
        (btf_int_encoding(element) & BTF_INT_BOOL) == 0) {
      return wire::BtfField::CHAR_ARRAY;
    }
  }
  return wire::BtfField::BYTES;
}

wire::BtfField make_field(const struct btf* btf, std::string name, std::uint32_t offset, std::uint32_t size,
                          std::uint32_t type_id) {
  wire::BtfField field;
  field.set_name(std::move(name));
  field.set_offset(offset);
  field.set_size(size);
  field.set_type(type_name(btf, type_id, 0));
  field.set_encoding(encoding_of(btf, type_id));
  return field;
}

void add_datasec_fields(const struct btf* btf, const struct btf_type* t,
                        std::vector<wire::BtfField>& fields) {
  const auto* info = btf_var_secinfos(t);
  for (std::uint16_t i = 0; i < btf_vlen(t); ++i) {
    const auto* var = type_of(btf, info[i].type);
    if (var == nullptr || !btf_is_var(var)) {
      continue;
    }
    fields.push_back(
        make_field(btf, std::string{name_of(btf, var)}, info[i].offset, info[i].size, var->type));
  }
}

void add_member_fields(const struct btf* btf, const struct btf_type* t, std::uint32_t base,
                       std::vector<wire::BtfField>& fields, int depth) {
  if (depth >= kMaxDepth) {
    return;
  }
  const auto* members = btf_members(t);
  for (std::uint16_t i = 0; i < btf_vlen(t); ++i) {
    if (btf_member_bitfield_size(t, i) != 0) {
      continue;  // see the header: bitfields are not byte-addressable
    }
    const std::uint32_t offset = base + btf_member_bit_offset(t, i) / 8;
    const std::string_view name = name_at(btf, members[i].name_off);
    if (name.empty()) {
      // An anonymous struct or union: its members are named as the
      // parent's (C11), so they become the parent's fields.
      const auto* inner = resolved(btf, members[i].type);
      if (inner != nullptr && btf_is_composite(inner)) {
        add_member_fields(btf, inner, offset, fields, depth + 1);
      }
      continue;
    }
    const auto size = btf__resolve_size(btf, members[i].type);
    if (size < 0) {
      continue;  // a type without a size (a forward declaration): nothing to read
    }
    fields.push_back(
        make_field(btf, std::string{name}, offset, static_cast<std::uint32_t>(size), members[i].type));
  }
}

}  // namespace

std::vector<wire::BtfField> value_layout(const struct btf* btf, std::uint32_t type_id) {
  std::vector<wire::BtfField> fields;
  const auto* t = resolved(btf, type_id);
  if (t == nullptr) {
    return fields;
  }
  if (btf_is_datasec(t)) {
    add_datasec_fields(btf, t, fields);
  } else if (btf_is_composite(t)) {
    add_member_fields(btf, t, 0, fields, 0);
  }
  return fields;
}

std::string btf_type_name(const struct btf* btf, std::uint32_t type_id) {
  return type_name(btf, type_id, 0);
}

}  // namespace kstep::guest
