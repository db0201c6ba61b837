// value_layout and btf_type_name against BTF built in memory: a .bss DATASEC
// as clang and libbpf produce it for a scheduler's globals, and a struct
// value with the awkward members (bitfields, an anonymous union).
#include "guest/bpf/btf_layout.hpp"

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/guest/bpf/btf_builder.hpp"

namespace kstep::guest {
namespace {

using testing::BtfBuilder;
using ::testing::IsEmpty;

// The parts of a BtfField a test compares, printable on failure.
struct Field {
  std::string name;
  std::uint32_t offset;
  std::uint32_t size;
  std::string type;
  wire::BtfField::Encoding encoding;

  bool operator==(const Field&) const = default;
  friend std::ostream& operator<<(std::ostream& out, const Field& f) {
    return out << "{" << f.name << " @" << f.offset << " +" << f.size << " " << f.type << " "
               << wire::BtfField::Encoding_Name(f.encoding) << "}";
  }
};

std::vector<Field> fields_of(const struct btf* btf, std::uint32_t type_id) {
  std::vector<Field> fields;
  for (const auto& f : value_layout(btf, type_id)) {
    fields.push_back(Field{f.name(), f.offset(), f.size(), f.type(), f.encoding()});
  }
  return fields;
}

constexpr auto kUnsigned = wire::BtfField::UNSIGNED;
constexpr auto kSigned = wire::BtfField::SIGNED;
constexpr auto kBool = wire::BtfField::BOOL;
constexpr auto kChars = wire::BtfField::CHAR_ARRAY;
constexpr auto kBytes = wire::BtfField::BYTES;

// The common types of a scheduler's BTF.
struct Types {
  explicit Types(BtfBuilder& b)
      : u64(b.typedef_of("u64", b.integer("unsigned long long", 8, 0))),
        u32(b.typedef_of("u32", b.integer("unsigned int", 4, 0))),
        s32(b.typedef_of("s32", b.int_type())),
        boolean(b.integer("_Bool", 1, BTF_INT_BOOL)),
        character(b.integer("char", 1, BTF_INT_SIGNED)),
        u8(b.typedef_of("u8", b.integer("unsigned char", 1, 0))) {}

