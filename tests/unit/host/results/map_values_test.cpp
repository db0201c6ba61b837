// Rendering BPF map values by their BTF layout, and resolving
// `--bpf-write MAP.FIELD=VALUE` against a catalog into field bytes.
#include "host/results/map_values.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <google/protobuf/text_format.h>

namespace kstep::host {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

template <class Message>
Message parse(const std::string& text) {
  Message message;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &message)) << text;
  return message;
}

wire::BtfField field(wire::BtfField::Encoding encoding, std::uint32_t size, std::uint32_t offset = 0,
                     std::string type = "") {
  wire::BtfField f;
  f.set_name("f");
  f.set_encoding(encoding);
  f.set_size(size);
  f.set_offset(offset);
  f.set_type(std::move(type));
  return f;
}

std::string bytes(std::initializer_list<unsigned> values) {
  std::string out;
  for (unsigned v : values) {
    out += static_cast<char>(v);
  }
  return out;
}

// ---- render_field

TEST(RenderField, UnsignedIntegersAreLittleEndianDecimal) {
  EXPECT_EQ(render_field(field(wire::BtfField::UNSIGNED, 1), bytes({0xff})), "255");
  EXPECT_EQ(render_field(field(wire::BtfField::UNSIGNED, 2), bytes({0x34, 0x12})), "4660");
  EXPECT_EQ(render_field(field(wire::BtfField::UNSIGNED, 4), bytes({0xf4, 0x01, 0, 0})), "500");
  EXPECT_EQ(render_field(field(wire::BtfField::UNSIGNED, 8), std::string(8, '\xff')), "18446744073709551615");
}

TEST(RenderField, SignedIntegersAreSignExtended) {
  EXPECT_EQ(render_field(field(wire::BtfField::SIGNED, 1), bytes({0x80})), "-128");
  EXPECT_EQ(render_field(field(wire::BtfField::SIGNED, 2), bytes({0xfe, 0xff})), "-2");
  EXPECT_EQ(render_field(field(wire::BtfField::SIGNED, 4), bytes({0xff, 0xff, 0xff, 0x7f})), "2147483647");
  EXPECT_EQ(render_field(field(wire::BtfField::SIGNED, 8), std::string(8, '\xff')), "-1");
  EXPECT_EQ(render_field(field(wire::BtfField::SIGNED, 8), bytes({0, 0, 0, 0, 0, 0, 0, 0x80})),
            "-9223372036854775808");
}

TEST(RenderField, OddSizedIntegersAreHex) {
  EXPECT_EQ(render_field(field(wire::BtfField::UNSIGNED, 3), bytes({1, 2, 0xab})), "01 02 ab");
  EXPECT_EQ(render_field(field(wire::BtfField::SIGNED, 16), std::string(16, '\0')),
            "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00");
}

TEST(RenderField, Bools) {
  EXPECT_EQ(render_field(field(wire::BtfField::BOOL, 1), bytes({0})), "false");
  EXPECT_EQ(render_field(field(wire::BtfField::BOOL, 1), bytes({1})), "true");
  EXPECT_EQ(render_field(field(wire::BtfField::BOOL, 1), bytes({2})), "true");
}

TEST(RenderField, CharArraysAreQuotedUpToTheFirstNul) {
  auto name = field(wire::BtfField::CHAR_ARRAY, 8);
  EXPECT_EQ(render_field(name, std::string("kstep\0zz", 8)), "\"kstep\"");
  EXPECT_EQ(render_field(name, std::string(8, '\0')), "\"\"");
  // No NUL at all: every byte, still quoted.
  EXPECT_EQ(render_field(name, "abcdefgh"), "\"abcdefgh\"");
}

TEST(RenderField, CharArraysEscapeNonPrintables) {
  auto name = field(wire::BtfField::CHAR_ARRAY, 10);
  EXPECT_EQ(render_field(name, std::string("a\"b\\\n\t\x01\xff", 8) + std::string(2, '\0')),
            R"("a\"b\\\n\t\x01\xff")");
}

TEST(RenderField, BytesAreBoundedHex) {
  EXPECT_EQ(render_field(field(wire::BtfField::BYTES, 4), bytes({0xde, 0xad, 0xbe, 0xef})), "de ad be ef");
  const auto big = render_field(field(wire::BtfField::BYTES, 1000), std::string(1000, '\x11'));
  EXPECT_THAT(big, HasSubstr("... (1000 bytes)"));
  EXPECT_LT(big.size(), 3 * kMaxHexBytes + 32);
  EXPECT_EQ(render_field(field(wire::BtfField::ENCODING_UNSPECIFIED, 2), bytes({1, 2})), "01 02");
}

