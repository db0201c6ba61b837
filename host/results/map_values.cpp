#include "host/results/map_values.hpp"

#include <charconv>
#include <cstdint>
#include <optional>
#include <vector>

#include <fmt/format.h>

namespace kstep::host {
namespace {

// enum bpf_map_type: global data (.bss, .data, .rodata) are arrays.
constexpr std::uint32_t kBpfMapTypeArray = 2;
// Names listed in an error before "and N more".
constexpr std::size_t kMaxListedNames = 40;
// A line cut to the budget keeps at least this much, or is left out.
constexpr std::size_t kMinCutLine = 16;
constexpr std::string_view kCutMarker = " ...";

bool is_integer_size(std::size_t size) {
  return size == 1 || size == 2 || size == 4 || size == 8;
}

std::uint64_t load_le(std::string_view bytes) {
  std::uint64_t value = 0;
  for (std::size_t i = bytes.size(); i-- > 0;) {
    value = (value << 8) | static_cast<unsigned char>(bytes[i]);
  }
  return value;
}

std::string store_le(std::uint64_t value, std::size_t size) {
  std::string bytes(size, '\0');
  for (auto& byte : bytes) {
    byte = static_cast<char>(value & 0xff);
    value >>= 8;
  }
  return bytes;
}

std::int64_t sign_extend(std::uint64_t value, std::size_t size) {
  const unsigned shift = 64 - 8 * static_cast<unsigned>(size);
  return static_cast<std::int64_t>(value << shift) >> shift;
}

std::string quote_c_string(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c >= 0x20 && c < 0x7f) {
          out += c;
        } else {
          out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
        }
    }
  }
  out += '"';
  return out;
}

// "[3] " for array-like 4-byte keys, the hex bytes otherwise.
std::string render_key(std::string_view key) {
  return key.size() == 4 ? std::to_string(load_le(key)) : render_hex(key);
}

template <class Range, class Name>
std::string list_names(const Range& items, Name name) {
  std::string out;
  std::size_t listed = 0;
  for (const auto& item : items) {
    if (listed == kMaxListedNames) {
      return out + fmt::format(" and {} more", static_cast<std::size_t>(items.size()) - listed);
    }
    out += (listed++ == 0 ? "" : ", ") + name(item);
  }
  return out;
}

// Adds lines to a RenderedMap while their total size (one newline each)
// stays within the budget.
class LineBudget {
 public:
  LineBudget(result::RenderedMap& map, std::size_t max_bytes) : map_(map), left_(max_bytes) {}

  // False once the budget is spent: the caller stops.
  bool add(std::string line) {
    if (line.size() + 1 <= left_) {
      left_ -= line.size() + 1;
      map_.add_lines(std::move(line));
      return true;
    }
    // Better a cut line than none, when a good part of it fits.
    if (left_ >= kMinCutLine + kCutMarker.size() + 1) {
      line.resize(left_ - kCutMarker.size() - 1);
      line += kCutMarker;
      map_.add_lines(std::move(line));
    }
    left_ = 0;
    map_.set_truncated(true);
    return false;
  }

 private:
  result::RenderedMap& map_;
  std::size_t left_;
};

// ---- Writes.

bool name_ends_with(std::string_view name, std::string_view suffix) {
  return name.size() > suffix.size() && name.ends_with(suffix) &&
         name[name.size() - suffix.size() - 1] == '.';
}

std::string list_maps(const wire::BpfMapCatalog& catalog) {
  if (catalog.maps().empty()) {
    return "the scheduler's catalog has no maps";
  }
  return "the scheduler's maps: " + list_names(catalog.maps(), [](const wire::BpfMapInfo& map) {
           return map.btf_value_type().empty() || map.btf_value_type() == map.name()
                      ? map.name()
                      : fmt::format("{} ({})", map.name(), map.btf_value_type());
         });
}