  int u64;
  int u32;
  int s32;
  int boolean;
  int character;
  int u8;
};

TEST(BtfLayout, ADatasecHasOneFieldPerVariable) {
  BtfBuilder b;
  const Types t{b};
  const int volatile_u64 = b.volatile_of(t.u64);
  const int name = b.array_of(t.character, 16);
  const int slots = b.array_of(b.int_type(), 4);
  const int bytes = b.array_of(t.u8, 6);

  const int stats = b.structure("stats", 32);
  b.field("runs", t.u64, 0);
  b.field("last_cpu", t.s32, 64);
  b.field("comm", name, 96);

  // enum mode { MODE_FIFO, MODE_VTIME } (unsigned); a signed 64-bit enum.
  const int mode = btf__add_enum(b.get(), "mode", 4);
  ASSERT_GT(mode, 0);
  ASSERT_EQ(btf__add_enum_value(b.get(), "MODE_FIFO", 0), 0);
  ASSERT_EQ(btf__add_enum_value(b.get(), "MODE_VTIME", 1), 0);
  const int level = btf__add_enum64(b.get(), "level", 8, /*is_signed=*/true);
  ASSERT_GT(level, 0);

  const int v_dispatched = b.variable("nr_dispatched", t.u64);
  const int v_exit_kind = b.variable("exit_kind", volatile_u64);
  const int v_enabled = b.variable("enabled", t.boolean);
  const int v_name = b.variable("sched_name", name);
  const int v_stats = b.variable("stats", stats);
  const int v_slots = b.variable("slots", slots);
  const int v_mode = b.variable("mode", mode);
  const int v_level = b.variable("level", level);
  const int v_mac = b.variable("mac", bytes);
  const int bss = b.datasec(".bss", 120);
  b.place(v_dispatched, 0, 8);
  b.place(v_exit_kind, 8, 8);
  b.place(v_enabled, 16, 1);
  b.place(v_name, 17, 16);
  b.place(v_stats, 40, 32);
  b.place(v_slots, 72, 16);
  b.place(v_mode, 88, 4);
  b.place(v_level, 96, 8);
  b.place(v_mac, 104, 6);

  EXPECT_THAT(
      fields_of(b.get(), bss),
      ::testing::ElementsAre(
          Field{"nr_dispatched", 0, 8, "u64", kUnsigned}, Field{"exit_kind", 8, 8, "volatile u64", kUnsigned},
          Field{"enabled", 16, 1, "_Bool", kBool}, Field{"sched_name", 17, 16, "char[16]", kChars},
          Field{"stats", 40, 32, "struct stats", kBytes}, Field{"slots", 72, 16, "int[4]", kBytes},
          Field{"mode", 88, 4, "enum mode", kUnsigned}, Field{"level", 96, 8, "enum level", kSigned},
          Field{"mac", 104, 6, "u8[6]", kChars}));
  EXPECT_EQ(btf_type_name(b.get(), bss), ".bss");
}

TEST(BtfLayout, AStructHasOneFieldPerMemberWithAnonymousMembersFlattenedAndBitfieldsSkipped) {
  BtfBuilder b;
  const Types t{b};
  const int comm = b.array_of(t.character, 16);
  const int volatile_u64 = b.volatile_of(t.u64);

  const int anonymous = b.union_of(nullptr, 8);
  b.field("vtime", t.u64, 0);
  b.field("weight", t.s32, 0);

  const int task_ctx = b.structure("task_ctx", 48);
  b.field("runtime", t.u64, 0);
  b.field("flags", t.u32, 64, 3);
  b.field("kind", t.u32, 67, 5);
  b.field("cpu", t.s32, 96);
  b.field(nullptr, anonymous, 128);
  b.field("comm", comm, 192);
  b.field("seq", volatile_u64, 320);
  const int task_ctx_t = b.typedef_of("task_ctx_t", task_ctx);

  const std::vector<Field> expected{
      Field{"runtime", 0, 8, "u64", kUnsigned},  Field{"cpu", 12, 4, "s32", kSigned},
      Field{"vtime", 16, 8, "u64", kUnsigned},   Field{"weight", 16, 4, "s32", kSigned},
      Field{"comm", 24, 16, "char[16]", kChars}, Field{"seq", 40, 8, "volatile u64", kUnsigned},
  };
  EXPECT_EQ(fields_of(b.get(), task_ctx), expected);
  // A map's value type may be a typedef of the struct: looked through.
  EXPECT_EQ(fields_of(b.get(), task_ctx_t), expected);
  EXPECT_EQ(btf_type_name(b.get(), task_ctx), "struct task_ctx");
  EXPECT_EQ(btf_type_name(b.get(), task_ctx_t), "task_ctx_t");
}

TEST(BtfLayout, OtherValueTypesAndUnknownIdsHaveNoFields) {
  BtfBuilder b;
  const Types t{b};
  const int array = b.array_of(t.u64, 4);

  EXPECT_THAT(fields_of(b.get(), t.u64), IsEmpty());
  EXPECT_THAT(fields_of(b.get(), array), IsEmpty());
  EXPECT_THAT(fields_of(b.get(), 0), IsEmpty());
  EXPECT_THAT(fields_of(b.get(), 9999), IsEmpty());
}

TEST(BtfTypeName, SpellsTypesAsC) {
  BtfBuilder b;
  const Types t{b};
  const int char_ptr = b.pointer_to(t.character);
  const int cpumask = b.structure("bpf_cpumask", 16);
  const int matrix = b.array_of(b.array_of(b.int_type(), 3), 2);
  const int anonymous = b.structure(nullptr, 4);
  const int kptr = b.pointer_to(b.type_tag("kptr", cpumask));

  EXPECT_EQ(btf_type_name(b.get(), 0), "void");
  EXPECT_EQ(btf_type_name(b.get(), t.u64), "u64");
  EXPECT_EQ(btf_type_name(b.get(), b.const_of(b.volatile_of(b.int_type()))), "const volatile int");
  EXPECT_EQ(btf_type_name(b.get(), char_ptr), "char *");
  EXPECT_EQ(btf_type_name(b.get(), b.pointer_to(char_ptr)), "char **");
  EXPECT_EQ(btf_type_name(b.get(), b.const_of(char_ptr)), "char * const");
  EXPECT_EQ(btf_type_name(b.get(), b.pointer_to(0)), "void *");
  EXPECT_EQ(btf_type_name(b.get(), matrix), "int[2][3]");
  EXPECT_EQ(btf_type_name(b.get(), b.array_of(b.volatile_of(t.character), 8)), "volatile char[8]");
  EXPECT_EQ(btf_type_name(b.get(), b.array_of(char_ptr, 4)), "char *[4]");
  EXPECT_EQ(btf_type_name(b.get(), anonymous), "struct (anonymous)");
  EXPECT_EQ(btf_type_name(b.get(), kptr), "struct bpf_cpumask __kptr *");
  EXPECT_EQ(btf_type_name(b.get(), b.variable("nr_queued", t.u64)), "u64");
  EXPECT_EQ(btf_type_name(b.get(), 9999), "<bad type 9999>");
}

TEST(BtfLayout, ResolvesTheEncodingThroughTypedefsAndQualifiers) {
  BtfBuilder b;
  const Types t{b};
  // typedef volatile const u8 reg_t; reg_t regs[4]; -> still a char array.
  const int reg = b.typedef_of("reg_t", b.volatile_of(b.const_of(t.u8)));
  const int regs = b.array_of(reg, 4);
  const int flags = b.array_of(t.boolean, 4);
  const int holder = b.structure("holder", 16);
  b.field("regs", regs, 0);
  b.field("flags", flags, 32);
  b.field("signed_reg", b.int_type(), 64);

  EXPECT_EQ(fields_of(b.get(), holder), (std::vector<Field>{
                                            Field{"regs", 0, 4, "reg_t[4]", kChars},
                                            Field{"flags", 4, 4, "_Bool[4]", kBytes},
                                            Field{"signed_reg", 8, 4, "int", kSigned},
                                        }));
}

}  // namespace
}  // namespace kstep::guest