TEST(RenderField, ShortBytesAreNotMisreadAsNumbers) {
  EXPECT_EQ(render_field(field(wire::BtfField::UNSIGNED, 8), bytes({1, 0})), "<2 of 8 bytes> 01 00");
  EXPECT_EQ(render_field(field(wire::BtfField::UNSIGNED, 8), ""), "<0 of 8 bytes> (empty)");
}

TEST(FieldBytes, SlicesTheValueAtTheFieldsOffset) {
  const std::string value = bytes({1, 2, 3, 4, 5, 6});
  EXPECT_EQ(field_bytes(field(wire::BtfField::UNSIGNED, 2, 2), value), bytes({3, 4}));
  EXPECT_EQ(field_bytes(field(wire::BtfField::UNSIGNED, 4, 4), value), bytes({5, 6}));
  EXPECT_EQ(field_bytes(field(wire::BtfField::UNSIGNED, 4, 8), value), "");
}

// ---- render_map

constexpr const char* kBssInfo = R"txt(
  id: 7 name: "kstep_sc.bss" type: 2 type_name: "array" key_size: 4 value_size: 24 max_entries: 1
  btf_value_type: ".bss"
  fields { name: "stall_after_ms" offset: 0 size: 8 type: "u64" encoding: UNSIGNED }
  fields { name: "delta" offset: 8 size: 4 type: "s32" encoding: SIGNED }
  fields { name: "on" offset: 12 size: 1 type: "bool" encoding: BOOL }
  fields { name: "tag" offset: 13 size: 8 type: "char[8]" encoding: CHAR_ARRAY }
)txt";

std::string bss_value() {
  std::string value(24, '\0');
  value[0] = static_cast<char>(0xf4);  // 500
  value[1] = 0x01;
  value.replace(8, 4, "\xfd\xff\xff\xff");  // -3
  value[12] = 1;
  value.replace(13, 3, "abc");
  return value;
}

TEST(RenderMap, GlobalDataIsOneLinePerField) {
  const auto info = parse<wire::BpfMapInfo>(kBssInfo);
  wire::BpfMapValues values;
  values.set_id(7);
  auto* entry = values.add_entries();
  entry->set_key(std::string(4, '\0'));
  entry->set_value(bss_value());
  const auto map = render_map(info, values, 4096);
  EXPECT_EQ(map.id(), 7U);
  EXPECT_EQ(map.name(), "kstep_sc.bss");
  EXPECT_EQ(map.type_name(), "array");
  EXPECT_THAT(map.lines(), ElementsAre("stall_after_ms = 500", "delta = -3", "on = true", "tag = \"abc\""));
  EXPECT_FALSE(map.truncated());
  EXPECT_EQ(map.error(), "");
}

TEST(RenderMap, EntriesOfAMultiEntryMapArePrefixedWithTheirKey) {
  const auto info = parse<wire::BpfMapInfo>(R"txt(
    id: 3 name: "counts" type: 2 type_name: "array" key_size: 4 value_size: 4 max_entries: 2
    fields { name: "n" offset: 0 size: 4 type: "u32" encoding: UNSIGNED })txt");
  const auto values = parse<wire::BpfMapValues>(R"txt(
    id: 3 name: "counts"
    entries { key: "\000\000\000\000" value: "\005\000\000\000" }
    entries { key: "\001\000\000\000" value: "\006\000\000\000" })txt");
  EXPECT_THAT(render_map(info, values, 4096).lines(), ElementsAre("[0] n = 5", "[1] n = 6"));
}

TEST(RenderMap, MapsWithoutLayoutAreKeyAndValueInHex) {
  const auto info = parse<wire::BpfMapInfo>(R"txt(
    id: 4 name: "pids" type: 1 type_name: "hash" key_size: 2 value_size: 3 max_entries: 64)txt");
  const auto values = parse<wire::BpfMapValues>(R"txt(
    id: 4 entries { key: "\001\002" value: "\012\013\014" })txt");
  EXPECT_THAT(render_map(info, values, 4096).lines(), ElementsAre("01 02 => 0a 0b 0c"));
}