Result<const wire::BpfMapInfo*> find_map(const wire::BpfMapCatalog& catalog, std::string_view name) {
  if (name.empty()) {
    return fail("MAP is empty; {}", list_maps(catalog));
  }
  std::vector<const wire::BpfMapInfo*> exact;
  std::vector<const wire::BpfMapInfo*> suffixed;
  // "bss" and ".bss" both name the .bss section.
  const std::string_view section = name.starts_with('.') ? name.substr(1) : name;
  for (const auto& map : catalog.maps()) {
    if (map.name() == name) {
      exact.push_back(&map);
    } else if (!section.empty() &&
               (name_ends_with(map.name(), section) || map.btf_value_type() == fmt::format(".{}", section))) {
      suffixed.push_back(&map);
    }
  }
  const auto& found = exact.empty() ? suffixed : exact;
  if (found.size() == 1) {
    return found.front();
  }
  if (found.empty()) {
    return fail("no map \"{}\"; {}", name, list_maps(catalog));
  }
  return fail("\"{}\" names {} maps: {}; give the full map name", name, found.size(),
              list_names(found, [](const wire::BpfMapInfo* map) {
                return fmt::format("{} (id {})", map->name(), map->id());
              }));
}

Result<void> check_writable(const wire::BpfMapInfo& map) {
  if (map.type() != kBpfMapTypeArray && map.type_name() != "array") {
    return fail("{} is a {} map: only array maps (global variables) are written by field", map.name(),
                map.type_name().empty() ? fmt::format("type {}", map.type()) : map.type_name());
  }
  if (map.read_only()) {
    return fail("{} is read-only (frozen at load, like .rodata): its fields cannot be written", map.name());
  }
  if (map.fields().empty()) {
    return fail("{} has no BTF layout: kstep does not know its fields", map.name());
  }
  return {};
}

Result<wire::BtfField> find_field(const wire::BpfMapInfo& map, std::string_view name) {
  for (const auto& field : map.fields()) {
    if (field.name() == name) {
      if (map.value_size() != 0 && std::uint64_t{field.offset()} + field.size() > map.value_size()) {
        return fail(
            "field {} (offset {}, {} bytes) lies outside {}'s {}-byte value: the catalog is inconsistent",
            name, field.offset(), field.size(), map.name(), map.value_size());
      }
      return field;
    }
  }
  return fail("{} has no field \"{}\"; its fields: {}", map.name(), name,
              list_names(map.fields(), [](const wire::BtfField& field) { return field.name(); }));
}

struct ParsedInteger {
  bool negative = false;
  std::uint64_t magnitude = 0;
  bool overflow = false;  // more than 64 bits: out of range of every field
};

// A decimal or 0x-hex integer with an optional '-', or true/false.
std::optional<ParsedInteger> parse_integer(std::string_view text) {
  if (text == "true") {
    return ParsedInteger{false, 1};
  }
  if (text == "false") {
    return ParsedInteger{false, 0};
  }
  ParsedInteger parsed;
  if (text.starts_with('-')) {
    parsed.negative = true;
    text.remove_prefix(1);
  }
  int base = 10;
  if (text.starts_with("0x") || text.starts_with("0X")) {
    base = 16;
    text.remove_prefix(2);
  }
  if (text.empty()) {
    return std::nullopt;
  }
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, parsed.magnitude, base);
  if (ptr != end || (ec != std::errc{} && ec != std::errc::result_out_of_range)) {
    return std::nullopt;
  }
  parsed.overflow = ec == std::errc::result_out_of_range;
  return parsed;
}

std::string type_of(const wire::BtfField& field) {
  return field.type().empty() ? fmt::format("{}-byte", field.size()) : field.type();
}

