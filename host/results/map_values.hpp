// Values of a running scheduler's BPF maps, as the host shows and writes
// them: pure functions over the catalog the guest publishes
// (wire::BpfMapCatalog, each map's BtfField layout) and the raw bytes it
// reads (wire::BpfMapValues).
//
// Reading: render_field() turns one field's bytes into text by its BTF
// encoding; render_map() turns a map dump into "name = value" lines,
// bounded for the result document.
// Writing: parse_bpf_write_flag() splits `--bpf-write MAP.FIELD=VALUE`;
// resolve_write() finds the map and field in the catalog and encodes the
// value as the field's bytes (wire::BpfFieldWrite). Every refusal is an
// Error that names the write (`bss.stall_after_ms=abc`) and what is wrong
// with it, listing the maps or fields there are when a name is unknown.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "kstep.pb.h"
#include "result.pb.h"
#include "scenario.pb.h"

namespace kstep::host {

// BYTES fields and map keys/values without a layout show at most this many
// bytes in hex, then "... (N bytes)".
inline constexpr std::size_t kMaxHexBytes = 64;

// The bytes of `field` inside a whole map value: the slice at field.offset,
// shorter (or empty) when the value ends before the field does.
[[nodiscard]] std::string_view field_bytes(const wire::BtfField& field, std::string_view value);

// `bytes` are the field's own bytes (field.size of them: a field_bytes()
// slice, or BpfFieldWriteResult.before/after). UNSIGNED/SIGNED of 1, 2, 4 or
// 8 bytes: little-endian decimal; other sizes and BYTES: hex; BOOL:
// true/false; CHAR_ARRAY: a quoted C string up to the first NUL with
// non-printables escaped. Bytes that do not match field.size (a short read)
// are shown in hex with a note, never misread as a number.
[[nodiscard]] std::string render_field(const wire::BtfField& field, std::string_view bytes);

// Lowercase hex, bytes separated by spaces, at most kMaxHexBytes of them,
// then "... (N bytes)"; "(empty)" for no bytes.
[[nodiscard]] std::string render_hex(std::string_view bytes);

// One line per entry and field: "name = value" for a map with a BTF layout,
// prefixed with "[key] " when the map can hold more than one entry;
// "key => value" in hex without a layout. Lines stop before their total
// size (a newline each) would pass `max_bytes`; then `truncated` is set, as
// it is when the guest already truncated the dump. Carries values.error.
[[nodiscard]] result::RenderedMap render_map(const wire::BpfMapInfo& info, const wire::BpfMapValues& values,
                                             std::size_t max_bytes);

// A BPF map write resolved against a catalog, ready for BpfMapWrite.
struct ResolvedWrite {
  wire::BpfFieldWrite write;              // map id and kernel name, field, key 0, offset, the encoded bytes
  const wire::BpfMapInfo* map = nullptr;  // points into the catalog given to resolve_write()
  wire::BtfField field;
};

// MAP names a map by its kernel name ("kstep_sc.bss"), by the suffix after
// the object prefix libbpf gives global-data maps ("bss" for
// "kstep_sc.bss"), or by its BTF value type without the dot (".bss"); a full
// name wins over suffix matches. The map must be a writable array with a BTF
// layout, FIELD one of its fields, and VALUE fit the field: a decimal or
// 0x-hex integer in range of its size and signedness (true/false count as
// 1/0), true/false/0/1 for a bool, a string shorter than a char array.
// Raw-byte fields (structs, other arrays) are refused.
[[nodiscard]] Result<ResolvedWrite> resolve_write(const wire::BpfMapCatalog& catalog,
                                                  const scenario::BpfWrite& write);

// Splits "MAP.FIELD=VALUE" at the first '=' (the value may hold '=' and
// '.'), and MAP.FIELD at its last '.' (field names are C identifiers, map
// names may hold dots: "kstep_sc.bss.stall_after_ms=1" is map
// "kstep_sc.bss"). An empty value is kept (an empty string for a char
// array); a missing '=', '.', map or field is an error.
[[nodiscard]] Result<scenario::BpfWrite> parse_bpf_write_flag(std::string_view text);

// "bss.stall_after_ms=500", as the user wrote it: for messages and records.
[[nodiscard]] std::string describe(const scenario::BpfWrite& write);

}  // namespace kstep::host
