#include "common/result.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace kstep {
namespace {

Result<int> parse_digit(char c) {
  if (c < '0' || c > '9') {
    return fail("'{}' is not a digit", c);
  }
  return c - '0';
}

// Adds two digits; the first failure propagates unchanged through KSTEP_TRY.
Result<void> add_digits(char a, char b, int& sum) {
  KSTEP_TRY(parse_digit(a));
  KSTEP_TRY(parse_digit(b));
  sum = *parse_digit(a) + *parse_digit(b);
  return {};
}

Result<std::string> describe_sum(char a, char b) {
  int sum = -1;
  KSTEP_TRY(add_digits(a, b, sum));
  return std::to_string(sum);
}

TEST(ResultValue, HoldsValue) {
  Result<int> r = 42;
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(static_cast<bool>(r));
  EXPECT_EQ(r.value(), 42);
  EXPECT_EQ(*r, 42);
  r.value() = 7;
  EXPECT_EQ(*r, 7);
}

TEST(ResultValue, ArrowAndMoveOut) {
  Result<std::string> r = std::string("hello");
  EXPECT_EQ(r->size(), 5U);
  std::string moved = std::move(r).value();
  EXPECT_EQ(moved, "hello");

  Result<std::unique_ptr<int>> owner = std::make_unique<int>(5);
  ASSERT_TRUE(owner.ok());
  std::unique_ptr<int> p = std::move(owner).value();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, 5);
}

TEST(ResultError, HoldsError) {
  Result<int> r = fail("bad {} at line {}", "token", 3);
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(static_cast<bool>(r));
  EXPECT_EQ(r.error().message, "bad token at line 3");
}

TEST(ResultError, CustomErrorType) {
  struct Code {
    int value;
  };
  Result<int, Code> r = Unexpected{Code{17}};
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().value, 17);
}

TEST(ResultError, ContextPrefixes) {
  const Error err = make_error("no such field {}", "cpus");
  EXPECT_EQ(err.context("parsing scenario.toml").message, "parsing scenario.toml: no such field cpus");
  // context() leaves the original alone.
  EXPECT_EQ(err.message, "no such field cpus");
}

TEST(ResultTry, PropagatesFirstError) {
  auto bad_first = describe_sum('x', 'y');
  ASSERT_FALSE(bad_first.ok());
  EXPECT_EQ(bad_first.error().message, "'x' is not a digit");

  auto bad_second = describe_sum('1', 'z');
  ASSERT_FALSE(bad_second.ok());
  EXPECT_EQ(bad_second.error().message, "'z' is not a digit");
}

TEST(ResultTry, PassesThroughOnSuccess) {
  auto good = describe_sum('3', '4');
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, "7");
}

TEST(ResultVoid, DefaultIsSuccess) {
  Result<void> r;
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(static_cast<bool>(r));
}

TEST(ResultVoid, HoldsError) {
  Result<void> r = fail("disk {} full", "/dev/vda");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "disk /dev/vda full");
  Error moved = std::move(r).error();
  EXPECT_EQ(moved.message, "disk /dev/vda full");
}

}  // namespace
}  // namespace kstep