TEST(RenderMap, ShortValuesShowWhatIsThere) {
  const auto info = parse<wire::BpfMapInfo>(kBssInfo);
  wire::BpfMapValues values;
  values.add_entries()->set_value(std::string(4, '\0'));
  const auto map = render_map(info, values, 4096);
  ASSERT_EQ(map.lines_size(), 4);
  EXPECT_EQ(map.lines(0), "stall_after_ms = <4 of 8 bytes> 00 00 00 00");
  EXPECT_EQ(map.lines(1), "delta = <0 of 4 bytes> (empty)");
}

TEST(RenderMap, StopsAtTheByteBoundAndSaysSo) {
  const auto info = parse<wire::BpfMapInfo>(kBssInfo);
  wire::BpfMapValues values;
  values.add_entries()->set_value(bss_value());
  // "stall_after_ms = 500\n" is 21 bytes, "delta = -3\n" 11.
  auto map = render_map(info, values, 32);
  EXPECT_THAT(map.lines(), ElementsAre("stall_after_ms = 500", "delta = -3"));
  EXPECT_TRUE(map.truncated());

  std::size_t total = 0;
  map = render_map(info, values, 40);
  for (const auto& line : map.lines()) {
    total += line.size() + 1;
  }
  EXPECT_LE(total, 40U);
  EXPECT_TRUE(map.truncated());

  EXPECT_FALSE(render_map(info, values, 21 + 11 + 10 + 12).truncated());
}

TEST(RenderMap, CutsALongLineRatherThanDroppingIt) {
  const auto info = parse<wire::BpfMapInfo>(R"txt(
    id: 9 name: ".data.exit_dump" type: 2 type_name: "array" value_size: 200 max_entries: 1
    fields { name: "exit_dump" offset: 0 size: 200 type: "char[200]" encoding: CHAR_ARRAY })txt");
  wire::BpfMapValues values;
  values.add_entries()->set_value(std::string(199, 'x') + '\0');
  const auto map = render_map(info, values, 100);
  ASSERT_EQ(map.lines_size(), 1);
  EXPECT_THAT(map.lines(0), ::testing::StartsWith("exit_dump = \"xxx"));
  EXPECT_THAT(map.lines(0), ::testing::EndsWith(" ..."));
  EXPECT_EQ(map.lines(0).size(), 99U);
  EXPECT_TRUE(map.truncated());
}

TEST(RenderMap, CarriesTheGuestsErrorAndTruncation) {
  const auto info = parse<wire::BpfMapInfo>(kBssInfo);
  const auto values = parse<wire::BpfMapValues>(R"txt(id: 7 truncated: true error: "lookup: ENOENT")txt");
  const auto map = render_map(info, values, 4096);
  EXPECT_EQ(map.error(), "lookup: ENOENT");
  EXPECT_TRUE(map.truncated());
  EXPECT_EQ(map.lines_size(), 0);
}

// ---- resolve_write

constexpr const char* kCatalog = R"txt(
  scheduler: "kstep-sched" pid: 42
  maps { id: 7 name: "kstep_sc.bss" type: 2 type_name: "array" key_size: 4 value_size: 40 max_entries: 1
         btf_value_type: ".bss"
         fields { name: "stall_after_ms" offset: 0 size: 8 type: "u64" encoding: UNSIGNED }
         fields { name: "delta" offset: 8 size: 4 type: "s32" encoding: SIGNED }
         fields { name: "small" offset: 12 size: 1 type: "u8" encoding: UNSIGNED }
         fields { name: "tiny" offset: 13 size: 1 type: "s8" encoding: SIGNED }
         fields { name: "on" offset: 14 size: 1 type: "bool" encoding: BOOL }
         fields { name: "tag" offset: 16 size: 8 type: "char[8]" encoding: CHAR_ARRAY }
         fields { name: "info" offset: 24 size: 16 type: "struct kstep_exit_info" encoding: BYTES } }
  maps { id: 8 name: "kstep_sc.rodata" type: 2 type_name: "array" key_size: 4 value_size: 4 max_entries: 1
         btf_value_type: ".rodata" read_only: true
         fields { name: "sched_mode" offset: 0 size: 4 type: "u32" encoding: UNSIGNED } }
  maps { id: 9 name: "fault_timers" type: 2 type_name: "array" key_size: 4 value_size: 16 max_entries: 1
         btf_value_type: "struct fault_timer" }
  maps { id: 10 name: "kstep_ops" type: 26 type_name: "struct_ops" btf_value_type: "struct sched_ext_ops"
         fields { name: "timeout_ms" offset: 0 size: 4 type: "u32" encoding: UNSIGNED } }
)txt";

