// BtfBuilder: BTF built in memory with libbpf's btf__add_* API, for the
// BtfLayout and BpfMapSet tests. Every add fails the test when libbpf
// refuses the type, so a test never runs against half-built BTF.
//
// libbpf appends members to the type added last: a struct's field()s must
// follow structure() directly, and a DATASEC's place()s must follow
// datasec() directly (so its variable()s come before it).
#pragma once

#include <bpf/btf.h>

#include <cstdint>
#include <memory>

#include <gtest/gtest.h>

namespace kstep::guest::testing {

class BtfBuilder {
 public:
  // Starts with `int`, the index type of every array.
  BtfBuilder() : btf_(btf__new_empty()) {
    EXPECT_NE(btf_, nullptr);
    int_ = integer("int", 4, BTF_INT_SIGNED);
  }

  [[nodiscard]] struct btf* get() const { return btf_.get(); }
  [[nodiscard]] int int_type() const { return int_; }

  int integer(const char* name, std::size_t bytes, int encoding) {
    return check(btf__add_int(get(), name, bytes, encoding));
  }
  int typedef_of(const char* name, int type) { return check(btf__add_typedef(get(), name, type)); }
  int volatile_of(int type) { return check(btf__add_volatile(get(), type)); }
  int const_of(int type) { return check(btf__add_const(get(), type)); }
  int pointer_to(int type) { return check(btf__add_ptr(get(), type)); }
  int type_tag(const char* tag, int type) { return check(btf__add_type_tag(get(), tag, type)); }
  int array_of(int element, std::uint32_t count) {
    return check(btf__add_array(get(), int_, element, count));
  }
  // A struct (or union); its fields follow with field(), at bit offsets.
  int structure(const char* name, std::uint32_t bytes) { return check(btf__add_struct(get(), name, bytes)); }
  int union_of(const char* name, std::uint32_t bytes) { return check(btf__add_union(get(), name, bytes)); }
  void field(const char* name, int type, std::uint32_t bit_offset, std::uint32_t bit_size = 0) {
    check(btf__add_field(get(), name, type, bit_offset, bit_size));
  }
  int variable(const char* name, int type) {
    return check(btf__add_var(get(), name, BTF_VAR_GLOBAL_ALLOCATED, type));
  }
  // A DATASEC; place() its variables next, in offset order.
  int datasec(const char* name, std::uint32_t bytes) { return check(btf__add_datasec(get(), name, bytes)); }
  void place(int variable, std::uint32_t offset, std::uint32_t bytes) {
    check(btf__add_datasec_var_info(get(), variable, offset, bytes));
  }

 private:
  struct Free {
    void operator()(struct btf* btf) const noexcept { btf__free(btf); }
  };

  static int check(int id) {
    EXPECT_GE(id, 0) << "libbpf refused a BTF type: error " << id;
    return id;
  }

  std::unique_ptr<struct btf, Free> btf_;
  int int_ = 0;
};

}  // namespace kstep::guest::testing