Result<std::string> encode_integer(const wire::BtfField& field, std::string_view text) {
  const std::size_t size = field.size();
  const bool is_signed = field.encoding() == wire::BtfField::SIGNED;
  if (!is_integer_size(size)) {
    return fail("{} is a {}-byte integer ({}): kstep writes integers of 1, 2, 4 or 8 bytes", field.name(),
                size, type_of(field));
  }
  const auto parsed = parse_integer(text);
  if (!parsed) {
    return fail("\"{}\" is not an integer; {} is {}: give a decimal or 0x-hex integer", text, field.name(),
                type_of(field));
  }
  const unsigned bits = 8 * static_cast<unsigned>(size);
  if (!is_signed) {
    const std::uint64_t max = bits == 64 ? UINT64_MAX : (std::uint64_t{1} << bits) - 1;
    if (parsed->overflow || (parsed->negative && parsed->magnitude != 0) || parsed->magnitude > max) {
      return fail("{} is out of range for {} ({}: 0..{})", text, field.name(), type_of(field), max);
    }
    return store_le(parsed->magnitude, size);
  }
  const std::uint64_t max_positive = (std::uint64_t{1} << (bits - 1)) - 1;
  if (parsed->overflow || parsed->magnitude > max_positive + (parsed->negative ? 1 : 0)) {
    return fail("{} is out of range for {} ({}: -{}..{})", text, field.name(), type_of(field),
                max_positive + 1, max_positive);
  }
  // Two's complement of the magnitude; unsigned arithmetic wraps as wanted.
  return store_le(parsed->negative ? ~parsed->magnitude + 1 : parsed->magnitude, size);
}

Result<std::string> encode_bool(const wire::BtfField& field, std::string_view text) {
  if (field.size() == 0) {
    return fail("{} is a bool of 0 bytes: the catalog is inconsistent", field.name());
  }
  if (text == "true" || text == "1") {
    return store_le(1, field.size());
  }
  if (text == "false" || text == "0") {
    return store_le(0, field.size());
  }
  return fail("\"{}\" is not a bool; {} is {}: give true, false, 1 or 0", text, field.name(), type_of(field));
}

Result<std::string> encode_string(const wire::BtfField& field, std::string_view text) {
  if (text.find('\0') != std::string_view::npos) {
    return fail("the value holds a NUL byte; {} is a C string", field.name());
  }
  if (text.size() >= field.size()) {
    return fail("the value is {} bytes; {} ({}) holds at most {} and its NUL", text.size(), field.name(),
                type_of(field), field.size() == 0 ? 0 : field.size() - 1);
  }
  std::string bytes(text);
  bytes.resize(field.size(), '\0');
  return bytes;
}

Result<std::string> encode_value(const wire::BtfField& field, std::string_view text) {
  switch (field.encoding()) {
    case wire::BtfField::UNSIGNED:
    case wire::BtfField::SIGNED: return encode_integer(field, text);
    case wire::BtfField::BOOL: return encode_bool(field, text);
    case wire::BtfField::CHAR_ARRAY: return encode_string(field, text);
    default: break;
  }
  return fail("{} is {} (raw bytes): kstep writes only integers, bools and char arrays", field.name(),
              type_of(field));
}

}  // namespace

std::string_view field_bytes(const wire::BtfField& field, std::string_view value) {
  if (field.offset() >= value.size()) {
    return {};
  }
  return value.substr(field.offset(), field.size());
}

std::string render_hex(std::string_view bytes) {
  if (bytes.empty()) {
    return "(empty)";
  }
  std::string out;
  const std::size_t shown = std::min(bytes.size(), kMaxHexBytes);
  out.reserve(shown * 3 + 24);
  for (std::size_t i = 0; i < shown; ++i) {
    out += fmt::format("{}{:02x}", i == 0 ? "" : " ", static_cast<unsigned char>(bytes[i]));
  }
  if (shown < bytes.size()) {
    out += fmt::format(" ... ({} bytes)", bytes.size());
  }
  return out;
}