scenario::BpfWrite bpf_write(const std::string& map, const std::string& field, const std::string& value) {
  scenario::BpfWrite write;
  write.set_map(map);
  write.set_field(field);
  write.set_value(value);
  return write;
}

class ResolveWriteTest : public ::testing::Test {
 protected:
  Result<ResolvedWrite> resolve(const std::string& map, const std::string& field, const std::string& value) {
    return resolve_write(catalog_, bpf_write(map, field, value));
  }
  std::string error(const std::string& map, const std::string& field, const std::string& value) {
    auto resolved = resolve(map, field, value);
    EXPECT_FALSE(resolved.ok()) << map << "." << field << "=" << value;
    return resolved.ok() ? std::string{} : resolved.error().message;
  }
  std::string value_bytes(const std::string& field, const std::string& value) {
    auto resolved = resolve("bss", field, value);
    EXPECT_TRUE(resolved.ok()) << (resolved.ok() ? "" : resolved.error().message);
    return resolved.ok() ? resolved->write.value() : std::string{};
  }

  wire::BpfMapCatalog catalog_ = parse<wire::BpfMapCatalog>(kCatalog);
};

TEST_F(ResolveWriteTest, BuildsTheFieldWrite) {
  auto resolved = resolve("bss", "stall_after_ms", "500");
  ASSERT_TRUE(resolved.ok()) << resolved.error().message;
  EXPECT_EQ(resolved->write.map_id(), 7U);
  EXPECT_EQ(resolved->write.map(), "kstep_sc.bss");
  EXPECT_EQ(resolved->write.field(), "stall_after_ms");
  EXPECT_EQ(resolved->write.key(), 0U);
  EXPECT_EQ(resolved->write.offset(), 0U);
  EXPECT_EQ(resolved->write.value(), bytes({0xf4, 0x01, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(resolved->map, &catalog_.maps(0));
  EXPECT_EQ(resolved->field.name(), "stall_after_ms");

  resolved = resolve("bss", "delta", "-3");
  ASSERT_TRUE(resolved.ok()) << resolved.error().message;
  EXPECT_EQ(resolved->write.offset(), 8U);
  EXPECT_EQ(resolved->write.value(), bytes({0xfd, 0xff, 0xff, 0xff}));
}

TEST_F(ResolveWriteTest, NamesTheMapByFullNameSuffixOrSection) {
  for (const char* name : {"kstep_sc.bss", "bss", ".bss"}) {
    auto resolved = resolve(name, "on", "true");
    ASSERT_TRUE(resolved.ok()) << name << ": " << resolved.error().message;
    EXPECT_EQ(resolved->write.map_id(), 7U) << name;
  }
  // Only whole dot-separated suffixes: "ss" is not "bss".
  EXPECT_THAT(error("ss", "on", "true"), HasSubstr("no map \"ss\""));
}

TEST_F(ResolveWriteTest, AnUnknownMapListsTheMapsThereAre) {
  const auto message = error("data", "x", "1");
  EXPECT_THAT(message, HasSubstr("data.x=1: no map \"data\""));
  EXPECT_THAT(message, HasSubstr("kstep_sc.bss (.bss), kstep_sc.rodata (.rodata), fault_timers"));
  EXPECT_THAT(message, HasSubstr("kstep_ops"));

  catalog_.clear_maps();
  EXPECT_THAT(error("bss", "x", "1"), HasSubstr("no maps"));
}

TEST_F(ResolveWriteTest, AnAmbiguousMapIsAnErrorUnlessNamedInFull) {
  auto* other = catalog_.add_maps();
  *other = catalog_.maps(0);
  other->set_id(11);
  other->set_name("other.bss");
  const auto message = error("bss", "on", "1");
  EXPECT_THAT(message, HasSubstr("\"bss\" names 2 maps: kstep_sc.bss (id 7), other.bss (id 11)"));
  EXPECT_THAT(message, HasSubstr("full map name"));

  auto resolved = resolve("other.bss", "on", "1");
  ASSERT_TRUE(resolved.ok()) << resolved.error().message;
  EXPECT_EQ(resolved->write.map_id(), 11U);
}

TEST_F(ResolveWriteTest, AnUnknownFieldListsTheFields) {
  const auto message = error("bss", "stall_ms", "5");
  EXPECT_THAT(message, HasSubstr("bss.stall_ms=5: kstep_sc.bss has no field \"stall_ms\""));
  EXPECT_THAT(message, HasSubstr("stall_after_ms, delta, small, tiny, on, tag, info"));
}

TEST_F(ResolveWriteTest, RefusesReadOnlyLayoutlessAndNonArrayMaps) {
  EXPECT_THAT(error("rodata", "sched_mode", "1"), HasSubstr("kstep_sc.rodata is read-only"));
  EXPECT_THAT(error("fault_timers", "timer", "1"), HasSubstr("fault_timers has no BTF layout"));
  EXPECT_THAT(error("kstep_ops", "timeout_ms", "1"), HasSubstr("kstep_ops is a struct_ops map"));
}

TEST_F(ResolveWriteTest, EncodesIntegersInDecimalAndHex) {
  EXPECT_EQ(value_bytes("stall_after_ms", "0x10"), bytes({0x10, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(value_bytes("stall_after_ms", "0XfF"), bytes({0xff, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(value_bytes("stall_after_ms", "18446744073709551615"), std::string(8, '\xff'));
  EXPECT_EQ(value_bytes("stall_after_ms", "-0"), std::string(8, '\0'));
  EXPECT_EQ(value_bytes("small", "255"), bytes({0xff}));
  EXPECT_EQ(value_bytes("tiny", "-128"), bytes({0x80}));
  EXPECT_EQ(value_bytes("tiny", "127"), bytes({0x7f}));
  EXPECT_EQ(value_bytes("tiny", "-0x1"), bytes({0xff}));
  EXPECT_EQ(value_bytes("delta", "-2147483648"), bytes({0, 0, 0, 0x80}));
  // Flags are often u32 in BPF C: true/false are 1/0.
  EXPECT_EQ(value_bytes("small", "true"), bytes({1}));
  EXPECT_EQ(value_bytes("small", "false"), bytes({0}));
}

TEST_F(ResolveWriteTest, RangeChecksIntegers) {
  EXPECT_THAT(error("bss", "small", "256"),
              HasSubstr("bss.small=256: 256 is out of range for small (u8: 0..255)"));
  EXPECT_THAT(error("bss", "small", "-1"), HasSubstr("out of range for small (u8: 0..255)"));
  EXPECT_THAT(error("bss", "tiny", "128"), HasSubstr("out of range for tiny (s8: -128..127)"));
  EXPECT_THAT(error("bss", "tiny", "-129"), HasSubstr("out of range"));
  EXPECT_THAT(error("bss", "delta", "0xffffffff"), HasSubstr("out of range"));
  EXPECT_THAT(
      error("bss", "stall_after_ms", "18446744073709551616"),
      HasSubstr("18446744073709551616 is out of range for stall_after_ms (u64: 0..18446744073709551615)"));
  EXPECT_THAT(error("bss", "delta", "-0x10000000000000000"), HasSubstr("out of range"));
}

TEST_F(ResolveWriteTest, RejectsWhatIsNotAnInteger) {
  for (const char* value : {"abc", "", "0x", "-", "1.5", " 5", "5 ", "+5", "1e3", "0x1g"}) {
    EXPECT_THAT(error("bss", "stall_after_ms", value), HasSubstr("is not an integer")) << value;
  }
  EXPECT_THAT(error("bss", "stall_after_ms", "abc"),
              HasSubstr("bss.stall_after_ms=abc: \"abc\" is not an integer; stall_after_ms is u64"));
}

TEST_F(ResolveWriteTest, EncodesBools) {
  EXPECT_EQ(value_bytes("on", "true"), bytes({1}));
  EXPECT_EQ(value_bytes("on", "1"), bytes({1}));
  EXPECT_EQ(value_bytes("on", "false"), bytes({0}));
  EXPECT_EQ(value_bytes("on", "0"), bytes({0}));
  EXPECT_THAT(error("bss", "on", "2"), HasSubstr("bss.on=2: \"2\" is not a bool"));
  EXPECT_THAT(error("bss", "on", "yes"), HasSubstr("give true, false, 1 or 0"));
}

TEST_F(ResolveWriteTest, EncodesCharArraysZeroPadded) {
  EXPECT_EQ(value_bytes("tag", "abc"), std::string("abc\0\0\0\0\0", 8));
  EXPECT_EQ(value_bytes("tag", ""), std::string(8, '\0'));
  EXPECT_EQ(value_bytes("tag", "1234567"), std::string("1234567\0", 8));
  EXPECT_THAT(error("bss", "tag", "12345678"),
              HasSubstr("bss.tag=12345678: the value is 8 bytes; tag (char[8]) holds at most 7 and its NUL"));
  EXPECT_THAT(error("bss", "tag", std::string("a\0b", 3)), HasSubstr("NUL"));
}

TEST_F(ResolveWriteTest, RefusesRawByteFields) {
  EXPECT_THAT(error("bss", "info", "0"), HasSubstr("info is struct kstep_exit_info (raw bytes)"));
}

TEST_F(ResolveWriteTest, RefusesFieldsOutsideTheValue) {
  catalog_.mutable_maps(0)->mutable_fields(0)->set_offset(36);
  EXPECT_THAT(error("bss", "stall_after_ms", "1"), HasSubstr("lies outside"));
}

// ---- parse_bpf_write_flag

TEST(ParseBpfWriteFlag, SplitsMapFieldAndValue) {
  auto write = parse_bpf_write_flag("bss.stall_after_ms=500");
  ASSERT_TRUE(write.ok()) << write.error().message;
  EXPECT_EQ(write->map(), "bss");
  EXPECT_EQ(write->field(), "stall_after_ms");
  EXPECT_EQ(write->value(), "500");
  EXPECT_EQ(describe(*write), "bss.stall_after_ms=500");
}

TEST(ParseBpfWriteFlag, TheValueMayHoldEqualsAndDots) {
  auto write = parse_bpf_write_flag("bss.tag=a=b.c");
  ASSERT_TRUE(write.ok()) << write.error().message;
  EXPECT_EQ(write->map(), "bss");
  EXPECT_EQ(write->field(), "tag");
  EXPECT_EQ(write->value(), "a=b.c");
}

TEST(ParseBpfWriteFlag, FullMapNamesKeepTheirDots) {
  auto write = parse_bpf_write_flag("kstep_sc.bss.stall_after_ms=1");
  ASSERT_TRUE(write.ok()) << write.error().message;
  EXPECT_EQ(write->map(), "kstep_sc.bss");
  EXPECT_EQ(write->field(), "stall_after_ms");
}

TEST(ParseBpfWriteFlag, AnEmptyValueIsKept) {
  auto write = parse_bpf_write_flag("bss.tag=");
  ASSERT_TRUE(write.ok()) << write.error().message;
  EXPECT_EQ(write->value(), "");
}

TEST(ParseBpfWriteFlag, MissingPartsAreErrors) {
  const auto message = [](std::string_view text) {
    auto write = parse_bpf_write_flag(text);
    EXPECT_FALSE(write.ok()) << text;
    return write.ok() ? std::string{} : write.error().message;
  };
  EXPECT_THAT(message("bss.stall_after_ms"), HasSubstr("\"bss.stall_after_ms\": expected MAP.FIELD=VALUE"));
  EXPECT_THAT(message("bss.stall_after_ms"), HasSubstr("no '='"));
  EXPECT_THAT(message("stall_after_ms=5"), HasSubstr("no '.' between MAP and FIELD"));
  EXPECT_THAT(message(".stall_after_ms=5"), HasSubstr("MAP is missing"));
  EXPECT_THAT(message("bss.=5"), HasSubstr("FIELD is missing"));
  EXPECT_THAT(message(""), HasSubstr("no '='"));
  // The '.' belongs to MAP.FIELD, not to the value.
  EXPECT_THAT(message("bss=5.0"), HasSubstr("no '.' between MAP and FIELD"));
}

TEST(ParseBpfWriteFlag, RoundTripsThroughResolve) {
  const auto catalog = parse<wire::BpfMapCatalog>(kCatalog);
  auto write = parse_bpf_write_flag("bss.stall_after_ms=abc");
  ASSERT_TRUE(write.ok());
  auto resolved = resolve_write(catalog, *write);
  ASSERT_FALSE(resolved.ok());
  EXPECT_THAT(resolved.error().message, ::testing::StartsWith("bss.stall_after_ms=abc: "));
}

}  // namespace
}  // namespace kstep::host