std::string render_field(const wire::BtfField& field, std::string_view bytes) {
  if (bytes.size() != field.size()) {
    return fmt::format("<{} of {} bytes> {}", bytes.size(), field.size(), render_hex(bytes));
  }
  switch (field.encoding()) {
    case wire::BtfField::UNSIGNED:
      if (is_integer_size(bytes.size())) {
        return std::to_string(load_le(bytes));
      }
      break;
    case wire::BtfField::SIGNED:
      if (is_integer_size(bytes.size())) {
        return std::to_string(sign_extend(load_le(bytes), bytes.size()));
      }
      break;
    case wire::BtfField::BOOL:
      return bytes.find_first_not_of('\0') == std::string_view::npos ? "false" : "true";
    case wire::BtfField::CHAR_ARRAY: return quote_c_string(bytes.substr(0, bytes.find('\0')));
    default: break;
  }
  return render_hex(bytes);
}

result::RenderedMap render_map(const wire::BpfMapInfo& info, const wire::BpfMapValues& values,
                               std::size_t max_bytes) {
  result::RenderedMap out;
  out.set_id(info.id());
  out.set_name(info.name());
  out.set_type_name(info.type_name());
  out.set_error(values.error());
  out.set_truncated(values.truncated());
  const bool keyed = info.max_entries() > 1 || values.entries_size() > 1;
  LineBudget budget{out, max_bytes};
  for (const auto& entry : values.entries()) {
    if (info.fields().empty()) {
      if (!budget.add(fmt::format("{} => {}", render_hex(entry.key()), render_hex(entry.value())))) {
        break;
      }
      continue;
    }
    const std::string prefix = keyed ? fmt::format("[{}] ", render_key(entry.key())) : std::string{};
    for (const auto& field : info.fields()) {
      if (!budget.add(fmt::format("{}{} = {}", prefix, field.name(),
                                  render_field(field, field_bytes(field, entry.value()))))) {
        return out;
      }
    }
  }
  return out;
}

Result<ResolvedWrite> resolve_write(const wire::BpfMapCatalog& catalog, const scenario::BpfWrite& write) {
  const std::string what = describe(write);
  auto map = find_map(catalog, write.map());
  if (!map) {
    return Unexpected{map.error().context(what)};
  }
  if (auto writable = check_writable(**map); !writable) {
    return Unexpected{writable.error().context(what)};
  }
  auto field = find_field(**map, write.field());
  if (!field) {
    return Unexpected{field.error().context(what)};
  }
  auto bytes = encode_value(*field, write.value());
  if (!bytes) {
    return Unexpected{bytes.error().context(what)};
  }
  ResolvedWrite resolved;
  resolved.map = *map;
  resolved.field = *field;
  resolved.write.set_map_id((*map)->id());
  resolved.write.set_map((*map)->name());
  resolved.write.set_field(field->name());
  resolved.write.set_key(0);
  resolved.write.set_offset(field->offset());
  resolved.write.set_value(std::move(*bytes));
  return resolved;
}

Result<scenario::BpfWrite> parse_bpf_write_flag(std::string_view text) {
  constexpr std::string_view kExpected = "expected MAP.FIELD=VALUE (e.g. bss.stall_after_ms=500)";
  const auto equals = text.find('=');
  if (equals == std::string_view::npos) {
    return fail("--bpf-write \"{}\": {}: there is no '='", text, kExpected);
  }
  const auto target = text.substr(0, equals);
  const auto dot = target.rfind('.');
  if (dot == std::string_view::npos) {
    return fail("--bpf-write \"{}\": {}: there is no '.' between MAP and FIELD", text, kExpected);
  }
  if (dot == 0) {
    return fail("--bpf-write \"{}\": {}: MAP is missing", text, kExpected);
  }
  if (dot + 1 == target.size()) {
    return fail("--bpf-write \"{}\": {}: FIELD is missing", text, kExpected);
  }
  scenario::BpfWrite write;
  write.set_map(std::string(target.substr(0, dot)));
  write.set_field(std::string(target.substr(dot + 1)));
  write.set_value(std::string(text.substr(equals + 1)));
  return write;
}

std::string describe(const scenario::BpfWrite& write) {
  return fmt::format("{}.{}={}", write.map(), write.field(), write.value());
}

}  // namespace kstep::host
